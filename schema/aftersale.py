"""GraphQL for after-sale (DOMAIN §9): the buyer's requests and their steps, the merchant's (or the
platform's) review queue and decisions, the platform's word on escalations, and live after-sale
events for consoles. Resolvers decode, call one service of app/aftersale through `mutate`/`query`,
and enqueue what the change left to do (a refund, a withdrawal) after the commit."""

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import TypeAlias

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.aftersale import jobs, service
from app.aftersale.errors import AfterSaleError
from app.aftersale.status import AfterSaleKind, AfterSaleReason, AfterSaleStatus
from app.events import Event
from app.fulfilment.errors import FulfilmentError
from app.payments.errors import PaymentError
from app.uploads.errors import UploadError
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, input_pks
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsAuthenticated, IsBuyer, IsStaff
from schema.scalars import Money

# a refund's own refusals (REFUND_EXCEEDS_PAYMENT…) can surface when a case asks for its refund,
# evidence is checked by uploads (WRONG_PURPOSE), an exchange's reship by fulfilment (OUT_OF_STOCK)
AfterSaleUserError = user_error_type("AfterSale", AfterSaleError, PaymentError, UploadError, FulfilmentError)

strawberry.enum(AfterSaleKind, name="AfterSaleKind", description=(
    "REFUND_ONLY 仅退款 (before shipment, or reviewed), RETURN_REFUND 退货退款, EXCHANGE 换货."))
strawberry.enum(AfterSaleReason, name="AfterSaleReason", description="The buyer's reason; OTHER needs a description.")
strawberry.enum(AfterSaleStatus, name="AfterSaleStatus")
AfterSaleKindEnum: TypeAlias = AfterSaleKind
AfterSaleReasonEnum: TypeAlias = AfterSaleReason
AfterSaleStatusEnum: TypeAlias = AfterSaleStatus


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type(description="Units of one order line an after-sale covers, and what they refund.")
class AfterSaleLine:
    order_line_id: strawberry.ID
    quantity: int
    amount: Money = strawberry.field(description="The units' share of the line's paid amount (unit split, §4.6).")


@strawberry.type(description="Who moved the after-sale, when, from where to where and why.")
class AfterSaleStatusChange:
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime


@strawberry.type(description="An after-sale case (售后) on units of one order's lines. Money in cents.")
class AfterSale:
    pk: strawberry.Private[int]
    id: strawberry.ID
    order_id: strawberry.ID
    merchant_id: strawberry.ID
    kind: AfterSaleKindEnum
    status: AfterSaleStatusEnum
    reason: AfterSaleReasonEnum
    description: str
    before_shipment: bool
    goods_amount: Money = strawberry.field(description="What its units refund.")
    shipping_amount: Money = strawberry.field(description="Shipping refunded with it (the whole order, unshipped).")
    rejection_reason: str | None
    close_reason: str | None
    return_carrier: str | None
    return_tracking_number: str | None
    created_at: datetime
    decided_at: datetime | None
    closed_at: datetime | None

    @strawberry.field
    async def lines(self, info: Info) -> list[AfterSaleLine]:
        rows = await info.context.loaders.after_sale_lines.load(self.pk)
        return [AfterSaleLine(order_line_id=gid("OrderLine", r["order_line_id"]), quantity=r["quantity"],
                              amount=r["amount"]) for r in rows]

    @strawberry.field(description="Evidence images (upload ids).")
    async def evidence(self, info: Info) -> list[strawberry.ID]:
        return [gid("Upload", r["upload_id"]) for r in await info.context.loaders.after_sale_evidence.load(self.pk)]

    @strawberry.field
    async def history(self, info: Info) -> list[AfterSaleStatusChange]:
        rows = await info.context.loaders.after_sale_history.load(self.pk)
        return [AfterSaleStatusChange(from_status=h["from_status"], to_status=h["to_status"], actor=h["actor"],
                                      reason=h["reason"], at=h["at"]) for h in rows]

    @classmethod
    def of(cls, r: asyncpg.Record) -> "AfterSale":
        return cls(pk=r["id"], id=gid("AfterSale", r["id"]), order_id=gid("Order", r["order_id"]),
                   merchant_id=gid("Merchant", r["merchant_id"]), kind=AfterSaleKind(r["kind"]),
                   status=AfterSaleStatus(r["status"]), reason=AfterSaleReason(r["reason"]),
                   description=r["description"], before_shipment=r["before_shipment"],
                   goods_amount=r["goods_amount"], shipping_amount=r["shipping_amount"],
                   rejection_reason=r["rejection_reason"], close_reason=r["close_reason"],
                   return_carrier=r["return_carrier"], return_tracking_number=r["return_tracking"],
                   created_at=r["created_at"], decided_at=r["decided_at"], closed_at=r["closed_at"])


@strawberry.input
class AfterSaleLineInput:
    order_line_id: strawberry.ID
    quantity: int


@strawberry.input(description="`evidence`: your AFTER_SALE_EVIDENCE upload ids (at most 9).")
class RequestAfterSaleInput:
    order_id: strawberry.ID
    kind: AfterSaleKindEnum
    lines: list[AfterSaleLineInput]
    reason: AfterSaleReasonEnum
    description: str = ""
    evidence: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class AfterSaleActionInput:
    after_sale_id: strawberry.ID


@strawberry.input
class RejectAfterSaleInput:
    after_sale_id: strawberry.ID
    reason: str


@strawberry.input
class SubmitReturnShipmentInput:
    after_sale_id: strawberry.ID
    carrier: str
    tracking_number: str


@strawberry.input(description="`accept: false` needs a `reason`.")
class InspectReturnInput:
    after_sale_id: strawberry.ID
    accept: bool
    reason: str | None = None


@strawberry.input(description="`forBuyer: true` overrides the merchant's rejection; false closes the case.")
class DecideEscalationInput:
    after_sale_id: strawberry.ID
    for_buyer: bool
    reason: str


@strawberry.type
class AfterSalePayload:
    after_sale: AfterSale | None = None
    user_errors: list[AfterSaleUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A change to an after-sale: AFTER_SALE_REQUESTED, AFTER_SALE_APPROVED, "
                             "AFTER_SALE_REJECTED, AFTER_SALE_ESCALATED, AFTER_SALE_RETURN_SHIPPED, "
                             "AFTER_SALE_REFUNDING, AFTER_SALE_RESHIPPING, AFTER_SALE_REFUNDED, AFTER_SALE_COMPLETED, "
                             "AFTER_SALE_CANCELLED, AFTER_SALE_CLOSED.")
class AfterSaleEvent:
    event_id: str
    type: str
    after_sale_id: strawberry.ID | None
    order_id: strawberry.ID | None
    merchant_id: strawberry.ID | None
    status: str | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "AfterSaleEvent":
        return cls(event_id=str(ev.id), type=ev.type, after_sale_id=gid("AfterSale", ev.payload.get("after_sale_id")),
                   order_id=gid("Order", ev.payload.get("order_id")), merchant_id=gid("Merchant", ev.merchant_id),
                   status=ev.payload.get("to"), payload=JSON(ev.payload), created_at=ev.created_at)


async def _present(info: Info, outcome: service.Outcome | int) -> AfterSalePayload:
    """After the commit: start what the change left to do, then answer with the case."""
    if isinstance(outcome, service.Outcome):
        await jobs.follow_up(info.context.redis, outcome)
        case_id = outcome.after_sale_id
    else:
        case_id = outcome
    row = await query(info, lambda conn: service.case_for(conn, info.context.caller, case_id))
    return AfterSalePayload(after_sale=AfterSale.of(row))


async def _change(info: Info, case_gid: str, act) -> AfterSalePayload:
    async def change(conn, who):
        pk = input_pk("AfterSale", case_gid, "afterSaleId")
        result = await act(conn, who, pk)
        return result if isinstance(result, service.Outcome) else pk
    return await mutate(info, AfterSalePayload, change, lambda out: _present(info, out))


@strawberry.type
class AfterSaleQuery:
    @strawberry.field(permission_classes=[IsBuyer], description="Your after-sales, newest first.")
    async def after_sales(self, info: Info, first: int = 20, after: str | None = None) -> Connection[AfterSale]:
        async def act(conn) -> Connection[AfterSale]:
            size = page_size(first)
            rows = await service.buyer_cases(conn, info.context.caller.id, after_id(after), size + 1)
            return connection_of(rows, size, after, AfterSale.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAuthenticated],
                      description="An after-sale you may see: your own (buyers), your merchant's (staff), any (admins).")
    async def after_sale(self, info: Info, id: strawberry.ID) -> AfterSale:
        return AfterSale.of(await query(info, lambda conn: service.case_for(
            conn, info.context.caller, input_pk("AfterSale", id, "id"))))

    @strawberry.field(permission_classes=[IsStaff], description=(
        "The review queue, newest first: merchant staff see their merchant's after-sales, admins every merchant's "
        "(the self-operated platform merchant's among them)."))
    async def after_sale_queue(self, info: Info, status: AfterSaleStatusEnum | None = None, first: int = 20,
                               after: str | None = None) -> Connection[AfterSale]:
        async def act(conn) -> Connection[AfterSale]:
            size = page_size(first)
            rows = await service.queue(conn, info.context.caller, status.value if status else None, after_id(after),
                                       size + 1)
            return connection_of(rows, size, after, AfterSale.of)
        return await query(info, act)


@strawberry.type
class AfterSaleMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Ask for an after-sale on units of your order's lines. A REFUND_ONLY before shipment is approved at once "
        "(the auto rule, docs/aftersale.md) and refunded once its units leave fulfilment."))
    async def request_after_sale(self, info: Info, input: RequestAfterSaleInput) -> AfterSalePayload:
        async def act(conn, who) -> service.Outcome:
            claims = [service.LineClaim(input_pk("OrderLine", line.order_line_id, "lines", str(n), "orderLineId"),
                                        line.quantity) for n, line in enumerate(input.lines)]
            return await service.request(
                conn, info.context.settings, who.id, input_pk("Order", input.order_id, "orderId"), input.kind, claims,
                input.reason, input.description, input_pks("Upload", input.evidence, "evidence"), _now())
        return await mutate(info, AfterSalePayload, act, lambda out: _present(info, out))

    @strawberry.mutation(permission_classes=[IsBuyer], description="Withdraw your after-sale before it is refunded.")
    async def cancel_after_sale(self, info: Info, input: AfterSaleActionInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.cancel(conn, who.id, pk, _now()))

    @strawberry.mutation(permission_classes=[IsBuyer], description="The parcel you sent back: carrier and tracking.")
    async def submit_return_shipment(self, info: Info, input: SubmitReturnShipmentInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.submit_return(
            conn, who.id, pk, input.carrier, input.tracking_number, _now()))

    @strawberry.mutation(permission_classes=[IsBuyer], description="Ask the platform to decide on a rejection.")
    async def escalate_after_sale(self, info: Info, input: AfterSaleActionInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.escalate(
            conn, who.id, pk, _now()))

    @strawberry.mutation(permission_classes=[IsBuyer], description="You received the exchange's new goods.")
    async def confirm_exchange_receipt(self, info: Info, input: AfterSaleActionInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.confirm_exchange(
            conn, who.id, pk, _now()))

    @strawberry.mutation(permission_classes=[IsStaff], description="Approve a request under review.")
    async def approve_after_sale(self, info: Info, input: AfterSaleActionInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.approve(conn, who, pk, _now()))

    @strawberry.mutation(permission_classes=[IsStaff], description="Reject a request under review, with the reason.")
    async def reject_after_sale(self, info: Info, input: RejectAfterSaleInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.reject(
            conn, who, pk, input.reason, _now()))

    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "The returned goods arrived: accept (refund, or reship an exchange) or refuse with the reason."))
    async def inspect_return(self, info: Info, input: InspectReturnInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.inspect_return(
            conn, who, pk, input.accept, input.reason, _now()))

    @strawberry.mutation(permission_classes=[IsAdmin], description="Back office: decide an escalated after-sale.")
    async def decide_escalation(self, info: Info, input: DecideEscalationInput) -> AfterSalePayload:
        return await _change(info, input.after_sale_id, lambda conn, who, pk: service.decide_escalation(
            conn, who, pk, input.for_buyer, input.reason, _now()))


@strawberry.type
class AfterSaleSubscription:
    @strawberry.subscription(permission_classes=[IsStaff], description=(
        "Live after-sale events of your merchant (merchant staff) or of every merchant (admins), so the queue "
        "updates live. Delivery is at most once: refetch the queue when (re)subscribing."))
    async def merchant_after_sale_events(self, info: Info) -> AsyncGenerator[AfterSaleEvent, None]:
        async for ev in live_events(info, "aftersale"):
            yield AfterSaleEvent.from_event(ev)
