"""Refunds (DOMAIN §7): back to the original payment, asynchronously, confirmed by the
provider's refund callback, and never more than was paid.

`payments.refunded_amount` counts every refund requested and not failed, and its CHECK keeps it
at most the payment's amount: the guard holds when the money is promised, not when it leaves, so
two concurrent requests can never promise more than was paid. An order's own `refunded_amount`
and payment status move only when the provider confirms.
"""

from datetime import UTC, datetime

import asyncpg
import httpx

from app.aftersale import cases as aftersale
from app.config import Settings
from app.credit import PROVIDER as CREDIT_PROVIDER
from app.credit import payments as credit
from app.credit import repayments as credit_repayments
from app.db import Database
from app.errors import DomainError
from app.events import emit
from app.ledger import postings as ledger
from app.orders import service as orders
from app.payments.errors import PaymentError
from app.payments.gateway import gateway_for


async def request_refund(conn: asyncpg.Connection, payment_id: int, order_id: int | None, amount: int, reason: str,
                         idempotency_key: str, after_sale_id: int | None = None) -> asyncpg.Record:
    """A PENDING refund of `amount` of a succeeded payment (for `order_id`, or None for a whole
    late payment); the same key returns the refund already requested. The caller enqueues
    `submit_refund` after committing (the refund sweeper catches a lost enqueue)."""
    payment = await conn.fetchrow("SELECT * FROM payments WHERE id = $1 FOR UPDATE", payment_id)
    existing = await conn.fetchrow("SELECT * FROM refunds WHERE idempotency_key = $1", idempotency_key)
    if existing is not None:
        if existing["payment_id"] != payment_id or existing["amount"] != amount:
            raise DomainError.of(PaymentError.IDEMPOTENCY_KEY_REUSED, "this refund key was used for another refund")
        return existing
    if payment is None or payment["status"] != "SUCCEEDED":
        raise DomainError.of(PaymentError.NOT_REFUNDABLE, "only a succeeded payment can be refunded")
    if amount <= 0:
        raise DomainError.of(PaymentError.INVALID_AMOUNT, "a refund is a positive amount of cents", "amount")
    if payment["refunded_amount"] + amount > payment["amount"]:
        raise DomainError.of(PaymentError.REFUND_EXCEEDS_PAYMENT,
                             f"at most {payment['amount'] - payment['refunded_amount']} cents are left to refund",
                             "amount")
    await conn.execute("UPDATE payments SET refunded_amount = refunded_amount + $2 WHERE id = $1", payment_id, amount)
    return await conn.fetchrow(
        "INSERT INTO refunds (payment_id, order_id, amount, reason, idempotency_key, after_sale_id)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *", payment_id, order_id, amount, reason, idempotency_key,
        after_sale_id)


async def submit_refund(db: Database, settings: Settings, http: httpx.AsyncClient, refund_id: int) -> bool:
    """Send a pending refund to its payment's provider, which dedupes on our refund id, so
    sending twice refunds once. False when there is nothing to send; raises ProviderUnavailable
    to be retried. No transaction is held while the provider answers."""
    row = await db.fetchrow("SELECT r.id, r.amount, p.provider, p.provider_txn_id FROM refunds r JOIN payments p"
                            " ON p.id = r.payment_id WHERE r.id = $1 AND r.status = 'PENDING'", refund_id)
    if row is None:
        return False
    if row["provider"] == CREDIT_PROVIDER:
        return await _refund_on_credit(db, refund_id)
    gateway = gateway_for(settings, row["provider"], http)
    provider_refund_id = await gateway.create_refund(row["provider_txn_id"], row["id"], row["amount"])
    await db.fetchval("UPDATE refunds SET provider_refund_id = $2 WHERE id = $1 AND provider_refund_id IS NULL",
                      refund_id, provider_refund_id)
    return True


async def _refund_on_credit(db: Database, refund_id: int) -> bool:
    """The credit system is its own provider: it lowers the loan (or releases the frozen amount)
    and confirms at once, in one transaction — the refund settles as a provider's callback would
    settle it. Locks go payment order → refund, like the callbacks."""
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        po = await conn.fetchval("SELECT p.payment_order_id FROM refunds r JOIN payments p ON p.id = r.payment_id"
                                 " WHERE r.id = $1", refund_id)
        await orders.lock_payment_order(conn, po)
        refund = await conn.fetchrow("SELECT * FROM refunds WHERE id = $1 AND status = 'PENDING' FOR UPDATE", refund_id)
        if refund is None:
            return False
        await credit.refunded(conn, refund["payment_id"], refund_id, refund["amount"], now)
        await settle_refund(conn, refund, f"credit-refund-{refund_id}", now, f"provider:{CREDIT_PROVIDER}")
    return True


async def unsubmitted_refunds(conn: asyncpg.Connection, created_before: datetime, limit: int = 100) -> list[int]:
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM refunds WHERE status = 'PENDING' AND provider_refund_id IS NULL AND created_at < $1"
        " ORDER BY id LIMIT $2", created_before, limit)]


async def settle_refund(conn: asyncpg.Connection, refund: asyncpg.Record, provider_refund_id: str, now: datetime,
                        actor: str) -> None:
    """The provider confirmed `refund` (locked, PENDING): it succeeds, its order, if any, counts
    the money back — PARTIALLY_REFUNDED, or REFUNDED and then CLOSED — and the after-sale that
    asked for it, if any, is REFUNDED."""
    await conn.execute("UPDATE refunds SET status = 'SUCCEEDED', settled_at = $2,"
                       " provider_refund_id = COALESCE(provider_refund_id, $3) WHERE id = $1",
                       refund["id"], now, provider_refund_id)
    await emit(conn, "payment", "REFUND_SUCCEEDED", {"refund_id": refund["id"], "payment_id": refund["payment_id"],
                                                     "order_id": refund["order_id"], "amount": refund["amount"]})
    if refund["order_id"] is not None:
        await orders.count_refund(conn, refund["order_id"], refund["amount"], now, actor, refund["reason"])
    # after count_refund locked the order: a settlement run settles its lines before or after, never during
    await ledger.post_refund(conn, refund, now)
    if refund["after_sale_id"] is not None:
        await aftersale.refund_settled(conn, refund["after_sale_id"], now, actor)
    if refund["reason"] == "OVERPAYMENT_RETURNED":
        await credit_repayments.overpayment_refund_settled(conn, refund, now)


async def cancel_paid_order(conn: asyncpg.Connection, buyer_id: int, order_id: int) -> asyncpg.Record:
    """The buyer's REFUND_ONLY cancellation of a paid, unshipped order: the order's rule is
    app/orders (`cancel_paid`), the refund of its payable is ours. Returns the refund."""
    async def refund(payment_id: int, amount: int) -> asyncpg.Record:
        return await request_refund(conn, payment_id, order_id, amount, "BUYER_CANCELLED",
                                    f"cancel-paid-order:{order_id}")
    return await orders.cancel_paid(conn, buyer_id, order_id, refund)
