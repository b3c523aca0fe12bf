"""GraphQL for the buyer's account (DOMAIN §1, docs/accounts.md): the address book, SMS codes for
registration, account deletion, points and levels (fields of `me`, resolved here for
schema/auth.py's Viewer), and the back office's live account events."""

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from enum import Enum

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.accounts import addresses, deletion, points
from app.accounts.errors import AccountError
from app.auth import service as auth
from app.auth.errors import AuthError
from app.events import Event
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsBuyer

# SMS codes pass on the sign-up limits' TOO_MANY_ATTEMPTS and INVALID_PHONE; deletion ACCOUNT_BLOCKED
AccountUserError = user_error_type("Account", AccountError, AuthError)


@strawberry.type(description="An address of the buyer's address book.")
class BuyerAddress:
    id: strawberry.ID
    receiver: str
    phone: str
    region_code: str = strawberry.field(description="GB/T 2260 code, e.g. 440305 (深圳市南山区).")
    detail: str
    label: str = strawberry.field(description="The buyer's name for it (家, 公司…), may be empty.")
    is_default: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> "BuyerAddress":
        return cls(id=gid("Address", r["id"]), receiver=r["receiver"], phone=r["phone"],
                   region_code=r["region_code"], detail=r["detail"], label=r["label"], is_default=r["is_default"],
                   created_at=r["created_at"], updated_at=r["updated_at"])


@strawberry.enum(description="ORDER_COMPLETED: points earned by a completed order; REFUND_TAKEN_BACK: given back "
                             "by a refund after completion.")
class PointsChangeKind(Enum):
    ORDER_COMPLETED = "ORDER_COMPLETED"
    REFUND_TAKEN_BACK = "REFUND_TAKEN_BACK"


@strawberry.type
class PointsEntry:
    id: strawberry.ID
    order_id: strawberry.ID
    kind: PointsChangeKind
    points: int = strawberry.field(description="Signed: earned > 0, taken back < 0.")
    level_after: int
    created_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> "PointsEntry":
        return cls(id=gid("PointsEntry", r["id"]), order_id=gid("Order", r["order_id"]),
                   kind=PointsChangeKind(r["kind"]), points=r["points"], level_after=r["level_after"],
                   created_at=r["created_at"])


# ---------------------------------------------------------------- me { … } fields (buyers; staff get none)


async def my_addresses(info: Info, buyer_id: int) -> list[BuyerAddress]:
    return [BuyerAddress.of(r) for r in await query(info, lambda conn: addresses.addresses_of(conn, buyer_id))]


async def my_default_address(info: Info, buyer_id: int) -> BuyerAddress | None:
    row = await query(info, lambda conn: addresses.default_address(conn, buyer_id))
    return None if row is None else BuyerAddress.of(row)


async def my_account(info: Info, buyer_id: int) -> asyncpg.Record:
    """Points and level, read once per request however many fields ask."""
    cache = info.context._extra
    if ("account", buyer_id) not in cache:
        cache[("account", buyer_id)] = await query(info, lambda conn: points.account_of(conn, buyer_id))
    return cache[("account", buyer_id)]


async def my_points_history(info: Info, buyer_id: int, first: int, after: str | None) -> Connection[PointsEntry]:
    async def act(conn) -> Connection[PointsEntry]:
        size = page_size(first)
        rows = await points.history_of(conn, buyer_id, after_id(after), size + 1)
        return connection_of(rows, size, after, PointsEntry.of)
    return await query(info, act)


# ---------------------------------------------------------------- inputs and payloads


@strawberry.input
class AddAddressInput:
    receiver: str
    phone: str
    region_code: str = strawberry.field(description="GB/T 2260 code of a known region, any level.")
    detail: str
    label: str = ""
    make_default: bool = strawberry.field(default=False, description="The first address is the default anyway.")


@strawberry.input(description="Only the fields given change.")
class UpdateAddressInput:
    address_id: strawberry.ID
    receiver: str | None = None
    phone: str | None = None
    region_code: str | None = None
    detail: str | None = None
    label: str | None = None
    make_default: bool = strawberry.field(default=False, description="Make it the default address.")


@strawberry.input
class DeleteAddressInput:
    address_id: strawberry.ID


@strawberry.type
class AddressPayload:
    address: BuyerAddress | None = None
    user_errors: list[AccountUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class DeleteAddressPayload:
    deleted_address_id: strawberry.ID | None = None
    default_address: BuyerAddress | None = strawberry.field(default=None, description="The default now.")
    user_errors: list[AccountUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.enum
class SmsCodePurpose(Enum):
    REGISTER = "REGISTER"


@strawberry.input
class SendSmsCodeInput:
    phone: str
    purpose: SmsCodePurpose = SmsCodePurpose.REGISTER


@strawberry.type
class SendSmsCodePayload:
    sent: bool = False
    expires_in_seconds: int | None = None
    resend_after_seconds: int | None = None
    user_errors: list[AccountUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class DeleteAccountInput:
    password: str


@strawberry.type
class DeleteAccountPayload:
    deleted: bool = False
    user_errors: list[AccountUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A change to a buyer account: ACCOUNT_DELETED, POINTS_CHANGED.")
class AccountEvent:
    event_id: str
    type: str
    buyer_id: strawberry.ID | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "AccountEvent":
        return cls(event_id=str(ev.id), type=ev.type, buyer_id=gid("Buyer", ev.payload.get("buyer_id")),
                   payload=JSON(ev.payload), created_at=ev.created_at)


def _fields(i: AddAddressInput | UpdateAddressInput) -> addresses.AddressFields:
    return addresses.AddressFields(receiver=i.receiver, phone=i.phone, region_code=i.region_code, detail=i.detail,
                                   label=i.label)


# ---------------------------------------------------------------- resolvers


@strawberry.type
class AccountQuery:
    @strawberry.field(permission_classes=[IsBuyer], description="One address of your address book.")
    async def my_address(self, info: Info, id: strawberry.ID) -> BuyerAddress:
        return BuyerAddress.of(await query(info, lambda conn: addresses.address_of(
            conn, info.context.caller.id, input_pk("Address", id, "id"))))


@strawberry.type
class AccountMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        f"Add an address (at most {addresses.MAX_ADDRESSES}); the first one is the default."))
    async def add_address(self, info: Info, input: AddAddressInput) -> AddressPayload:
        async def act(conn, who) -> asyncpg.Record:
            pk = await addresses.add_address(conn, who.id, _fields(input), input.make_default)
            return await addresses.address_of(conn, who.id, pk)
        return await mutate(info, AddressPayload, act, lambda r: AddressPayload(address=BuyerAddress.of(r)))

    @strawberry.mutation(permission_classes=[IsBuyer], description="Change an address of yours.")
    async def update_address(self, info: Info, input: UpdateAddressInput) -> AddressPayload:
        async def act(conn, who) -> asyncpg.Record:
            pk = await addresses.update_address(conn, who.id, input_pk("Address", input.address_id, "addressId"),
                                                _fields(input), input.make_default)
            return await addresses.address_of(conn, who.id, pk)
        return await mutate(info, AddressPayload, act, lambda r: AddressPayload(address=BuyerAddress.of(r)))

    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Delete an address of yours; deleting the default makes the most recently added other one the default."))
    async def delete_address(self, info: Info, input: DeleteAddressInput) -> DeleteAddressPayload:
        async def act(conn, who) -> tuple[int, asyncpg.Record | None]:
            pk = input_pk("Address", input.address_id, "addressId")
            await addresses.delete_address(conn, who.id, pk)
            return pk, await addresses.default_address(conn, who.id)
        return await mutate(info, DeleteAddressPayload, act, lambda r: DeleteAddressPayload(
            deleted_address_id=gid("Address", r[0]), default_address=None if r[1] is None else BuyerAddress.of(r[1])))

    @strawberry.mutation(description=(
        "Send a verification code by SMS (registerBuyer's `smsCode`). One per phone every SMS_RESEND_SECONDS; "
        "limited per client IP. In development the sandbox SMS inbox shows it (`ecom sms-inbox PHONE`)."))
    async def send_sms_code(self, info: Info, input: SendSmsCodeInput) -> SendSmsCodePayload:
        c = info.context

        async def act(_db, _who) -> None:
            await auth.send_registration_code(c.redis, c.http, c.settings, input.phone, c.client_ip)
        return await mutate(info, SendSmsCodePayload, act, lambda _: SendSmsCodePayload(
            sent=True, expires_in_seconds=c.settings.sms_code_ttl_seconds,
            resend_after_seconds=c.settings.sms_resend_seconds), transaction=False)

    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Delete your account (注销) with your password: refused with OPEN_ORDERS while an order is open or in "
        "after-sale. Personal data is removed or masked, every session ends; orders and money records are kept."))
    async def delete_account(self, info: Info, input: DeleteAccountInput) -> DeleteAccountPayload:
        c = info.context
        return await mutate(info, DeleteAccountPayload, lambda db, who: deletion.delete_account(
            db, c.redis, c.settings, who.id, input.password, datetime.now(UTC)),
            lambda _: DeleteAccountPayload(deleted=True), transaction=False)


@strawberry.type
class AccountSubscription:
    @strawberry.subscription(permission_classes=[IsAdmin], description=(
        "Back office: live buyer account events (ACCOUNT_DELETED, POINTS_CHANGED). At most once: refetch when "
        "(re)subscribing."))
    async def account_events(self, info: Info) -> AsyncGenerator[AccountEvent, None]:
        async for ev in live_events(info, "account"):
            yield AccountEvent.from_event(ev)
