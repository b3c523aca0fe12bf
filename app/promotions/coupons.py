"""Coupons (DOMAIN §4.1): templates that merchants (SHOP) and operators (PLATFORM, NEW_USER)
issue, buyers' claims, and the buyer's wallet.

A claim is one transaction: a guarded `UPDATE … SET issued = issued + 1 WHERE issued <
total_stock` takes the template's row lock, so claims of one template queue on that row and
never over-issue; the per-buyer limit is counted after it, under the same lock, so one buyer's
parallel claims cannot pass the limit either. Any refusal rolls the increment back.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError, Forbidden, NotFound, Problem
from app.pricing.model import CouponKind, Funding
from app.promotions import lifecycle
from app.promotions.errors import PromotionError
from app.promotions.inputs import buyer_facts
from app.promotions.rules import MAX_MONEY
from app.promotions.service import category_problems, check_common, owner_merchant


class WalletStatus(StrEnum):
    UNUSED = "UNUSED"
    USED = "USED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class CouponDraft:
    kind: CouponKind
    name: str
    claim_starts_at: datetime
    claim_ends_at: datetime
    total_stock: int
    threshold: int = 0
    amount: int | None = None          # amount off, or
    rate: int | None = None            # percent paid (90 = 10% off), with an optional
    cap: int | None = None             # most it takes off
    category_ids: tuple[int, ...] = ()
    valid_days: int | None = None      # a claimed coupon expires this many days after the claim, or
    valid_until: datetime | None = None   # at this time
    per_buyer_limit: int = 1
    funding: Funding | None = None


def _draft_problems(d: CouponDraft, merchant_id: int | None) -> list[Problem]:
    problems = check_common(d.name, d.claim_starts_at, d.claim_ends_at, d.funding, merchant_id,
                            window=("claimStartsAt", "claimEndsAt"))
    if (d.amount is None) == (d.rate is None):
        problems.append(Problem(PromotionError.INVALID_RULE, "give exactly one of amount and rate", ("amount",)))
    if d.amount is not None and not 1 <= d.amount <= MAX_MONEY:
        problems.append(Problem(PromotionError.INVALID_AMOUNT, f"amount is 1 to {MAX_MONEY} cents", ("amount",)))
    if d.rate is not None and not 1 <= d.rate <= 99:
        problems.append(Problem(PromotionError.INVALID_RATE,
                                "rate is the percent paid, 1 to 99 (90 = 10% off)", ("rate",)))
    if d.cap is not None and (d.rate is None or not 1 <= d.cap <= MAX_MONEY):
        problems.append(Problem(PromotionError.INVALID_AMOUNT,
                                "a cap (1 cent or more) only goes with a rate", ("cap",)))
    if not 0 <= d.threshold <= MAX_MONEY:
        problems.append(Problem(PromotionError.INVALID_AMOUNT, f"threshold is 0 to {MAX_MONEY} cents", ("threshold",)))
    elif d.amount is not None and d.threshold and d.amount > d.threshold:
        problems.append(Problem(PromotionError.INVALID_AMOUNT,
                                "a coupon cannot take off more than its threshold", ("amount",)))
    if not 1 <= d.total_stock <= 100_000_000:
        problems.append(Problem(PromotionError.INVALID_QUANTITY, "total stock is 1 to 100,000,000", ("totalStock",)))
    if not 1 <= d.per_buyer_limit <= 100:
        problems.append(Problem(PromotionError.INVALID_QUANTITY, "a buyer may claim 1 to 100", ("perBuyerLimit",)))
    if (d.valid_days is None) == (d.valid_until is None):
        problems.append(Problem(PromotionError.INVALID_VALIDITY,
                                "give exactly one of validDays and validUntil", ("validDays",)))
    elif d.valid_days is not None and not 1 <= d.valid_days <= 366:
        problems.append(Problem(PromotionError.INVALID_VALIDITY, "validDays is 1 to 366", ("validDays",)))
    elif d.valid_until is not None and (d.valid_until.tzinfo is None or d.valid_until <= d.claim_starts_at):
        problems.append(Problem(PromotionError.INVALID_VALIDITY,
                                "validUntil (with a time zone) must come after the claim start",
                                ("validUntil",)))
    return problems


async def _check_draft(conn: asyncpg.Connection, d: CouponDraft, merchant_id: int | None) -> None:
    problems = _draft_problems(d, merchant_id)
    if problems:
        raise DomainError(*problems)
    problems = await category_problems(conn, d.category_ids, "categoryIds")
    if problems:
        raise DomainError(*problems)


def _columns(d: CouponDraft) -> tuple:
    return (d.name.strip(), d.threshold, d.amount, d.rate, d.cap, list(d.category_ids), d.claim_starts_at,
            d.claim_ends_at, d.valid_days, d.valid_until, d.total_stock, d.per_buyer_limit,
            None if d.funding is None else d.funding.funder.value,
            0 if d.funding is None else d.funding.platform_percent)


async def create_template(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                          draft: CouponDraft) -> int:
    """SHOP coupons belong to a merchant; PLATFORM and NEW_USER coupons to the platform."""
    shop = draft.kind is CouponKind.SHOP
    if not shop and not principal.can_manage_merchant(None):
        raise Forbidden.of(CommonError.FORBIDDEN, "only platform operators issue platform coupons", "kind")
    if not shop and merchant_id is not None:
        raise DomainError.of(PromotionError.PLATFORM_ONLY,
                             f"{draft.kind.value} coupons are issued by the platform", "merchantId")
    owner = await owner_merchant(conn, principal, merchant_id, platform_allowed=not shop)
    await _check_draft(conn, draft, owner)
    pk = await conn.fetchval(
        "INSERT INTO coupon_templates (kind, merchant_id, created_by, name, threshold, amount, rate, cap,"
        " category_ids, claim_starts_at, claim_ends_at, valid_days, valid_until, total_stock, per_buyer_limit,"
        " funder, platform_percent)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
        draft.kind.value, owner, principal.subject, *_columns(draft))
    await lifecycle.record_created(conn, lifecycle.COUPON_TEMPLATES, pk, principal.subject)
    return pk


async def update_template(conn: asyncpg.Connection, principal: Principal, template_id: int,
                          draft: CouponDraft) -> None:
    row = await lifecycle.lock_owned(conn, lifecycle.COUPON_TEMPLATES, principal, template_id)
    lifecycle.require_draft(row, lifecycle.COUPON_TEMPLATES)
    if draft.kind.value != row["kind"]:
        raise DomainError.of(PromotionError.NOT_EDITABLE, "a coupon's kind cannot change", "kind")
    await _check_draft(conn, draft, row["merchant_id"])
    await conn.execute(
        "UPDATE coupon_templates SET name = $2, threshold = $3, amount = $4, rate = $5, cap = $6, category_ids = $7,"
        " claim_starts_at = $8, claim_ends_at = $9, valid_days = $10, valid_until = $11, total_stock = $12,"
        " per_buyer_limit = $13, funder = $14, platform_percent = $15, review_note = '', updated_at = now()"
        " WHERE id = $1", template_id, *_columns(draft))


# ---------------------------------------------------------------- claims


async def _refusal(conn: asyncpg.Connection, template_id: int, now: datetime) -> DomainError:
    """Why the guarded increment matched no row."""
    t = await conn.fetchrow("SELECT status, claim_starts_at, claim_ends_at, issued, total_stock"
                            " FROM coupon_templates WHERE id = $1", template_id)
    if t is None or t["status"] in ("DRAFT", "PENDING_REVIEW"):
        return NotFound.of(CommonError.NOT_FOUND, "coupon not found", "templateId")
    if t["status"] != "ACTIVE":
        return DomainError.of(PromotionError.NOT_CLAIMABLE, "this coupon is no longer handed out", "templateId")
    if now < t["claim_starts_at"]:
        return DomainError.of(PromotionError.CLAIM_NOT_STARTED, "this coupon cannot be claimed yet", "templateId")
    if now >= t["claim_ends_at"]:
        return DomainError.of(PromotionError.CLAIM_ENDED, "this coupon is no longer handed out", "templateId")
    return DomainError.of(PromotionError.OUT_OF_STOCK, "all of these coupons have been claimed", "templateId")


async def claim(conn: asyncpg.Connection, buyer_id: int, template_id: int, now: datetime) -> int:
    """Issue one coupon of the template to the buyer; returns the wallet coupon's id."""
    t = await conn.fetchrow(
        "UPDATE coupon_templates SET issued = issued + 1"
        " WHERE id = $1 AND status = 'ACTIVE' AND claim_starts_at <= $2 AND $2 < claim_ends_at"
        "   AND issued < total_stock"
        " RETURNING kind, per_buyer_limit, valid_days, valid_until", template_id, now)
    if t is None:
        raise await _refusal(conn, template_id, now)
    held = await conn.fetchval("SELECT count(*) FROM buyer_coupons WHERE template_id = $1 AND buyer_id = $2",
                               template_id, buyer_id)
    if held >= t["per_buyer_limit"]:
        raise DomainError.of(PromotionError.CLAIM_LIMIT_REACHED,
                             f"you may claim this coupon {t['per_buyer_limit']} time(s)",
                             "templateId")
    if t["kind"] == CouponKind.NEW_USER and not (await buyer_facts(conn, buyer_id)).is_new_user:
        raise DomainError.of(PromotionError.NOT_NEW_USER, "this coupon is for new customers", "templateId")
    expires_at = t["valid_until"] or now + timedelta(days=t["valid_days"])
    if expires_at <= now:
        raise DomainError.of(PromotionError.CLAIM_ENDED, "this coupon has expired", "templateId")
    return await conn.fetchval(
        "INSERT INTO buyer_coupons (template_id, buyer_id, claimed_at, expires_at) VALUES ($1, $2, $3, $4)"
        " RETURNING id", template_id, buyer_id, now, expires_at)


async def claimable(conn: asyncpg.Connection, buyer_id: int | None, merchant_id: int | None, now: datetime,
                    after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Templates handed out now with stock left (a merchant's, or every one), newest first, with
    how many the buyer already holds (0 for anonymous callers)."""
    return await conn.fetch(
        """
        SELECT t.*, coalesce(held.n, 0) AS held
        FROM coupon_templates t
        LEFT JOIN LATERAL (SELECT count(*) AS n FROM buyer_coupons bc
                           WHERE bc.template_id = t.id AND bc.buyer_id = $1) held ON true
        WHERE t.status = 'ACTIVE' AND t.claim_starts_at <= $3 AND $3 < t.claim_ends_at AND t.issued < t.total_stock
          AND ($2::bigint IS NULL OR t.merchant_id = $2) AND ($4::bigint IS NULL OR t.id < $4)
        ORDER BY t.id DESC LIMIT $5
        """, buyer_id, merchant_id, now, after_id, limit)


# ---------------------------------------------------------------- wallet


_WALLET_CONDITION = {
    WalletStatus.UNUSED: "bc.status = 'UNUSED' AND bc.expires_at > $2",
    WalletStatus.USED: "bc.status = 'USED'",
    WalletStatus.EXPIRED: "bc.status = 'UNUSED' AND bc.expires_at <= $2",
}


async def wallet(conn: asyncpg.Connection, buyer_id: int, status: WalletStatus, now: datetime,
                 after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """The buyer's coupons in one state, newest claim first, with their template's terms."""
    return await conn.fetch(
        f"""{_WALLET_SELECT}
        WHERE bc.buyer_id = $1 AND {_WALLET_CONDITION[status]} AND ($3::bigint IS NULL OR bc.id < $3)
        ORDER BY bc.id DESC LIMIT $4
        """, buyer_id, now, after_id, limit)


async def wallet_coupon(conn: asyncpg.Connection, buyer_id: int, coupon_id: int, now: datetime) -> asyncpg.Record:
    row = await conn.fetchrow(f"{_WALLET_SELECT} WHERE bc.buyer_id = $1 AND bc.id = $3", buyer_id, now, coupon_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "coupon not found", "id")
    return row


# $2 is now: EXPIRED is not stored, an unused coupon is expired once now ≥ expires_at
_WALLET_SELECT = """SELECT bc.*, t.kind, t.merchant_id, t.name, t.threshold, t.amount, t.rate, t.cap, t.category_ids,
                           CASE WHEN bc.status = 'USED' THEN 'USED' WHEN bc.expires_at <= $2::timestamptz THEN 'EXPIRED'
                                ELSE 'UNUSED' END AS wallet_status
                    FROM buyer_coupons bc JOIN coupon_templates t ON t.id = bc.template_id"""


async def wallet_counts(conn: asyncpg.Connection, buyer_id: int, now: datetime) -> dict[WalletStatus, int]:
    row = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE {_WALLET_CONDITION[WalletStatus.UNUSED]}) AS unused,
                   count(*) FILTER (WHERE {_WALLET_CONDITION[WalletStatus.USED]}) AS used,
                   count(*) FILTER (WHERE {_WALLET_CONDITION[WalletStatus.EXPIRED]}) AS expired
            FROM buyer_coupons bc WHERE bc.buyer_id = $1""", buyer_id, now)
    return {WalletStatus.UNUSED: row["unused"], WalletStatus.USED: row["used"], WalletStatus.EXPIRED: row["expired"]}


async def list_templates(conn: asyncpg.Connection, principal: Principal, platform: bool | None,
                         status: str | None, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Staff view: a merchant's own templates; admins all (or only platform / merchants')."""
    merchant = None if principal.is_admin else principal.merchant_id
    return await conn.fetch(
        "SELECT * FROM coupon_templates"
        " WHERE ($1::bigint IS NULL OR merchant_id = $1) AND ($2::boolean IS NULL OR (merchant_id IS NULL) = $2)"
        "   AND ($3::text IS NULL OR status = $3) AND ($4::bigint IS NULL OR id < $4)"
        " ORDER BY id DESC LIMIT $5", merchant, platform, status, after_id, limit)


async def get_template(conn: asyncpg.Connection, principal: Principal, template_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM coupon_templates WHERE id = $1", template_id)
    if row is None or not principal.can_manage_merchant(row["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "coupon not found", "id")
    return row
