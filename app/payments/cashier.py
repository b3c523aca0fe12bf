"""The cashier (收银台, DOMAIN §7): a buyer opens a payment for their unpaid payment order with a
channel; risk decides the authentication the buyer must pass; the provider's transaction is
created over its HTTP API and the client is told how to pay it.

A payment is one attempt: paying twice makes two payments, and the callbacks decide — the first
success pays the payment order, any other success is refunded (app/payments/callbacks.py).
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import httpx

from app.auth.principal import Principal
from app.config import Settings
from app.credit import PROVIDER as CREDIT_PROVIDER
from app.credit import payments as credit
from app.credit.errors import CreditApprovalError
from app.db import Database
from app.errors import CommonError, DomainError, NotFound
from app.payments import callbacks, refunds
from app.payments.errors import PaymentError
from app.payments.gateway import ProviderTransaction, ProviderUnavailable, current_provider, gateway_for
from app.payments.webhooks import store_notification
from app.risk import rules as risk

PAYABLE_CHANNELS = ("WECHAT", "ALIPAY", "BANK_CARD")   # through the payment provider; CREDIT through ours


@dataclass(frozen=True)
class OpenedPayment:
    payment: asyncpg.Record
    transaction: ProviderTransaction


async def create_payment(db: Database, buyer_id: int, payment_order_id: int, channel: str, now: datetime,
                         settings: Settings, http: httpx.AsyncClient,
                         installment_periods: int | None = None) -> OpenedPayment:
    """The payment row is committed before the provider is called (its id is the provider's
    reference); a provider failure closes it again and answers PROVIDER_UNAVAILABLE. CREDIT goes
    to the credit system instead (`_pay_on_credit`)."""
    if channel == "CREDIT":
        return await _pay_on_credit(db, buyer_id, payment_order_id, installment_periods, now, settings, http)
    provider = current_provider(settings)
    async with db.transaction() as conn:
        payment = await open_payment(conn, buyer_id, payment_order_id, channel, now, provider)
    try:
        txn = await gateway_for(settings, provider, http).create_transaction(payment["id"], payment["amount"], channel,
                                                                             payment["auth_level"])
    except ProviderUnavailable:
        await db.fetchval("UPDATE payments SET status = 'CLOSED' WHERE id = $1 AND status = 'CREATED'", payment["id"])
        raise DomainError.of(PaymentError.PROVIDER_UNAVAILABLE, "the payment provider is not answering; try again") from None
    return OpenedPayment(payment, txn)


async def _pay_on_credit(db: Database, buyer_id: int, payment_order_id: int, periods: int | None, now: datetime,
                         settings: Settings, http: httpx.AsyncClient) -> OpenedPayment:
    """The credit system approves in real time and freezes the amount with the payment row; its
    success is stored in the same transaction and applied like any provider's callback (the
    worker's sweeper applies it if this process dies first), so orders, fulfilment and merchants see a payment
    like any other. A refusal is logged and answered with its reason."""
    try:
        async with db.transaction() as conn:      # approval, freeze and its success commit together:
            payment = await open_payment(conn, buyer_id, payment_order_id, "CREDIT", now, CREDIT_PROVIDER)
            await credit.approve(conn, payment, buyer_id, periods, now)
            txn_id = f"credit-{payment['id']}"    # a crash after it leaves the success to the sweeper
            notification_id = await store_notification(conn, CREDIT_PROVIDER, {
                "type": "PAYMENT", "txn_id": txn_id, "reference": str(payment["id"]), "status": "SUCCESS",
                "amount": payment["amount"]})
    except DomainError as exc:
        if isinstance(exc.problems[0].code, CreditApprovalError):
            async with db.transaction() as conn:
                await credit.log_decision(conn, buyer_id, None, "DENY", exc.problems[0].code.value, now,
                                          {"payment_order_id": payment_order_id})
        raise
    if notification_id is not None:
        async with db.transaction() as conn:
            outcome = await callbacks.apply_notification(conn, notification_id, now)
        if outcome.refund_id is not None:       # the order was paid or cancelled meanwhile: released
            await refunds.submit_refund(db, settings, http, outcome.refund_id)
    payment = await db.fetchrow("SELECT * FROM payments WHERE id = $1", payment["id"])
    return OpenedPayment(payment, ProviderTransaction(txn_id, ""))


async def open_payment(conn: asyncpg.Connection, buyer_id: int, payment_order_id: int, channel: str,
                       now: datetime, provider: str | None) -> asyncpg.Record:
    """Check the payment order can be paid with `channel` by this buyer, decide and log the
    authentication level, and write the CREATED payment."""
    if (channel not in PAYABLE_CHANNELS and channel != "CREDIT") or provider is None:
        raise DomainError.of(PaymentError.CHANNEL_NOT_AVAILABLE, f"paying with {channel} is not available", "channel")
    po = await conn.fetchrow("SELECT * FROM payment_orders WHERE id = $1", payment_order_id)
    if po is None or po["buyer_id"] != buyer_id:
        raise NotFound.of(CommonError.NOT_FOUND, "payment order not found", "paymentOrderId")
    if po["status"] != "PENDING_PAYMENT":
        raise DomainError.of(PaymentError.PAYMENT_ORDER_NOT_PAYABLE, f"this payment order is {po['status'].lower()}",
                             "paymentOrderId")
    if po["expires_at"] <= now:
        raise DomainError.of(PaymentError.PAYMENT_ORDER_EXPIRED, "the time to pay this payment order is over", "paymentOrderId")
    if po["payable"] <= 0:
        raise DomainError.of(PaymentError.NOTHING_TO_PAY, "this payment order has nothing to pay", "paymentOrderId")
    if po["payment_channel"] and po["payment_channel"] != channel and await _has_payment_discount(conn, po["id"]):
        raise DomainError.of(PaymentError.CHANNEL_MISMATCH, f"this payment order was priced with a {po['payment_channel']} "
                             "payment discount; pay with that channel or place the order again", "channel")
    decision = risk.payment_auth_level(po["payable"], await risk.recent_denials(conn, buyer_id, now))
    await risk.record(conn, "PAYMENT", buyer_id, decision)
    return await conn.fetchrow(
        "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level) VALUES ($1, $2, $3, $4, $5)"
        " RETURNING *", po["id"], provider, channel, po["payable"], decision.detail["level"])


async def _has_payment_discount(conn: asyncpg.Connection, payment_order_id: int) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id"
        " JOIN order_line_shares s ON s.order_line_id = l.id"
        " WHERE o.payment_order_id = $1 AND s.level = 'PAYMENT' AND s.amount > 0)", payment_order_id)


async def payment_for(conn: asyncpg.Connection, principal: Principal, payment_id: int) -> asyncpg.Record:
    """A payment its buyer or an admin may read; anyone else gets NOT_FOUND (merchant staff's
    view stops at their own orders)."""
    row = await conn.fetchrow("SELECT p.*, po.buyer_id FROM payments p JOIN payment_orders po"
                              " ON po.id = p.payment_order_id WHERE p.id = $1", payment_id)
    mine = principal.is_buyer and row is not None and row["buyer_id"] == principal.id
    if row is None or not (mine or principal.is_admin):
        raise NotFound.of(CommonError.NOT_FOUND, "payment not found", "id")
    return row
