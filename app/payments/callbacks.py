"""Applying a stored provider notification (DOMAIN §7) — one transaction, exactly one effect.

The notification row is locked first and applied only while RECEIVED, so a job that runs twice,
a job racing the sweeper, or a worker killed half-way (its transaction rolls back) all end with
one effect. Then locks go payment order → payment → orders, the order the payment-timeout job
(app.orders.service.cancel_due) and every other order path take, so no two of them deadlock.

Outcomes (the notification's status):
- APPLIED: the payment paid its pending payment order, or a refund was confirmed.
- REFUNDED_LATE: the payment succeeded for a payment order already cancelled (timeout) or paid
  by another payment; the money is refunded automatically.
- FLAGGED: unknown payment or refund, amount mismatch, a second success for one payment, a
  refund that failed — stored for review, nothing applied.
- IGNORED: a non-success payment status (the buyer has not paid; the order waits or times out).
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.events import emit
from app.orders import service as orders
from app.payments import refunds


@dataclass(frozen=True)
class Outcome:
    status: str                   # the notification's status after this call
    applied_now: bool             # False: it had been applied before (or does not exist)
    refund_id: int | None = None  # a refund to submit to the provider once committed


async def apply_notification(conn: asyncpg.Connection, notification_id: int, now: datetime) -> Outcome:
    n = await conn.fetchrow("SELECT * FROM payment_notifications WHERE id = $1 FOR UPDATE", notification_id)
    if n is None or n["status"] != "RECEIVED":
        return Outcome(n["status"] if n else "MISSING", False)
    actor = f"provider:{n['provider']}"
    apply = _apply_payment if n["kind"] == "PAYMENT" else _apply_refund
    status, outcome, refund_id = await apply(conn, n, now, actor)
    await conn.execute("UPDATE payment_notifications SET status = $2, outcome = $3, applied_at = $4 WHERE id = $1",
                       notification_id, status, outcome, now)
    if status == "FLAGGED":
        await emit(conn, "payment", "PAYMENT_NOTIFICATION_FLAGGED",
                   {"notification_id": notification_id, "provider": n["provider"], "kind": n["kind"],
                    "provider_txn_id": n["provider_txn_id"], "outcome": outcome})
    return Outcome(status, True, refund_id)


async def received_notifications(conn: asyncpg.Connection, received_before: datetime, limit: int) -> list[int]:
    """Notifications still waiting to be applied (a lost enqueue, a killed worker)."""
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM payment_notifications WHERE status = 'RECEIVED' AND received_at < $1 ORDER BY id LIMIT $2",
        received_before, limit)]


async def _apply_payment(conn: asyncpg.Connection, n: asyncpg.Record, now: datetime,
                         actor: str) -> tuple[str, str, int | None]:
    body = n["body"]
    if body.get("status") != "SUCCESS":
        return "IGNORED", f"payment status {body.get('status')!r}", None
    payment_id = _reference(body.get("reference"))
    payment = payment_id and await conn.fetchrow(
        "SELECT p.id, p.amount, po.id AS payment_order_id, po.status AS payment_order_status"
        " FROM payments p JOIN payment_orders po ON po.id = p.payment_order_id"
        " WHERE p.id = $1 AND p.provider = $2 FOR UPDATE OF po", payment_id, n["provider"])
    if not payment:
        return "FLAGGED", f"UNKNOWN_PAYMENT: no payment {body.get('reference')!r}", None
    if not _same_amount(body.get("amount"), payment["amount"]):
        return "FLAGGED", f"AMOUNT_MISMATCH: paid {body.get('amount')!r}, payment is {payment['amount']}", None
    succeeded = await conn.fetchval(
        "UPDATE payments SET status = 'SUCCEEDED', provider_txn_id = $2, succeeded_at = $3"
        " WHERE id = $1 AND status <> 'SUCCEEDED' RETURNING id", payment_id, n["provider_txn_id"], now)
    if succeeded is None:
        return "FLAGGED", f"ALREADY_SUCCEEDED: payment {payment_id} had succeeded before", None
    po_status = payment["payment_order_status"]
    if po_status == "PENDING_PAYMENT" and await orders.mark_paid(conn, payment["payment_order_id"], now, actor,
                                                                 payment_id):
        return "APPLIED", "PAID", None
    reason = "LATE_PAYMENT" if po_status == "CANCELLED" else "DUPLICATE_PAYMENT"
    refund = await refunds.request_refund(conn, payment_id, None, payment["amount"], reason,
                                          f"late-payment:{payment_id}")
    return "REFUNDED_LATE", f"{reason}: payment order was {po_status}; refund {refund['id']}", refund["id"]


async def _apply_refund(conn: asyncpg.Connection, n: asyncpg.Record, now: datetime,
                        actor: str) -> tuple[str, str, int | None]:
    body = n["body"]
    refund_id = _reference(body.get("refund_reference"))
    refund = refund_id and await conn.fetchrow(
        "SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1 AND p.provider = $2"
        " FOR UPDATE OF r", refund_id, n["provider"])
    if not refund:
        return "FLAGGED", f"UNKNOWN_REFUND: no refund {body.get('refund_reference')!r}", None
    if body.get("status") != "SUCCESS":
        return "FLAGGED", f"REFUND_NOT_SUCCESSFUL: status {body.get('status')!r}", None
    if not _same_amount(body.get("amount"), refund["amount"]):
        return "FLAGGED", f"AMOUNT_MISMATCH: refunded {body.get('amount')!r}, refund is {refund['amount']}", None
    if refund["status"] != "PENDING":
        return "FLAGGED", f"ALREADY_SETTLED: refund {refund_id} is {refund['status']}", None
    await refunds.settle_refund(conn, refund, n["provider_txn_id"], now, actor)
    return "APPLIED", "REFUNDED", None


def _reference(value) -> int | None:
    """Our id as the provider echoes it back (a decimal string)."""
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) <= 18 else None


def _same_amount(value, expected: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == expected
