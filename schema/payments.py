"""GraphQL for payments (DOMAIN §7): the cashier's `createPayment`, reading a payment, the
buyer's REFUND_ONLY `cancelPaidOrder`, and the back office's review of flagged provider
notifications. The rules live in app/payments/."""

from datetime import UTC, datetime
from enum import Enum
from typing import TypeAlias

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.credit.errors import CreditApprovalError
from app.orders.errors import OrderError
from app.payments import callbacks, cashier, jobs, refunds, reviews
from app.payments.errors import PaymentError
from schema.context import Info
from schema.errors import user_error_type
from schema.ids import gid, input_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsAuthenticated, IsBuyer
from schema.pricing import PaymentChannel
from schema.scalars import Money

# cancelPaidOrder passes on the order's refusals (AFTERSALE_IN_PROGRESS, VIRTUAL_NO_AFTERSALE);
# createPayment with CREDIT the credit system's (OVERDUE_BILLS, INSUFFICIENT_LIMIT, …)
PaymentUserError = user_error_type("Payment", PaymentError, OrderError, CreditApprovalError)


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
        return cls(id=gid("Payment", row["id"]), payment_order_id=gid("PaymentOrder", row["payment_order_id"]),
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
        return cls(id=gid("Refund", row["id"]), payment_id=gid("Payment", row["payment_id"]),
                   order_id=gid("Order", row["order_id"]), amount=row["amount"], reason=row["reason"],
                   status=RefundStatus(row["status"]), created_at=row["created_at"], settled_at=row["settled_at"])


@strawberry.input
class CreatePaymentInput:
    payment_order_id: strawberry.ID
    channel: PaymentChannel
    installment_periods: int | None = strawberry.field(
        default=None, description="CREDIT only: 3, 6, 9 or 12, one of checkoutPreview's installmentPlans.")


@strawberry.type(description="Codes: NOT_FOUND, CHANNEL_NOT_AVAILABLE, CHANNEL_MISMATCH, PAYMENT_ORDER_NOT_PAYABLE, "
                             "PAYMENT_ORDER_EXPIRED, NOTHING_TO_PAY, PROVIDER_UNAVAILABLE; with CREDIT, in this "
                             "order: INSTALLMENT_PERIODS_REQUIRED, NO_CREDIT_LINE, CREDIT_REFUSED, OVERDUE_BILLS, "
                             "INSUFFICIENT_LIMIT, PLAN_NOT_AVAILABLE (a CREDIT payment succeeds at once).")
class CreatePaymentPayload:
    payment: Payment | None = None
    instructions: PaymentInstructions | None = None
    user_errors: list[PaymentUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.input
class CancelPaidOrderInput:
    order_id: strawberry.ID


@strawberry.type(description="Codes: NOT_FOUND, INVALID_TRANSITION (not paid, or shipped), AFTERSALE_IN_PROGRESS, "
                             "VIRTUAL_NO_AFTERSALE (a virtual top-up has no after-sale).")
class CancelPaidOrderPayload:
    refund: Refund | None = None
    user_errors: list[PaymentUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A provider's notification as received, and what applying it did.")
class PaymentNotification:
    id: strawberry.ID
    provider: str
    kind: str
    provider_txn_id: str
    status: str = strawberry.field(description="RECEIVED, APPLIED, FLAGGED (for review), REFUNDED_LATE, IGNORED; "
                                               "a flagged one once resolved: APPLIED, REFUNDED or DISMISSED.")
    outcome: str
    body: JSON
    received_at: datetime
    applied_at: datetime | None

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "PaymentNotification":
        return cls(id=gid("PaymentNotification", r["id"]), provider=r["provider"], kind=r["kind"],
                   provider_txn_id=r["provider_txn_id"], status=r["status"], outcome=r["outcome"], body=r["body"],
                   received_at=r["received_at"], applied_at=r["applied_at"])


NotificationResolution: TypeAlias = reviews.Resolution  # registered as the GraphQL enum just below
strawberry.enum(reviews.Resolution, name="NotificationResolution", description=(
    "APPLY: the notification pays its payment order after all (only when its amount is the payable and the payment "
    "order is still pending); REFUND: its money is sent back through a refund; DISMISS: nothing to do."))


@strawberry.input
class ResolvePaymentNotificationInput:
    id: strawberry.ID
    action: NotificationResolution
    note: str = strawberry.field(description="Why, for the audit trail (1 to 500 characters).")


@strawberry.type(description="Codes: NOT_FOUND, INVALID_TRANSITION (not flagged, or resolved already), NOTE_REQUIRED, "
                             "NOT_APPLICABLE (the action is not safe for this notification; the message says why).")
class ResolvePaymentNotificationPayload:
    notification: PaymentNotification | None = None
    refund: Refund | None = None
    user_errors: list[PaymentUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class PaymentQuery:
    @strawberry.field(permission_classes=[IsAdmin], description=(
        "Back office: notifications newest first, e.g. `status: \"FLAGGED\"` — amount mismatches and unknown "
        "payments, stored and never applied until resolved with resolvePaymentNotification."))
    async def payment_notifications(self, info: Info, status: str | None = None, first: int = 20,
                                    after: str | None = None) -> Connection[PaymentNotification]:
        async def act(conn) -> Connection[PaymentNotification]:
            size = page_size(first)
            rows = await callbacks.notifications(conn, status, after_id(after), size + 1)
            return connection_of(rows, size, after, PaymentNotification.from_row)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAuthenticated], description="A payment of the caller's (admins: any).")
    async def payment(self, info: Info, id: strawberry.ID) -> Payment:
        return Payment.from_row(await query(info, lambda conn: cashier.payment_for(
            conn, info.context.caller, input_pk("Payment", id, "id"))))


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Open a payment for the caller's unpaid payment order and get what the client needs to pay it."))
    async def create_payment(self, info: Info, input: CreatePaymentInput) -> CreatePaymentPayload:
        ctx = info.context

        async def act(db, who) -> cashier.OpenedPayment:     # commits before the provider is called
            return await cashier.create_payment(
                db, who.id, input_pk("PaymentOrder", input.payment_order_id, "paymentOrderId"), input.channel.value,
                datetime.now(UTC), ctx.settings, ctx.http, input.installment_periods)
        return await mutate(info, CreatePaymentPayload, act, lambda opened: CreatePaymentPayload(
            payment=Payment.from_row(opened.payment),
            instructions=PaymentInstructions(provider=opened.payment["provider"],
                                             transaction_id=opened.transaction.txn_id,
                                             pay_url=opened.transaction.pay_url)), transaction=False)

    @strawberry.mutation(permission_classes=[IsBuyer], description=(
        "Cancel a paid order that has not shipped (REFUND_ONLY): its payable is refunded and its stock released; "
        "the order shows as an after-sale until the refund succeeds, then it is CLOSED. Not for virtual goods."))
    async def cancel_paid_order(self, info: Info, input: CancelPaidOrderInput) -> CancelPaidOrderPayload:
        async def present(refund: asyncpg.Record) -> CancelPaidOrderPayload:
            await jobs.enqueue_refund(info.context.redis, refund["id"])
            return CancelPaidOrderPayload(refund=Refund.from_row(refund))
        return await mutate(info, CancelPaidOrderPayload, lambda conn, who: refunds.cancel_paid_order(
            conn, who.id, input_pk("Order", input.order_id, "orderId")), present)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Back office: resolve a FLAGGED provider notification once — APPLY, REFUND or DISMISS — with a note; who, "
        "when, the note and the outcome are kept (payment_notification_reviews)."))
    async def resolve_payment_notification(self, info: Info,
                                           input: ResolvePaymentNotificationInput) -> ResolvePaymentNotificationPayload:
        async def act(conn, who) -> tuple[asyncpg.Record, asyncpg.Record | None]:
            notification, refund_id = await reviews.resolve(
                conn, who.subject, input_pk("PaymentNotification", input.id, "id"), reviews.Resolution(input.action),
                input.note, datetime.now(UTC))
            refund = None if refund_id is None else await conn.fetchrow("SELECT * FROM refunds WHERE id = $1",
                                                                          refund_id)
            return notification, refund

        async def present(result: tuple[asyncpg.Record, asyncpg.Record | None]) -> ResolvePaymentNotificationPayload:
            notification, refund = result
            if refund is not None:
                await jobs.enqueue_refund(info.context.redis, refund["id"])
            return ResolvePaymentNotificationPayload(notification=PaymentNotification.from_row(notification),
                                                     refund=None if refund is None else Refund.from_row(refund))
        return await mutate(info, ResolvePaymentNotificationPayload, act, present)
