"""GraphQL for merchants (DOMAIN §10; docs/merchants.md): the applicant's application and
deposit, the back office's review, shop lifecycle and commission rates, the merchant console's
shop, staff and invitations, and live `merchant` events. Resolvers decode, call one service of
app/merchants through `mutate`/`query`, and enqueue what a change left to do after the commit."""

from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.auth.errors import AuthError
from app.errors import CommonError, DomainError
from app.events import Event
from app.ledger import journal
from app.ledger.accounts import Account
from app.merchants import commission, lifecycle, onboarding, staff
from app.merchants.errors import ShopError
from app.merchants.status import ApplicationStatus, MerchantStatus
from app.payments.jobs import enqueue_refund
from app.uploads.errors import UploadError
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, input_pks
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsAuthenticated, IsBuyer, IsMerchantStaff, IsStaff
from schema.scalars import Money

MerchantUserError = user_error_type("Merchant", ShopError, AuthError, UploadError)

strawberry.enum(MerchantStatus, name="MerchantStatus", description=(
    "PENDING_DEPOSIT (approved, deposit unpaid), OPEN, SUSPENDED (hidden from buyers, open orders still "
    "fulfilled), CLOSED."))
strawberry.enum(ApplicationStatus, name="MerchantApplicationStatus", description=(
    "PENDING_REVIEW, APPROVED (pay the deposit), REJECTED (see rejectionReason), OPENED (deposit paid, shop open)."))
MerchantStatusEnum: TypeAlias = MerchantStatus
ApplicationStatusEnum: TypeAlias = ApplicationStatus


@strawberry.enum(description="A merchant staff member's role: OWNER (everything) or OPERATOR (no staff changes, "
                             "no withdrawals).")
class MerchantRole(StrEnum):
    OWNER = "OWNER"
    OPERATOR = "OPERATOR"


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type(description="Who moved it, when, from where to where and why.")
class MerchantStatusChange:
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime

    @classmethod
    def of(cls, h: asyncpg.Record) -> "MerchantStatusChange":
        return cls(from_status=h["from_status"], to_status=h["to_status"], actor=h["actor"], reason=h["reason"],
                   at=h["at"])


@strawberry.type(description="An application to open a shop (入驻申请). Its applicant, the shop's staff and admins see it.")
class MerchantApplication:
    pk: strawberry.Private[int]
    id: strawberry.ID
    status: ApplicationStatusEnum
    shop_name: str
    company_name: str
    credit_code: str = strawberry.field(description="统一社会信用代码, 18 characters.")
    legal_representative: str
    company_address: str
    contact_name: str
    contact_phone: str
    contact_email: str
    category_ids: list[strawberry.ID] = strawberry.field(description="Backend categories to sell in (with subtrees).")
    licence_upload_ids: list[strawberry.ID]
    owner_username: str = strawberry.field(description="The OWNER staff login, usable once the deposit is paid.")
    deposit_amount: Money | None = strawberry.field(description="Set at approval.")
    merchant_id: strawberry.ID | None = strawberry.field(description="The shop, created at approval.")
    rejection_reason: str | None
    reviewed_at: datetime | None
    created_at: datetime

    @strawberry.field
    async def history(self, info: Info) -> list[MerchantStatusChange]:
        return [MerchantStatusChange.of(h) for h in await query(info, lambda c: onboarding.history(c, self.pk))]

    @classmethod
    def of(cls, r: asyncpg.Record) -> "MerchantApplication":
        return cls(pk=r["id"], id=gid("MerchantApplication", r["id"]), status=ApplicationStatus(r["status"]),
                   shop_name=r["shop_name"], company_name=r["company_name"], credit_code=r["credit_code"],
                   legal_representative=r["legal_representative"], company_address=r["company_address"],
                   contact_name=r["contact_name"], contact_phone=r["contact_phone"],
                   contact_email=r["contact_email"], category_ids=[gid("BackendCategory", c) for c in r["category_ids"]],
                   licence_upload_ids=[gid("Upload", u) for u in r["licence_upload_ids"]],
                   owner_username=r["owner_username"], deposit_amount=r["deposit_amount"],
                   merchant_id=gid("Merchant", r["merchant_id"]), rejection_reason=r["rejection_reason"],
                   reviewed_at=r["reviewed_at"], created_at=r["created_at"])


@strawberry.type(description="A shop (merchant) as its staff and the back office see it.")
class Shop:
    pk: strawberry.Private[int]
    id: strawberry.ID
    name: str
    kind: str
    status: MerchantStatusEnum
    created_at: datetime

    @strawberry.field(description="Held deposit (cents), from the ledger.")
    async def deposit(self, info: Info) -> Money:
        held = await query(info, lambda c: journal.balances(c, self.pk, [Account.MERCHANT_DEPOSIT]))
        return held[Account.MERCHANT_DEPOSIT]

    @strawberry.field(description="Backend categories the shop may sell in (each with its subtree).")
    async def category_ids(self, info: Info) -> list[strawberry.ID]:
        rows = await query(info, lambda c: c.fetch("SELECT category_id FROM merchant_categories WHERE merchant_id = $1"
                                                   " ORDER BY category_id", self.pk))
        return [gid("BackendCategory", r["category_id"]) for r in rows]

    @strawberry.field
    async def history(self, info: Info) -> list[MerchantStatusChange]:
        return [MerchantStatusChange.of(h) for h in await query(info, lambda c: lifecycle.status_history(c, self.pk))]

    @classmethod
    def of(cls, r: asyncpg.Record) -> "Shop":
        return cls(pk=r["id"], id=gid("Merchant", r["id"]), name=r["name"], kind=r["kind"],
                   status=MerchantStatus(r["status"]), created_at=r["created_at"])


@strawberry.type(description="A staff account of a shop.")
class StaffMember:
    id: strawberry.ID
    username: str
    display_name: str
    role: MerchantRole
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> "StaffMember":
        return cls(id=gid("Staff", r["id"]), username=r["username"], display_name=r["display_name"],
                   role=r["merchant_role"], active=r["active"], created_at=r["created_at"])


@strawberry.type(description="An invitation to join the shop; its code is shown once, when it is made.")
class StaffInvitation:
    id: strawberry.ID
    role: MerchantRole
    note: str
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> "StaffInvitation":
        return cls(id=gid("StaffInvitation", r["id"]), role=r["role"], note=r["note"], expires_at=r["expires_at"],
                   accepted_at=r["accepted_at"], revoked_at=r["revoked_at"], created_at=r["created_at"])


@strawberry.type(description="A dated commission rate: a category's (merchantId null) or a merchant's override, "
                             "in force from effectiveFrom until the next change of the same key.")
class CommissionRateChange:
    id: strawberry.ID
    category_id: strawberry.ID
    merchant_id: strawberry.ID | None
    rate: Decimal
    effective_from: datetime
    set_by: str

    @classmethod
    def of(cls, r: asyncpg.Record) -> "CommissionRateChange":
        return cls(id=gid("CommissionRate", r["id"]), category_id=gid("BackendCategory", r["category_id"]),
                   merchant_id=gid("Merchant", r["merchant_id"]), rate=r["rate"], effective_from=r["effective_from"],
                   set_by=r["set_by"])


@strawberry.type(description="A deposit payment order: pay it with createPayment like any payment order.")
class DepositPayment:
    payment_order_id: strawberry.ID
    amount: Money
    status: str
    expires_at: datetime


@strawberry.input(description="`licenceUploadIds`: your MERCHANT_LICENCE uploads (1 to 9). The owner's login and "
                              "password become the shop's OWNER account once the deposit is paid.")
class ApplyForMerchantInput:
    shop_name: str
    company_name: str
    credit_code: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    category_ids: list[strawberry.ID]
    licence_upload_ids: list[strawberry.ID]
    owner_username: str
    owner_password: str
    company_address: str = ""
    contact_email: str = ""


@strawberry.input(description="`deposit` in cents; default the platform's (settings.merchant_deposit).")
class ApproveMerchantApplicationInput:
    application_id: strawberry.ID
    deposit: Money | None = None


@strawberry.input
class RejectMerchantApplicationInput:
    application_id: strawberry.ID
    reason: str


@strawberry.input
class MerchantApplicationActionInput:
    application_id: strawberry.ID


@strawberry.input
class ShopStatusInput:
    merchant_id: strawberry.ID
    reason: str


@strawberry.input
class InviteStaffInput:
    role: MerchantRole
    note: str = ""


@strawberry.input
class StaffInvitationActionInput:
    invitation_id: strawberry.ID


@strawberry.input
class AcceptStaffInvitationInput:
    code: str
    username: str
    password: str
    display_name: str = ""


@strawberry.input
class SetStaffRoleInput:
    staff_id: strawberry.ID
    role: MerchantRole


@strawberry.input
class StaffActionInput:
    staff_id: strawberry.ID


@strawberry.input(description="From `effectiveFrom` (a UTC date, today or later; today means from now).")
class SetCategoryCommissionFromInput:
    category_id: strawberry.ID
    rate: Decimal
    effective_from: date


@strawberry.input(description="The merchant's override for the category, from `effectiveFrom` (today or later).")
class SetMerchantCommissionFromInput:
    merchant_id: strawberry.ID
    category_id: strawberry.ID
    rate: Decimal
    effective_from: date


@strawberry.type
class MerchantApplicationPayload:
    application: MerchantApplication | None = None
    user_errors: list[MerchantUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class DepositPaymentPayload:
    deposit_payment: DepositPayment | None = None
    user_errors: list[MerchantUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class ShopPayload:
    shop: Shop | None = None
    user_errors: list[MerchantUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class StaffInvitationPayload:
    invitation: StaffInvitation | None = None
    code: str | None = strawberry.field(default=None, description="The invitation code; shown only here, only once.")
    user_errors: list[MerchantUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class StaffMemberPayload:
    staff: StaffMember | None = None
    user_errors: list[MerchantUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class DatedCommissionRatePayload:
    change: CommissionRateChange | None = None
    user_errors: list[MerchantUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A merchant event: MERCHANT_APPLICATION_SUBMITTED (back office), "
                             "MERCHANT_APPLICATION_APPROVED, MERCHANT_APPLICATION_REJECTED, MERCHANT_APPLICATION_OPENED, "
                             "MERCHANT_OPENED, MERCHANT_SUSPENDED, MERCHANT_REACTIVATED, MERCHANT_CLOSED, STAFF_INVITED, "
                             "STAFF_JOINED, STAFF_ROLE_CHANGED, STAFF_DEACTIVATED, COMMISSION_RATE_SET.")
class MerchantEvent:
    event_id: str
    type: str
    merchant_id: strawberry.ID | None
    application_id: strawberry.ID | None
    status: str | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "MerchantEvent":
        return cls(event_id=str(ev.id), type=ev.type, merchant_id=gid("Merchant", ev.merchant_id),
                   application_id=gid("MerchantApplication", ev.payload.get("application_id")),
                   status=ev.payload.get("to"), payload=JSON(ev.payload), created_at=ev.created_at)


async def _application(info: Info, application_id: int) -> MerchantApplicationPayload:
    row = await query(info, lambda c: onboarding.application_for(c, info.context.caller, application_id))
    return MerchantApplicationPayload(application=MerchantApplication.of(row))


async def _shop(info: Info, merchant_id: int) -> ShopPayload:
    row = await query(info, lambda c: lifecycle.shop_for(c, info.context.caller, merchant_id))
    return ShopPayload(shop=Shop.of(row))


async def _shop_change(info: Info, input: ShopStatusInput, change) -> ShopPayload:
    async def act(conn, who) -> tuple[int, int | None]:
        pk = input_pk("Merchant", input.merchant_id, "merchantId")
        return pk, await change(conn, who, pk, input.reason)

    async def present(out: tuple[int, int | None]) -> ShopPayload:
        if out[1] is not None:      # the deposit refund, sent once committed (the refund sweeper catches a loss)
            await enqueue_refund(info.context.redis, out[1])
        return await _shop(info, out[0])
    return await mutate(info, ShopPayload, act, present)


async def _commission(info: Info, category: strawberry.ID, merchant: strawberry.ID | None, rate: Decimal,
                      day: date) -> DatedCommissionRatePayload:
    async def act(conn, who) -> asyncpg.Record:
        category_id = input_pk("BackendCategory", category, "categoryId")
        merchant_id = input_pk("Merchant", merchant, "merchantId") if merchant is not None else None
        return await commission.set_rate(conn, who, category_id, merchant_id, rate, day, _now())
    return await mutate(info, DatedCommissionRatePayload, act, lambda r: DatedCommissionRatePayload(
        change=CommissionRateChange.of(r)))


@strawberry.type
class MerchantQuery:
    @strawberry.field(permission_classes=[IsBuyer], description="Your applications to open a shop, newest first.")
    async def my_merchant_applications(self, info: Info, first: int = 20,
                                       after: str | None = None) -> Connection[MerchantApplication]:
        async def act(conn) -> Connection[MerchantApplication]:
            size = page_size(first)
            rows = await onboarding.buyer_applications(conn, info.context.caller.id, after_id(after), size + 1)
            return connection_of(rows, size, after, MerchantApplication.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAuthenticated], description=(
        "An application you may see: your own (applicants), your shop's (staff), any (admins)."))
    async def merchant_application(self, info: Info, id: strawberry.ID) -> MerchantApplication:
        return MerchantApplication.of(await query(info, lambda c: onboarding.application_for(
            c, info.context.caller, input_pk("MerchantApplication", id, "id"))))

    @strawberry.field(permission_classes=[IsAdmin], description="Back office: applications, newest first.")
    async def merchant_applications(self, info: Info, status: ApplicationStatusEnum | None = None, first: int = 20,
                                    after: str | None = None) -> Connection[MerchantApplication]:
        async def act(conn) -> Connection[MerchantApplication]:
            size = page_size(first)
            rows = await onboarding.applications(conn, status.value if status else None, after_id(after), size + 1)
            return connection_of(rows, size, after, MerchantApplication.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsMerchantStaff], description="Merchant console: your shop.")
    async def my_shop(self, info: Info) -> Shop:
        return Shop.of(await query(info, lambda c: lifecycle.shop_for(c, info.context.caller,
                                                                      info.context.caller.staff_merchant_id)))

    @strawberry.field(permission_classes=[IsAdmin], description="Back office: shops, newest first.")
    async def shops(self, info: Info, status: MerchantStatusEnum | None = None, first: int = 20,
                    after: str | None = None) -> Connection[Shop]:
        async def act(conn) -> Connection[Shop]:
            size = page_size(first)
            rows = await lifecycle.shops(conn, status.value if status else None, after_id(after), size + 1)
            return connection_of(rows, size, after, Shop.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description=(
        "A shop's staff: your own shop's (merchant staff; `merchantId` ignored), any shop's (admins)."))
    async def shop_staff(self, info: Info, merchant_id: strawberry.ID | None = None) -> list[StaffMember]:
        caller = info.context.caller

        async def act(conn) -> list[asyncpg.Record]:
            if caller.is_merchant_staff:
                pk = caller.staff_merchant_id
            elif merchant_id is None:
                raise DomainError.of(CommonError.INVALID_VALUE, "name the shop (merchantId)", "merchantId")
            else:
                pk = input_pk("Merchant", merchant_id, "merchantId")
            return await staff.staff_of(conn, caller, pk)
        return [StaffMember.of(r) for r in await query(info, act)]

    @strawberry.field(permission_classes=[IsMerchantStaff], description="Your shop's invitations (owners only).")
    async def staff_invitations(self, info: Info) -> list[StaffInvitation]:
        return [StaffInvitation.of(r) for r in await query(info, lambda c: staff.invitations_of(
            c, info.context.caller))]

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "Back office: dated commission changes of a category and/or a merchant, latest start first."))
    async def commission_rate_changes(self, info: Info, category_id: strawberry.ID | None = None,
                                      merchant_id: strawberry.ID | None = None) -> list[CommissionRateChange]:
        async def act(conn) -> list[asyncpg.Record]:
            return await commission.rate_changes(
                conn, input_pk("BackendCategory", category_id, "categoryId") if category_id else None,
                input_pk("Merchant", merchant_id, "merchantId") if merchant_id else None)
        return [CommissionRateChange.of(r) for r in await query(info, act)]


@strawberry.type
class MerchantMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Apply to open a shop; one application in progress at a time. The back office reviews it."))
    async def apply_for_merchant(self, info: Info, input: ApplyForMerchantInput) -> MerchantApplicationPayload:
        async def act(conn, who) -> int:
            return await onboarding.apply(conn, who.id, onboarding.ApplicationInput(
                shop_name=input.shop_name, company_name=input.company_name, credit_code=input.credit_code,
                legal_representative=input.legal_representative, contact_name=input.contact_name,
                contact_phone=input.contact_phone,
                category_ids=input_pks("BackendCategory", input.category_ids, "categoryIds"),
                licence_upload_ids=input_pks("Upload", input.licence_upload_ids, "licenceUploadIds"),
                owner_username=input.owner_username, owner_password=input.owner_password,
                company_address=input.company_address, contact_email=input.contact_email), _now())
        return await mutate(info, MerchantApplicationPayload, act, lambda pk: _application(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: approve; the shop is created PENDING_DEPOSIT with its categories and owner account."))
    async def approve_merchant_application(self, info: Info,
                                           input: ApproveMerchantApplicationInput) -> MerchantApplicationPayload:
        async def act(conn, who) -> int:
            pk = input_pk("MerchantApplication", input.application_id, "applicationId")
            await onboarding.approve(conn, who, pk, input.deposit, info.context.settings, _now())
            return pk
        return await mutate(info, MerchantApplicationPayload, act, lambda pk: _application(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Back office: reject, with the reason.")
    async def reject_merchant_application(self, info: Info,
                                          input: RejectMerchantApplicationInput) -> MerchantApplicationPayload:
        async def act(conn, who) -> int:
            pk = input_pk("MerchantApplication", input.application_id, "applicationId")
            await onboarding.reject(conn, who, pk, input.reason, _now())
            return pk
        return await mutate(info, MerchantApplicationPayload, act, lambda pk: _application(info, pk))

    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "The payment order of your approved application's deposit (the open one, or a new one): pay it with "
        "createPayment; the shop opens when the payment succeeds."))
    async def start_merchant_deposit_payment(self, info: Info,
                                             input: MerchantApplicationActionInput) -> DepositPaymentPayload:
        async def act(conn, who) -> asyncpg.Record:
            return await onboarding.deposit_payment_order(
                conn, who.id, input_pk("MerchantApplication", input.application_id, "applicationId"),
                info.context.settings, _now())
        return await mutate(info, DepositPaymentPayload, act, lambda po: DepositPaymentPayload(
            deposit_payment=DepositPayment(payment_order_id=gid("PaymentOrder", po["id"]), amount=po["payable"],
                                           status=po["status"], expires_at=po["expires_at"])))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: suspend an open shop (its products are hidden, its open orders still fulfilled)."))
    async def suspend_shop(self, info: Info, input: ShopStatusInput) -> ShopPayload:
        async def change(conn, who, pk, reason) -> None:
            await lifecycle.suspend(conn, who, pk, reason)
        return await _shop_change(info, input, change)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Back office: reopen a suspended shop.")
    async def reactivate_shop(self, info: Info, input: ShopStatusInput) -> ShopPayload:
        async def change(conn, who, pk, reason) -> None:
            await lifecycle.reactivate(conn, who, pk, reason)
        return await _shop_change(info, input, change)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: close a shop with no unfinished order, after-sale or debt; its deposit is refunded."))
    async def close_shop(self, info: Info, input: ShopStatusInput) -> ShopPayload:
        return await _shop_change(info, input, lambda conn, who, pk, reason: lifecycle.close(
            conn, who, pk, reason, _now()))

    @strawberry.mutation(permission_classes=[IsMerchantStaff], description=(
        "Owners: invite someone to the shop with a role; the answer carries the code, shown only this once."))
    async def invite_staff(self, info: Info, input: InviteStaffInput) -> StaffInvitationPayload:
        async def act(conn, who) -> tuple[asyncpg.Record, str]:
            return await staff.invite(conn, who, input.role.value, input.note, info.context.settings, _now())
        return await mutate(info, StaffInvitationPayload, act, lambda out: StaffInvitationPayload(
            invitation=StaffInvitation.of(out[0]), code=out[1]))

    @strawberry.mutation(permission_classes=[IsMerchantStaff], description="Owners: withdraw an unused invitation.")
    async def revoke_staff_invitation(self, info: Info, input: StaffInvitationActionInput) -> StaffInvitationPayload:
        async def act(conn, who) -> asyncpg.Record:
            return await staff.revoke_invitation(
                conn, who, input_pk("StaffInvitation", input.invitation_id, "invitationId"), _now())
        return await mutate(info, StaffInvitationPayload, act, lambda r: StaffInvitationPayload(
            invitation=StaffInvitation.of(r)))

    @strawberry.mutation(description=(
        "Accept an invitation (no sign-in needed): your staff login and password; then sign in with staffLogin."))
    async def accept_staff_invitation(self, info: Info, input: AcceptStaffInvitationInput) -> StaffMemberPayload:
        async def act(conn, _who) -> asyncpg.Record:
            return await staff.accept(conn, input.code, input.username, input.password, input.display_name, _now())
        return await mutate(info, StaffMemberPayload, act, lambda r: StaffMemberPayload(staff=StaffMember.of(r)))

    @strawberry.mutation(permission_classes=[IsMerchantStaff], description=(
        "Owners: change a staff member's role (their sessions end; a shop keeps an active owner)."))
    async def set_staff_role(self, info: Info, input: SetStaffRoleInput) -> StaffMemberPayload:
        async def act(conn, who) -> asyncpg.Record:
            return await staff.set_role(conn, info.context.redis, info.context.settings, who,
                                        input_pk("Staff", input.staff_id, "staffId"), input.role.value)
        return await mutate(info, StaffMemberPayload, act, lambda r: StaffMemberPayload(staff=StaffMember.of(r)))

    @strawberry.mutation(permission_classes=[IsMerchantStaff], description=(
        "Owners: deactivate a staff member (their sessions end at once)."))
    async def deactivate_staff(self, info: Info, input: StaffActionInput) -> StaffMemberPayload:
        async def act(conn, who) -> asyncpg.Record:
            return await staff.deactivate(conn, info.context.redis, info.context.settings, who,
                                          input_pk("Staff", input.staff_id, "staffId"))
        return await mutate(info, StaffMemberPayload, act, lambda r: StaffMemberPayload(staff=StaffMember.of(r)))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Back office: a category's commission rate from a date.")
    async def set_category_commission_from(self, info: Info, input: SetCategoryCommissionFromInput) -> DatedCommissionRatePayload:
        return await _commission(info, input.category_id, None, input.rate, input.effective_from)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: a merchant's commission override for a category from a date."))
    async def set_merchant_commission_from(self, info: Info, input: SetMerchantCommissionFromInput) -> DatedCommissionRatePayload:
        return await _commission(info, input.category_id, input.merchant_id, input.rate, input.effective_from)


@strawberry.type
class MerchantSubscription:
    @strawberry.subscription(permission_classes=[IsStaff], description=(
        "Live merchant events: your shop's (merchant staff: review results, status changes, staff changes) or "
        "every one (admins: applications too). At most once: refetch when (re)subscribing."))
    async def merchant_events(self, info: Info) -> AsyncGenerator[MerchantEvent, None]:
        async for ev in live_events(info, "merchant"):
            yield MerchantEvent.from_event(ev)
