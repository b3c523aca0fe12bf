"""The back office's review of FLAGGED provider notifications (DOMAIN §7): an admin resolves
each one once, and the review is on record — who, when, the note, the outcome.

- APPLY: the notification pays its payment order after all. Only when it is safe: a successful
  payment notification for a known payment, of exactly the payment order's payable, while the
  payment order is still pending and no payment holds its provider transaction.
- REFUND: the money the notification reports is sent back through the refund primitive
  (`refunds.request_refund`): it is recorded as a succeeded payment of its own (its provider
  transaction, its amount) and refunded whole. Not when a payment already holds that transaction
  (that money is accounted for: refunding it would refund the genuine payment).
- DISMISS: nothing to do (a forged or corrupt notification, settled outside).
"""

from datetime import UTC, datetime
from enum import StrEnum

import asyncpg

from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.ledger import postings as ledger
from app.orders import service as orders
from app.payments import refunds
from app.payments.callbacks import reference_id, same_amount
from app.payments.errors import PaymentError


class Resolution(StrEnum):
    APPLY = "APPLY"
    REFUND = "REFUND"
    DISMISS = "DISMISS"


# the notification's status after each resolution
RESOLVED_STATUS = {Resolution.APPLY: "APPLIED", Resolution.REFUND: "REFUNDED", Resolution.DISMISS: "DISMISSED"}


async def resolve(conn: asyncpg.Connection, reviewer: str, notification_id: int, action: Resolution, note: str,
                  now: datetime) -> tuple[asyncpg.Record, int | None]:
    """Resolve a flagged notification; returns it as it is now and the refund to submit to the
    provider once committed (REFUND), if any."""
    note = note.strip()
    if not 1 <= len(note) <= 500:
        raise DomainError.of(PaymentError.NOTE_REQUIRED, "say why, in 1 to 500 characters", "note")
    n = await conn.fetchrow("SELECT * FROM payment_notifications WHERE id = $1 FOR UPDATE", notification_id)
    if n is None:
        raise NotFound.of(CommonError.NOT_FOUND, "notification not found", "id")
    if n["status"] != "FLAGGED":
        raise DomainError.of(CommonError.INVALID_TRANSITION,
                             f"only a flagged notification is resolved; this one is {n['status']}", "id")
    refund_id = None
    if action is Resolution.APPLY:
        outcome = await _apply(conn, n, reviewer, now)
    elif action is Resolution.REFUND:
        refund_id, outcome = await _refund(conn, n)
    else:
        outcome = "DISMISSED"
    outcome = f"{outcome} (was {n['outcome']})"
    resolved = await conn.fetchrow(
        "UPDATE payment_notifications SET status = $2, outcome = $3, applied_at = $4 WHERE id = $1 RETURNING *",
        notification_id, RESOLVED_STATUS[action], outcome, now)
    await conn.execute("INSERT INTO payment_notification_reviews (notification_id, action, note, outcome, reviewer,"
                       " refund_id, reviewed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       notification_id, action.value, note, outcome, reviewer, refund_id, now)
    await emit(conn, "payment", "PAYMENT_NOTIFICATION_RESOLVED",
               {"notification_id": notification_id, "action": action.value, "outcome": outcome,
                "reviewer": reviewer, "refund_id": refund_id})
    return resolved, refund_id


async def _payment_of(conn: asyncpg.Connection, n: asyncpg.Record) -> asyncpg.Record:
    """The payment a successful payment notification names, its payment order locked; and no
    payment may hold the notification's provider transaction already."""
    body = n["body"]
    payment_id = reference_id(body.get("reference"))
    if n["kind"] != "PAYMENT" or body.get("status") != "SUCCESS" or payment_id is None:
        raise _not_applicable("only a successful payment notification for a known payment")
    payment = await conn.fetchrow(
        "SELECT p.*, po.status AS payment_order_status, po.payable FROM payments p"
        " JOIN payment_orders po ON po.id = p.payment_order_id WHERE p.id = $1 AND p.provider = $2 FOR UPDATE",
        payment_id, n["provider"])
    if payment is None:
        raise _not_applicable(f"there is no payment {payment_id}")
    if await conn.fetchval("SELECT 1 FROM payments WHERE provider = $1 AND provider_txn_id = $2",
                           n["provider"], n["provider_txn_id"]):
        raise _not_applicable("a payment holds this provider transaction already: dismiss this notification")
    return payment


async def _apply(conn: asyncpg.Connection, n: asyncpg.Record, reviewer: str, now: datetime) -> str:
    payment = await _payment_of(conn, n)
    if not same_amount(n["body"].get("amount"), payment["payable"]):
        raise _not_applicable(f"the amount {n['body'].get('amount')!r} is not the payable {payment['payable']}")
    if payment["status"] == "SUCCEEDED" or payment["payment_order_status"] != "PENDING_PAYMENT":
        raise _not_applicable(f"the payment order is {payment['payment_order_status']}: refund it instead")
    await conn.execute("UPDATE payments SET status = 'SUCCEEDED', provider_txn_id = $2, succeeded_at = $3"
                       " WHERE id = $1", payment["id"], n["provider_txn_id"], now)
    await ledger.capture(conn, [(payment["id"], payment["amount"])], now)
    await orders.mark_paid(conn, payment["payment_order_id"], now, reviewer, payment["id"])
    return "PAID"


async def _refund(conn: asyncpg.Connection, n: asyncpg.Record) -> tuple[int, str]:
    payment = await _payment_of(conn, n)
    amount = n["body"].get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise _not_applicable(f"the amount {amount!r} is not a positive number of cents")
    received = await conn.fetchval(
        "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level, status, provider_txn_id,"
        " succeeded_at) SELECT payment_order_id, provider, channel, $2, auth_level, 'SUCCEEDED', $3, now()"
        " FROM payments WHERE id = $1 RETURNING id", payment["id"], amount, n["provider_txn_id"])
    await ledger.capture(conn, [(received, amount)], datetime.now(UTC), paying=False)
    refund = await refunds.request_refund(conn, received, None, amount, "FLAGGED_PAYMENT",
                                          f"flagged-notification:{n['id']}")
    return refund["id"], f"REFUND_REQUESTED: refund {refund['id']}"


def _not_applicable(why: str) -> DomainError:
    return DomainError.of(PaymentError.NOT_APPLICABLE, why, "action")
