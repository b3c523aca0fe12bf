"""GraphQL for merchant accounts and payouts (DOMAIN §10, §10.1; docs/payouts.md): balances,
withdrawals (request by the OWNER, back-office review), adjustments (补差), the console's
figures and score, and live payout events. Resolvers call one service in app/payouts/ through
`mutate`/`query`; merchant staff always read their own merchant, admins name one."""

from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, TypeAlias

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.errors import CommonError
from app.events import Event
from app.payouts import account, adjustments, console, withdrawals
from app.payouts.errors import PayoutError
from app.payouts.status import TOPIC, WithdrawalStatus
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsMerchantOwner, IsStaff
from schema.scalars import Money

PayoutUserError = user_error_type("Payout", PayoutError, CommonError)
strawberry.enum(WithdrawalStatus, name="WithdrawalStatus", description=(
    "REQUESTED (amount reserved, awaiting review) → APPROVED → IN_TRANSIT (sent to the payout channel) → PAID | "
    "FAILED (money available again); REQUESTED → REJECTED (money available again)."))
WithdrawalStatusEnum: TypeAlias = WithdrawalStatus


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type(description="A merchant's balances in cents, derived from its ledger postings.")
class MerchantAccount:
    merchant_id: strawberry.ID
    pending: Money = strawberry.field(description="Sold, not yet settled.")
    available: Money = strawberry.field(description="Settled and withdrawable; negative blocks withdrawals (§10.1).")
    reserved: Money = strawberry.field(description="Asked for in withdrawals awaiting review or the payout job.")
    in_transit: Money = strawberry.field(description="Sent to the payout channel, not confirmed yet.")
    deposit: Money = strawberry.field(description="The shop's deposit: held apart, never withdrawable.")
    refund_recovery: Money = strawberry.field(description="Refunds after settlement, deducted in the next run.")
    withdrawable: Money = strawberry.field(description="What a withdrawal may ask for now: max(available, 0).")

    @classmethod
    def of(cls, b: account.Balances) -> "MerchantAccount":
        return cls(merchant_id=gid("Merchant", b.merchant_id), pending=b.pending, available=b.available,
                   reserved=b.reserved, in_transit=b.in_transit, deposit=b.deposit, refund_recovery=b.refund_recovery,
                   withdrawable=max(b.available, 0))


@strawberry.type
class WithdrawalStatusChange:
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    created_at: datetime


@strawberry.type(description="A withdrawal (提现) of a merchant's available balance. Money in cents.")
class Withdrawal:
    id: strawberry.ID
    merchant_id: strawberry.ID
    amount: Money
    status: WithdrawalStatusEnum
    client_key: str
    requested_by: str
    reviewed_by: str | None
    reject_reason: str | None
    failure_reason: str | None
    channel_ref: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    reviewed_at: datetime | None
    sent_at: datetime | None
    finished_at: datetime | None
    history: list[WithdrawalStatusChange]

    @classmethod
    def of(cls, r: asyncpg.Record, history: list[asyncpg.Record]) -> "Withdrawal":
        return cls(id=gid("Withdrawal", r["id"]), merchant_id=gid("Merchant", r["merchant_id"]), amount=r["amount"],
                   status=WithdrawalStatus(r["status"]), client_key=r["client_key"], requested_by=r["requested_by"],
                   reviewed_by=r["reviewed_by"], reject_reason=r["reject_reason"], failure_reason=r["failure_reason"],
                   channel_ref=r["channel_ref"], attempts=r["attempts"], last_error=r["last_error"],
                   created_at=r["created_at"], reviewed_at=r["reviewed_at"], sent_at=r["sent_at"],
                   finished_at=r["finished_at"],
                   history=[WithdrawalStatusChange(from_status=h["from_status"] or None, to_status=h["to_status"],
                                                   actor=h["actor"], reason=h["reason"], created_at=h["created_at"])
                            for h in history])


async def _with_history(conn, rows: list[asyncpg.Record]) -> dict[int, list[asyncpg.Record]]:
    by_id: dict[int, list[asyncpg.Record]] = {r["id"]: [] for r in rows}
    for h in await withdrawals.history(conn, list(by_id)):
        by_id[h["withdrawal_id"]].append(h)
    return by_id


@strawberry.type(description="An adjustment (补差): an explicit entry on a merchant's available balance.")
class Adjustment:
    id: strawberry.ID
    merchant_id: strawberry.ID
    amount: Money = strawberry.field(description="Positive credits the merchant, negative debits it.")
    reason: str
    operator: str
    client_key: str
    source: str = strawberry.field(description="PLATFORM (补差), or DEPOSIT (a deduction from the deposit).")
    created_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> "Adjustment":
        return cls(id=gid("Adjustment", r["id"]), merchant_id=gid("Merchant", r["merchant_id"]), amount=r["amount"],
                   reason=r["reason"], operator=r["operator"], client_key=r["client_key"], source=r["source"],
                   created_at=r["created_at"])


@strawberry.type(description="A day of the merchant console (UTC). Money in cents.")
class ConsoleDay:
    day: date
    orders: int = strawberry.field(description="Orders paid that day.")
    sales: Money = strawberry.field(description="What buyers paid for those orders (shipping included).")
    refunds: Money = strawberry.field(description="Refunds that succeeded that day.")
    commission: Money = strawberry.field(description="Commission in the day's settlement entries.")
    settlement: Money = strawberry.field(description="What the day's settlement entries moved into available.")


@strawberry.type(description="A product's figures over the console's date range. Money in cents.")
class ConsoleProduct:
    product_id: strawberry.ID
    title: str
    orders: int
    units: int
    sales: Money = strawberry.field(description="The lines' paid amounts (orders paid in the range).")
    refunds: Money = strawberry.field(description="Refunded lines of after-sales closed in the range.")
    commission: Money
    settlement: Money


@strawberry.type(description="The merchant console's figures for a date range (docs/payouts.md).")
class MerchantConsole:
    merchant_id: strawberry.ID
    from_: date = strawberry.field(name="from")
    to: date
    days: list[ConsoleDay]
    products: list[ConsoleProduct] = strawberry.field(description="Products with any figure in the range, best "
                                                                  "selling first (at most 500).")


@strawberry.type(description="The merchant score (§10): 0.6 × rating part + 0.4 × after-sale part, 0–100, one "
                             "decimal (docs/payouts.md).")
class MerchantScore:
    merchant_id: strawberry.ID
    score: Decimal
    rating_part: Decimal
    after_sale_part: Decimal
    reviews: int
    mean_rating: Decimal | None
    orders: int
    after_sales: int
    window_days: int


@strawberry.input
class RequestWithdrawalInput:
    amount: Money
    client_key: str = strawberry.field(description="Your idempotency key: the same key again answers the first "
                                                   "request.")


@strawberry.input
class WithdrawalActionInput:
    withdrawal_id: strawberry.ID


@strawberry.input
class RejectWithdrawalInput:
    withdrawal_id: strawberry.ID
    reason: str


@strawberry.input
class PostAdjustmentInput:
    merchant_id: strawberry.ID
    amount: Money = strawberry.field(description="Positive credits the merchant's available balance, negative debits.")
    reason: str
    client_key: str
    from_deposit: bool = strawberry.field(default=False, description=(
        "A deposit deduction: the (positive) amount leaves the merchant's deposit for its available balance, e.g. to "
        "cover a negative one (at most the deposit held)."))


@strawberry.type
class WithdrawalPayload:
    withdrawal: Withdrawal | None = None
    user_errors: list[PayoutUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class AdjustmentPayload:
    adjustment: Adjustment | None = None
    account: MerchantAccount | None = None
    user_errors: list[PayoutUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A change to a merchant's account: WITHDRAWAL_REQUESTED, WITHDRAWAL_APPROVED, "
                             "WITHDRAWAL_REJECTED, WITHDRAWAL_IN_TRANSIT, WITHDRAWAL_PAID, WITHDRAWAL_FAILED, "
                             "ADJUSTMENT_POSTED.")
class PayoutEvent:
    event_id: str
    type: str
    withdrawal_id: strawberry.ID | None
    adjustment_id: strawberry.ID | None
    merchant_id: strawberry.ID | None
    status: str | None
    amount: Money | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "PayoutEvent":
        p = ev.payload
        return cls(event_id=str(ev.id), type=ev.type, withdrawal_id=gid("Withdrawal", p.get("withdrawal_id")),
                   adjustment_id=gid("Adjustment", p.get("adjustment_id")), merchant_id=gid("Merchant", ev.merchant_id),
                   status=p.get("to"), amount=p.get("amount"), payload=JSON(p), created_at=ev.created_at)


async def _withdrawal_payload(info: Info, withdrawal_id: int) -> WithdrawalPayload:
    async def act(conn) -> Withdrawal:
        row = await withdrawals.owned(conn, info.context.caller, withdrawal_id)
        return Withdrawal.of(row, (await _with_history(conn, [row]))[row["id"]])
    return WithdrawalPayload(withdrawal=await query(info, act))


@strawberry.type
class PayoutQuery:
    @strawberry.field(permission_classes=[IsStaff], description=(
        "A merchant's balances: merchant staff their own (`merchantId` may be omitted), admins the one named."))
    async def merchant_account(self, info: Info, merchant_id: strawberry.ID | None = None) -> MerchantAccount:
        async def act(conn) -> MerchantAccount:
            m = account.own_merchant(info.context.caller, optional_pk("Merchant", merchant_id, "merchantId"),
                                     "merchantId")
            await account.require_merchant(conn, m, "merchantId")
            return MerchantAccount.of(await account.balances(conn, m))
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description=(
        "Withdrawals, newest first: merchant staff their merchant's, admins `merchantId`'s or all; `status` null = all."))
    async def withdrawals(self, info: Info, merchant_id: strawberry.ID | None = None,
                          status: WithdrawalStatusEnum | None = None, first: int = 20,
                          after: str | None = None) -> Connection[Withdrawal]:
        async def act(conn) -> Connection[Withdrawal]:
            size = page_size(first)
            rows = await withdrawals.merchant_withdrawals(
                conn, info.context.caller, optional_pk("Merchant", merchant_id, "merchantId"),
                status.value if status else None, after_id(after), size + 1)
            history = await _with_history(conn, rows[:size])
            return connection_of(rows, size, after, lambda r: Withdrawal.of(r, history[r["id"]]))
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description="One withdrawal (someone else's: NOT_FOUND).")
    async def withdrawal(self, info: Info, id: strawberry.ID) -> Withdrawal:
        async def act(conn) -> Withdrawal:
            row = await withdrawals.owned(conn, info.context.caller, input_pk("Withdrawal", id, "id"))
            return Withdrawal.of(row, (await _with_history(conn, [row]))[row["id"]])
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description=(
        "A merchant's adjustments (补差), newest first: merchant staff their own, admins the one named."))
    async def merchant_adjustments(self, info: Info, merchant_id: strawberry.ID | None = None, first: int = 20,
                                   after: str | None = None) -> Connection[Adjustment]:
        async def act(conn) -> Connection[Adjustment]:
            size = page_size(first)
            m = account.own_merchant(info.context.caller, optional_pk("Merchant", merchant_id, "merchantId"),
                                     "merchantId")
            rows = await adjustments.merchant_adjustments(conn, m, after_id(after), size + 1)
            return connection_of(rows, size, after, Adjustment.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description=(
        "The merchant console's sales, orders, refunds, commission and settlement per day and per product, for UTC "
        "days `from`..`to` (at most 366): merchant staff their own, admins the one named."))
    async def merchant_console(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")],
                               to: date | None = None,
                               merchant_id: strawberry.ID | None = None) -> MerchantConsole:
        last = to or from_

        async def act(conn) -> MerchantConsole:
            m = account.own_merchant(info.context.caller, optional_pk("Merchant", merchant_id, "merchantId"),
                                     "merchantId")
            days = await console.daily(conn, m, from_, last)
            products = await console.by_product(conn, m, from_, last)
            return MerchantConsole(
                merchant_id=gid("Merchant", m), from_=from_, to=last,
                days=[ConsoleDay(day=d["day"], orders=d["orders"], sales=d["sales"], refunds=d["refunds"],
                                 commission=d["commission"], settlement=d["settlement"]) for d in days],
                products=[ConsoleProduct(product_id=gid("Product", p["product_id"]), title=p["title"],
                                         orders=p["orders"], units=p["units"], sales=p["sales"], refunds=p["refunds"],
                                         commission=p["commission"], settlement=p["settlement"]) for p in products])
        return await query(info, act)

    @strawberry.field(permission_classes=[IsStaff], description=(
        "The merchant score from ratings and after-sale rate (docs/payouts.md): merchant staff their own, admins "
        "the one named."))
    async def merchant_score(self, info: Info, merchant_id: strawberry.ID | None = None) -> MerchantScore:
        async def act(conn) -> MerchantScore:
            m = account.own_merchant(info.context.caller, optional_pk("Merchant", merchant_id, "merchantId"),
                                     "merchantId")
            await account.require_merchant(conn, m, "merchantId")
            window = info.context.settings.merchant_score_window_days
            s = await console.score(conn, m, _now(), window)
            return MerchantScore(merchant_id=gid("Merchant", m), score=s.score, rating_part=s.rating_part,
                                 after_sale_part=s.after_sale_part, reviews=s.reviews, mean_rating=s.mean_rating,
                                 orders=s.orders, after_sales=s.after_sales, window_days=window)
        return await query(info, act)


@strawberry.type
class PayoutMutation:
    @strawberry.mutation(permission_classes=[IsMerchantOwner], description=(
        "Withdraw from your merchant's available balance (OWNER only): reserved at once, then reviewed by the back "
        "office and paid out. Refused above the available balance and while it is negative."))
    async def request_withdrawal(self, info: Info, input: RequestWithdrawalInput) -> WithdrawalPayload:
        return await mutate(info, WithdrawalPayload,
                            lambda conn, who: withdrawals.request(conn, who, input.amount, input.client_key, _now()),
                            lambda w: _withdrawal_payload(info, w["id"]))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: approve a REQUESTED withdrawal; the payout job sends it to the payout channel."))
    async def approve_withdrawal(self, info: Info, input: WithdrawalActionInput) -> WithdrawalPayload:
        async def act(conn, who) -> int:
            return await withdrawals.approve(conn, who, input_pk("Withdrawal", input.withdrawal_id, "withdrawalId"),
                                             _now())
        return await mutate(info, WithdrawalPayload, act, lambda pk: _withdrawal_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: reject a REQUESTED withdrawal with a reason; the reserved amount is available again."))
    async def reject_withdrawal(self, info: Info, input: RejectWithdrawalInput) -> WithdrawalPayload:
        async def act(conn, who) -> int:
            return await withdrawals.reject(conn, who, input_pk("Withdrawal", input.withdrawal_id, "withdrawalId"),
                                            input.reason, _now())
        return await mutate(info, WithdrawalPayload, act, lambda pk: _withdrawal_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: an adjustment (补差) crediting (amount > 0) or debiting (amount < 0) a merchant's available "
        "balance, with its reason; idempotent on `clientKey`."))
    async def post_adjustment(self, info: Info, input: PostAdjustmentInput) -> AdjustmentPayload:
        async def act(conn, who) -> tuple[asyncpg.Record, account.Balances]:
            m = input_pk("Merchant", input.merchant_id, "merchantId")
            row = await adjustments.adjust(conn, who, m, input.amount, input.reason, input.client_key, _now(),
                                           input.from_deposit)
            return row, await account.balances(conn, m)
        return await mutate(info, AdjustmentPayload, act,
                            lambda out: AdjustmentPayload(adjustment=Adjustment.of(out[0]),
                                                          account=MerchantAccount.of(out[1])))


@strawberry.type
class PayoutSubscription:
    @strawberry.subscription(permission_classes=[IsStaff], description=(
        "Live withdrawal and adjustment events of your merchant (merchant staff) or of every merchant (admins). "
        "Delivery is at most once: refetch when (re)subscribing."))
    async def merchant_payout_events(self, info: Info) -> AsyncGenerator[PayoutEvent, None]:
        async for ev in live_events(info, TOPIC):
            yield PayoutEvent.from_event(ev)
