"""GraphQL for payments (DOMAIN §7): the cashier's `createPayment`, reading a payment, and the
buyer's REFUND_ONLY `cancelPaidOrder`. The rules live in app/payments/."""

from datetime import UTC, datetime
from enum import Enum

import asyncpg
import httpx
import strawberry
from strawberry.scalars import JSON

from app.errors import DomainError
from app.ids import encode_id
from app.payments import callbacks, cashier, jobs, refunds
from schema.context import Info
from schema.errors import PublicError, UserError, user_errors
from schema.ids import input_pk
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsAuthenticated, IsBuyer
from schema.pricing import PaymentChannel
from schema.scalars import Money
from schema.use_cases import change, read

PROVIDER_TIMEOUT_SECONDS = 10


@strawberry.enum(description="CREATED: waiting for the buyer to pay; SUCCEEDED: the provider confirmed it; "
                             "CLOSED: the provider could not open it.")
class PaymentStatus(Enum):
    CREATED = "CREATED"
    SUCCEEDED = "SUCCEEDED"
    CLOSED = "CLOSED"


@strawberry.enum(description="What the buyer must pass to pay, decided by risk from the amount and recent refusals.")
class PaymentAuthLevel(Enum):
    NONE = "NONE"
    PASSWORD = "PASSWORD"
    SMS = "SMS"


@strawberry.enum
class RefundStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


def _gid(type_name: str, pk: int | None) -> strawberry.ID | None:
    return None if pk is None else strawberry.ID(encode_id(type_name, pk))


@strawberry.type(description="One attempt to pay a payment order with a channel. Money in cents.")
class Payment:
    id: strawberry.ID
    payment_order_id: strawberry.ID
    channel: PaymentChannel
    amount: Money
    status: PaymentStatus
    auth_level: PaymentAuthLevel
    refunded_amount: Money = strawberry.field(description="Refunds requested and not failed.")
    created_at: datetime
    succeeded_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "Payment":
        return cls(id=_gid("Payment", row["id"]), payment_order_id=_gid("PaymentOrder", row["payment_order_id"]),
                   channel=PaymentChannel[row["channel"]], amount=row["amount"], status=PaymentStatus(row["status"]),
                   auth_level=PaymentAuthLevel(row["auth_level"]), refunded_amount=row["refunded_amount"],
                   created_at=row["created_at"], succeeded_at=row["succeeded_at"])


@strawberry.type(description="How the client pays: send the buyer to `payUrl` (the provider's page; the sandbox's "
                             "also takes a POST). The order is paid once the provider's callback is applied.")
class PaymentInstructions:
    provider: str
    transaction_id: str
    pay_url: str


@strawberry.type(description="Money going back to the original payment; confirmed by the provider's callback.")
class Refund:
    id: strawberry.ID
    payment_id: strawberry.ID
    order_id: strawberry.ID | None
    amount: Money
    reason: str
    status: RefundStatus
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> "Refund":
        return cls(id=_gid("Refund", row["id"]), payment_id=_gid("Payment", row["payment_id"]),
                   order_id=_gid("Order", row["order_id"]), amount=row["amount"], reason=row["reason"],
                   status=RefundStatus(row["status"]), created_at=row["created_at"], settled_at=row["settled_at"])


@strawberry.input
class CreatePaymentInput:
    payment_order_id: strawberry.ID
    channel: PaymentChannel


@strawberry.type(description="Codes: NOT_FOUND, CHANNEL_NOT_AVAILABLE (CREDIT for now), CHANNEL_MISMATCH, "
                             "PAYMENT_ORDER_NOT_PAYABLE, PAYMENT_ORDER_EXPIRED, NOTHING_TO_PAY, PROVIDER_UNAVAILABLE.")
class CreatePaymentPayload:
    payment: Payment | None = None
    instructions: PaymentInstructions | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CancelPaidOrderInput:
    order_id: strawberry.ID


@strawberry.type(description="Codes: NOT_FOUND, INVALID_TRANSITION (not paid, or shipped), AFTERSALE_IN_PROGRESS.")
class CancelPaidOrderPayload:
    refund: Refund | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="A provider's notification as received, and what applying it did.")
class PaymentNotification:
    id: strawberry.ID
    provider: str
    kind: str
    provider_txn_id: str
    status: str = strawberry.field(description="RECEIVED, APPLIED, FLAGGED (for review), REFUNDED_LATE, IGNORED.")
    outcome: str
    body: JSON
    received_at: datetime
    applied_at: datetime | None


@strawberry.type
class PaymentQuery:
    @strawberry.field(permission_classes=[IsAdmin], description=(
        "Back office: notifications newest first, e.g. `status: \"FLAGGED\"` — amount mismatches and unknown "
        "payments, stored and never applied."))
    async def payment_notifications(self, info: Info, status: str | None = None, first: int = 20,
                                    after: str | None = None) -> Connection[PaymentNotification]:
        first = page_size(first)
        rows = await read(info, lambda conn: callbacks.notifications(conn, status, after_id(after), first + 1))
        return connection_of(rows, first, after, lambda r: PaymentNotification(
            id=_gid("PaymentNotification", r["id"]), provider=r["provider"], kind=r["kind"],
            provider_txn_id=r["provider_txn_id"], status=r["status"], outcome=r["outcome"], body=r["body"],
            received_at=r["received_at"], applied_at=r["applied_at"]))

    @strawberry.field(permission_classes=[IsAuthenticated], description="A payment of the caller's (admins: any).")
    async def payment(self, info: Info, id: strawberry.ID) -> Payment:
        principal = info.context.principal
        if not (principal.is_buyer or principal.is_admin):
            raise PublicError("payment not found", "NOT_FOUND")
        return Payment.from_row(await read(info, lambda conn: cashier.payment_for(
            conn, input_pk("Payment", id, "id"), principal.id if principal.is_buyer else None)))


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Open a payment for the caller's unpaid payment order and get what the client needs to pay it."))
    async def create_payment(self, info: Info, input: CreatePaymentInput) -> CreatePaymentPayload:
        ctx = info.context
        try:
            payment_order_id = input_pk("PaymentOrder", input.payment_order_id, "paymentOrderId")
            opened = await cashier.create_payment(ctx.db, ctx.principal.id, payment_order_id, input.channel.value,
                                                  datetime.now(UTC), ctx.settings, ctx.request.app.state.http)
        except DomainError as exc:
            return CreatePaymentPayload(user_errors=user_errors(exc))
        return CreatePaymentPayload(
            payment=Payment.from_row(opened.payment),
            instructions=PaymentInstructions(provider=opened.payment["provider"],
                                             transaction_id=opened.transaction.txn_id,
                                             pay_url=opened.transaction.pay_url))

    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Cancel a paid order that has not shipped (REFUND_ONLY): its payable is refunded and its stock released; "
        "the order shows as an after-sale until the refund succeeds, then it is CLOSED."))
    async def cancel_paid_order(self, info: Info, input: CancelPaidOrderInput) -> CancelPaidOrderPayload:
        refund, errors = await change(info, lambda conn, who: refunds.cancel_paid_order(
            conn, who.id, input_pk("Order", input.order_id, "orderId")))
        if errors:
            return CancelPaidOrderPayload(user_errors=errors)
        await jobs.enqueue_refund(info.context.redis, refund["id"])
        return CancelPaidOrderPayload(refund=Refund.from_row(refund))
