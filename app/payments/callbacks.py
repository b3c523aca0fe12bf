"""Applying stored provider notifications (DOMAIN §7) — exactly one effect each.

`apply_batch` claims the RECEIVED notifications no other worker holds (`SKIP LOCKED`, the job's
own first) and applies the common case — a success for a pending payment order, amount right —
set-based: one statement per step for the whole batch, so a burst of callbacks costs a few
statements per hundred, not a dozen per callback. Everything else goes through
`apply_notification` one by one, in the same transaction.

The notification row is locked first and applied only while RECEIVED, so a job that runs twice,
a job racing the sweeper, or a worker killed half-way (its transaction rolls back) all end with
one effect. Then locks go payment order → payment → orders, the order the payment-timeout job
(app.orders.service.cancel_one_due) and every other order path take, so no two of them deadlock.

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

from app.credit import PROVIDER as CREDIT_PROVIDER
from app.credit import payments as credit
from app.events import emit
from app.ledger import postings as ledger
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


async def apply_batch(conn: asyncpg.Connection, first_id: int, now: datetime, limit: int = 200) -> dict[int, Outcome]:
    """Apply up to `limit` RECEIVED notifications, `first_id` first if still waiting; their
    outcomes by notification id (empty: nothing was waiting)."""
    claimed = await conn.fetch(
        "SELECT * FROM payment_notifications WHERE status = 'RECEIVED'"
        " ORDER BY id = $1 DESC, id LIMIT $2 FOR UPDATE SKIP LOCKED", first_id, limit)
    if not claimed:
        return {}
    quick, slow = await _split(conn, claimed)
    outcomes: dict[int, Outcome] = {}
    for provider in sorted({n["provider"] for n, _ in quick}):
        batch = [(n, p) for n, p in quick if n["provider"] == provider]
        await conn.execute(
            "UPDATE payments p SET status = 'SUCCEEDED', provider_txn_id = t.txn, succeeded_at = $3"
            " FROM unnest($1::bigint[], $2::text[]) AS t(id, txn) WHERE p.id = t.id",
            [p["id"] for _, p in batch], [n["provider_txn_id"] for n, _ in batch], now)
        await ledger.capture(conn, [(p["id"], p["amount"]) for _, p in batch], now)
        await orders.mark_paid_many(conn, [(p["payment_order_id"], p["id"]) for _, p in batch], now,
                                    f"provider:{provider}")
        if provider == CREDIT_PROVIDER:
            for _, p in batch:
                await credit.succeeded(conn, p["id"], now)
        await conn.execute("UPDATE payment_notifications SET status = 'APPLIED', outcome = 'PAID', applied_at = $2"
                           " WHERE id = ANY($1::bigint[])", [n["id"] for n, _ in batch], now)
        outcomes.update({n["id"]: Outcome("APPLIED", True) for n, _ in batch})
    for n in slow:
        outcomes[n["id"]] = await apply_notification(conn, n["id"], now)
    return outcomes


async def _split(conn: asyncpg.Connection, claimed: list[asyncpg.Record]
                 ) -> tuple[list[tuple[asyncpg.Record, asyncpg.Record]], list[asyncpg.Record]]:
    """The successes that pay a pending payment order as expected (with their payment), and the
    rest. The payment orders are locked in id order (the order every batch takes them in)."""
    wanted = {n["id"]: reference_id(n["body"].get("reference")) for n in claimed
              if n["kind"] == "PAYMENT" and n["body"].get("status") == "SUCCESS"}
    payments = {r["id"]: r for r in await conn.fetch(
        "SELECT id, provider, amount, status, payment_order_id FROM payments WHERE id = ANY($1::bigint[])",
        [p for p in wanted.values() if p is not None])}
    # refunds of one payment order confirmed in two batches at once would each lock its orders
    # and cases in their own order: their payment orders are locked here too, in the same order
    refunded = await conn.fetch(
        "SELECT DISTINCT p.payment_order_id FROM refunds r JOIN payments p ON p.id = r.payment_id"
        " WHERE r.id = ANY($1::bigint[])",
        [r for r in (reference_id(n["body"].get("refund_reference")) for n in claimed if n["kind"] == "REFUND")
         if r is not None])
    pending = {r["id"] for r in await conn.fetch(
        "SELECT id, status FROM payment_orders WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        sorted({p["payment_order_id"] for p in payments.values()} | {r["payment_order_id"] for r in refunded}))
        if r["status"] == "PENDING_PAYMENT"}
    quick, slow, paying = [], [], set()
    for n in claimed:
        p = payments.get(wanted.get(n["id"]))
        if (p is not None and p["provider"] == n["provider"] and p["status"] != "SUCCEEDED"
                and same_amount(n["body"].get("amount"), p["amount"]) and p["payment_order_id"] in pending
                and p["payment_order_id"] not in paying):
            paying.add(p["payment_order_id"])
            quick.append((n, p))
        else:
            slow.append(n)
    return quick, slow


async def notifications(conn: asyncpg.Connection, status: str | None, after_id: int | None,
                        limit: int) -> list[asyncpg.Record]:
    """For the back office, newest first: e.g. the FLAGGED ones to review."""
    return await conn.fetch(
        "SELECT * FROM payment_notifications WHERE ($1::text IS NULL OR status = $1)"
        " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3", status, after_id, limit)


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
    payment_id = reference_id(body.get("reference"))
    payment = payment_id and await conn.fetchrow(
        "SELECT p.id, p.amount, po.id AS payment_order_id, po.status AS payment_order_status"
        " FROM payments p JOIN payment_orders po ON po.id = p.payment_order_id"
        " WHERE p.id = $1 AND p.provider = $2 FOR UPDATE OF po", payment_id, n["provider"])
    if not payment_id or not payment:
        return "FLAGGED", f"UNKNOWN_PAYMENT: no payment {body.get('reference')!r}", None
    if not same_amount(body.get("amount"), payment["amount"]):
        return "FLAGGED", f"AMOUNT_MISMATCH: paid {body.get('amount')!r}, payment is {payment['amount']}", None
    succeeded = await conn.fetchval(
        "UPDATE payments SET status = 'SUCCEEDED', provider_txn_id = $2, succeeded_at = $3"
        " WHERE id = $1 AND status <> 'SUCCEEDED' RETURNING id", payment_id, n["provider_txn_id"], now)
    if succeeded is None:
        return "FLAGGED", f"ALREADY_SUCCEEDED: payment {payment_id} had succeeded before", None
    # in clearing whatever happens next: split onto merchants when it pays, refunded from here when late
    await ledger.capture(conn, [(payment_id, payment["amount"])], now)
    po_status = payment["payment_order_status"]
    if po_status == "PENDING_PAYMENT" and await orders.mark_paid(conn, payment["payment_order_id"], now, actor,
                                                                 payment_id):
        if n["provider"] == CREDIT_PROVIDER:
            await credit.succeeded(conn, payment_id, now)
        return "APPLIED", "PAID", None
    reason = "LATE_PAYMENT" if po_status == "CANCELLED" else "DUPLICATE_PAYMENT"
    refund = await refunds.request_refund(conn, payment_id, None, payment["amount"], reason,
                                          f"late-payment:{payment_id}")
    return "REFUNDED_LATE", f"{reason}: payment order was {po_status}; refund {refund['id']}", refund["id"]


async def _apply_refund(conn: asyncpg.Connection, n: asyncpg.Record, now: datetime,
                        actor: str) -> tuple[str, str, int | None]:
    body = n["body"]
    refund_id = reference_id(body.get("refund_reference"))
    payment_order_id = refund_id and await conn.fetchval(
        "SELECT p.payment_order_id FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1", refund_id)
    if payment_order_id:       # payment order first, like every path (a batch locked it already)
        await orders.lock_payment_order(conn, payment_order_id)
    refund = refund_id and await conn.fetchrow(
        "SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = $1 AND p.provider = $2"
        " FOR UPDATE OF r", refund_id, n["provider"])
    if not refund:
        return "FLAGGED", f"UNKNOWN_REFUND: no refund {body.get('refund_reference')!r}", None
    if body.get("status") != "SUCCESS":
        return "FLAGGED", f"REFUND_NOT_SUCCESSFUL: status {body.get('status')!r}", None
    if not same_amount(body.get("amount"), refund["amount"]):
        return "FLAGGED", f"AMOUNT_MISMATCH: refunded {body.get('amount')!r}, refund is {refund['amount']}", None
    if refund["status"] != "PENDING":
        return "FLAGGED", f"ALREADY_SETTLED: refund {refund_id} is {refund['status']}", None
    await refunds.settle_refund(conn, refund, n["provider_txn_id"], now, actor)
    return "APPLIED", "REFUNDED", None


def reference_id(value) -> int | None:
    """Our id as the provider echoes it back (a decimal string)."""
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) <= 18 else None


def same_amount(value, expected: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == expected
