"""Onboarding (入驻, DOMAIN §10; docs/merchants.md): a registered buyer — the applicant — applies
with the company's facts, licence images (their MERCHANT_LICENCE uploads), the categories to sell
in, contacts, and the login the shop's owner will use. The back office approves (the shop is
created PENDING_DEPOSIT with its categories and its inactive OWNER account, the deposit is set) or
rejects with a reason. The applicant then pays the deposit through the cashier
(`deposit_payment_order`); app/merchants/deposits.py opens the shop when it is paid.

Review results reach the applicant (a buyer notification, and `myMerchantApplications`), the back
office (every `merchant` event) and, once the shop exists, its console (events carry the shop).
An applicant sees only their own applications; merchant staff only their shop's.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from app.auth.passwords import check_password_policy, hash_password
from app.auth.principal import Principal
from app.config import Settings
from app.errors import CommonError, DomainError, NotFound, Problem
from app.events import emit
from app.merchants.errors import ShopError
from app.merchants.status import APPLICATION_MACHINE, ApplicationAction, ApplicationStatus
from app.orders import deposits as deposit_orders
from app.uploads import service as uploads

CREDIT_CODE = re.compile(r"^[0-9A-Z]{18}$")
PHONE = re.compile(r"^\+?[0-9]{6,20}$")
USERNAME = re.compile(r"^[a-z0-9_.@-]{3,64}$")
LIVE = ("PENDING_REVIEW", "APPROVED")


@dataclass(frozen=True)
class ApplicationInput:
    shop_name: str
    company_name: str
    credit_code: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    category_ids: list[int]
    licence_upload_ids: list[int]
    owner_username: str
    owner_password: str
    company_address: str = ""
    contact_email: str = ""


def _check(a: ApplicationInput) -> list[Problem]:
    problems = []

    def bad(ok: bool, message: str, field: str) -> None:
        if not ok:
            problems.append(Problem(CommonError.INVALID_VALUE, message, (field,)))
    bad(1 <= len(a.shop_name.strip()) <= 100, "the shop name is 1 to 100 characters", "shopName")
    bad(1 <= len(a.company_name.strip()) <= 200, "the company name is 1 to 200 characters", "companyName")
    bad(bool(CREDIT_CODE.match(a.credit_code)), "the unified social credit code is 18 digits or capitals",
        "creditCode")
    bad(1 <= len(a.legal_representative.strip()) <= 100, "the legal representative is 1 to 100 characters",
        "legalRepresentative")
    bad(len(a.company_address) <= 300, "the address is at most 300 characters", "companyAddress")
    bad(1 <= len(a.contact_name.strip()) <= 100, "the contact name is 1 to 100 characters", "contactName")
    bad(bool(PHONE.match(a.contact_phone)), "the contact phone is 6 to 20 digits", "contactPhone")
    bad(len(a.contact_email) <= 200 and (not a.contact_email or "@" in a.contact_email), "not an email address",
        "contactEmail")
    bad(1 <= len(set(a.category_ids)) <= 20, "1 to 20 categories to sell in", "categoryIds")
    bad(1 <= len(set(a.licence_upload_ids)) <= 9, "1 to 9 licence images", "licenceUploadIds")
    bad(bool(USERNAME.match(a.owner_username)), "the owner's login is 3 to 64 of a-z 0-9 _ . @ -", "ownerUsername")
    return problems


async def _name_free(conn: asyncpg.Connection, name: str, except_application: int | None = None) -> bool:
    return not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM merchants WHERE lower(name) = lower($1))"
        " OR EXISTS (SELECT 1 FROM merchant_applications WHERE lower(shop_name) = lower($1)"
        "   AND status = ANY($2::text[]) AND id IS DISTINCT FROM $3)", name, list(LIVE), except_application)


async def _username_free(conn: asyncpg.Connection, username: str, except_application: int | None = None) -> bool:
    return not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM staff_accounts WHERE username = $1)"
        " OR EXISTS (SELECT 1 FROM merchant_applications WHERE owner_username = $1"
        "   AND status = ANY($2::text[]) AND id IS DISTINCT FROM $3)", username, list(LIVE), except_application)


async def apply(conn: asyncpg.Connection, buyer_id: int, a: ApplicationInput, now: datetime) -> int:
    """The applicant's new application, PENDING_REVIEW; one in progress per applicant."""
    a = ApplicationInput(**{**a.__dict__, "shop_name": a.shop_name.strip(),
                            "owner_username": a.owner_username.strip().lower()})
    problems = _check(a)
    if problems:
        raise DomainError(*problems)
    check_password_policy(a.owner_password, (a.owner_username,))
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('merchant-application'), $1::int)", buyer_id % 2**31)
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM merchant_applications WHERE buyer_id = $1"
                           " AND status = ANY($2::text[]))", buyer_id, list(LIVE)):
        raise DomainError.of(ShopError.APPLICATION_IN_PROGRESS, "you already have an application in progress")
    known = {r["id"] for r in await conn.fetch("SELECT id FROM backend_categories WHERE id = ANY($1::bigint[])",
                                               a.category_ids)}
    problems = [Problem(ShopError.UNKNOWN_CATEGORY, "no such category", ("categoryIds", str(n)))
                for n, c in enumerate(a.category_ids) if c not in known]
    if not await _name_free(conn, a.shop_name):
        problems.append(Problem(ShopError.SHOP_NAME_TAKEN, "this shop name is taken", ("shopName",)))
    if not await _username_free(conn, a.owner_username):
        problems.append(Problem(ShopError.USERNAME_TAKEN, "this login name is taken", ("ownerUsername",)))
    if problems:
        raise DomainError(*problems)
    # the applicant's own licence images; admins (the reviewers) always read them
    await uploads.attach(conn, f"buyer:{buyer_id}", a.licence_upload_ids, uploads.UploadPurpose.MERCHANT_LICENCE,
                         None, field=("licenceUploadIds",))
    app_id = await conn.fetchval(
        "INSERT INTO merchant_applications (buyer_id, shop_name, company_name, credit_code, legal_representative,"
        " company_address, contact_name, contact_phone, contact_email, category_ids, licence_upload_ids,"
        " owner_username, owner_password_hash, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
        buyer_id, a.shop_name, a.company_name.strip(), a.credit_code, a.legal_representative.strip(),
        a.company_address, a.contact_name.strip(), a.contact_phone, a.contact_email,
        sorted(set(a.category_ids)), list(dict.fromkeys(a.licence_upload_ids)), a.owner_username,
        await hash_password(a.owner_password), now)
    await conn.execute("INSERT INTO merchant_application_history (application_id, from_status, to_status, actor)"
                       " VALUES ($1, NULL, 'PENDING_REVIEW', $2)", app_id, f"buyer:{buyer_id}")
    await emit(conn, "merchant", "MERCHANT_APPLICATION_SUBMITTED",
               {"application_id": app_id, "buyer_id": buyer_id, "to": "PENDING_REVIEW"})
    return app_id


async def _locked(conn: asyncpg.Connection, application_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM merchant_applications WHERE id = $1 FOR UPDATE", application_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "application not found", "applicationId")
    return row


async def _notify(conn: asyncpg.Connection, buyer_id: int, template: str, payload: dict) -> None:
    """The applicant's SMS (the buyer notification outbox, DOMAIN §12)."""
    await conn.execute("INSERT INTO buyer_notifications (buyer_id, channel, template, payload)"
                       " VALUES ($1, 'SMS', $2, $3)", buyer_id, template, payload)


async def approve(conn: asyncpg.Connection, admin: Principal, application_id: int, deposit: int | None,
                  settings: Settings, now: datetime) -> int:
    """Approve: the shop (PENDING_DEPOSIT), its categories and its inactive OWNER account are
    created and the deposit set; returns the shop's id."""
    app = await _locked(conn, application_id)
    APPLICATION_MACHINE.target(ApplicationStatus(app["status"]), ApplicationAction.APPROVE)
    amount = settings.merchant_deposit if deposit is None else deposit
    if amount <= 0:
        raise DomainError.of(CommonError.INVALID_VALUE, "the deposit is a positive number of cents", "deposit")
    problems = []
    if not await _name_free(conn, app["shop_name"], application_id):
        problems.append(Problem(ShopError.SHOP_NAME_TAKEN, "this shop name is taken", ("applicationId",)))
    if not await _username_free(conn, app["owner_username"], application_id):
        problems.append(Problem(ShopError.USERNAME_TAKEN, "the owner's login name is taken", ("applicationId",)))
    if problems:
        raise DomainError(*problems)
    merchant_id = await conn.fetchval("INSERT INTO merchants (name, kind, status) VALUES ($1, 'MARKETPLACE',"
                                      " 'PENDING_DEPOSIT') RETURNING id", app["shop_name"])
    await conn.execute("INSERT INTO merchant_status_history (merchant_id, from_status, to_status, actor, reason)"
                       " VALUES ($1, NULL, 'PENDING_DEPOSIT', $2, 'application approved')", merchant_id,
                       admin.subject)
    await conn.execute("INSERT INTO merchant_categories (merchant_id, category_id)"
                       " SELECT $1, c FROM unnest($2::bigint[]) AS c JOIN backend_categories b ON b.id = c"
                       " ON CONFLICT DO NOTHING", merchant_id, app["category_ids"])
    await conn.execute("INSERT INTO staff_accounts (username, password_hash, display_name, kind, merchant_id,"
                       " merchant_role, active) VALUES ($1, $2, $3, 'MERCHANT', $4, 'OWNER', false)",
                       app["owner_username"], app["owner_password_hash"], app["contact_name"], merchant_id)
    # the shop's staff read their own licence images from now on
    await uploads.attach(conn, f"buyer:{app['buyer_id']}", list(app["licence_upload_ids"]),
                         uploads.UploadPurpose.MERCHANT_LICENCE, merchant_id)
    await conn.execute("UPDATE merchant_applications SET merchant_id = $2, deposit_amount = $3 WHERE id = $1",
                       application_id, merchant_id, amount)
    await APPLICATION_MACHINE.move(
        conn, [application_id], ApplicationAction.APPROVE, actor=admin.subject,
        sets="reviewed_by = $4, reviewed_at = $5, updated_at = $5", args=(admin.subject, now),
        payload=lambda a: {"buyer_id": a["buyer_id"], "deposit_amount": amount})
    await _notify(conn, app["buyer_id"], "MERCHANT_APPLICATION_APPROVED",
                  {"application_id": application_id, "merchant_id": merchant_id, "deposit_amount": amount})
    return merchant_id


async def reject(conn: asyncpg.Connection, admin: Principal, application_id: int, reason: str,
                 now: datetime) -> None:
    reason = reason.strip()
    if not reason:
        raise DomainError.of(ShopError.REASON_REQUIRED, "say why the application is rejected", "reason")
    app = await _locked(conn, application_id)
    APPLICATION_MACHINE.target(ApplicationStatus(app["status"]), ApplicationAction.REJECT)
    await APPLICATION_MACHINE.move(
        conn, [application_id], ApplicationAction.REJECT, actor=admin.subject, reason=reason,
        sets="rejection_reason = $4, reviewed_by = $5, reviewed_at = $6, updated_at = $6",
        args=(reason[:500], admin.subject, now), payload=lambda a: {"buyer_id": a["buyer_id"]})
    await _notify(conn, app["buyer_id"], "MERCHANT_APPLICATION_REJECTED",
                  {"application_id": application_id, "reason": reason})


async def deposit_payment_order(conn: asyncpg.Connection, buyer_id: int, application_id: int, settings: Settings,
                                now: datetime) -> asyncpg.Record:
    """The payment order the applicant pays the deposit of their approved application with
    (app/payments' createPayment then pays it like any other): the one still open, else a new one."""
    app = await conn.fetchrow("SELECT * FROM merchant_applications WHERE id = $1 AND buyer_id = $2 FOR UPDATE",
                              application_id, buyer_id)
    if app is None:
        raise NotFound.of(CommonError.NOT_FOUND, "application not found", "applicationId")
    if app["status"] != ApplicationStatus.APPROVED:
        raise DomainError.of(ShopError.DEPOSIT_NOT_DUE, f"this application is {app['status']}, no deposit is due",
                             "applicationId")
    earlier = len(await deposit_orders.deposit_payment_orders(conn, app["merchant_id"]))
    return await deposit_orders.open_deposit_payment_order(
        conn, buyer_id, app["merchant_id"], app["deposit_amount"], f"deposit-{application_id}-{earlier}",
        now + timedelta(hours=settings.merchant_deposit_pay_hours))


async def application_for(conn: asyncpg.Connection, principal: Principal, application_id: int) -> asyncpg.Record:
    """An application the caller may see: their own (applicants), their shop's (staff), any
    (admins); NOT_FOUND otherwise."""
    row = await conn.fetchrow("SELECT * FROM merchant_applications WHERE id = $1", application_id)
    if row is None or not (principal.is_admin or (principal.is_buyer and row["buyer_id"] == principal.id)
                           or (principal.is_merchant_staff and row["merchant_id"] == principal.merchant_id)):
        raise NotFound.of(CommonError.NOT_FOUND, "application not found", "id")
    return row


async def buyer_applications(conn: asyncpg.Connection, buyer_id: int, after_id: int | None,
                             limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM merchant_applications WHERE buyer_id = $1"
                            " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3", buyer_id, after_id, limit)


async def applications(conn: asyncpg.Connection, status: str | None, after_id: int | None,
                       limit: int) -> list[asyncpg.Record]:
    """The back office's list, newest first, optionally of one status."""
    return await conn.fetch("SELECT * FROM merchant_applications WHERE ($1::text IS NULL OR status = $1)"
                            " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3", status, after_id, limit)


async def history(conn: asyncpg.Connection, application_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM merchant_application_history WHERE application_id = $1 ORDER BY id",
                            application_id)
