"""Buying a paid top-up from its supplier (DOMAIN §6 VIRTUAL), idempotent on the order.

`advance(order)` is the whole job, safe to run any number of times, concurrently or after a
crash, because the purchase row decides:
1. a purchase row per order (unique) is written, with its supplier and its deadline, before any
   HTTP; its id is the idempotency key the supplier dedupes on;
2. the attempt is counted in a short transaction, then the supplier is called with no
   transaction held: a purchase never tried is bought; one tried before (its answer lost,
   unknown, or still processing) is first queried by its key, and bought again — with the same
   key — only if the supplier says it never got it. So the account is recharged at most once;
3. the answer is applied under the order's locks (payment order, order, purchase):
   SUCCEEDED ⇒ the order is delivered (RECEIVED, then COMPLETED; app/orders); FAILED, or no
   success by the deadline ⇒ EXPIRED, a full refund through app/payments (reason TOPUP_FAILED,
   key `topup:<order id>`), and the order CLOSED when the refund succeeds; anything else ⇒
   UNKNOWN, re-queried after a backoff (`Progress.retry_in`; the sweeper catches lost retries).
Each end emits TOPUP_SUCCEEDED / TOPUP_FAILED on topic "fulfilment" for the order's merchant.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import httpx

from app.config import Settings
from app.db import Database
from app.events import emit
from app.orders import service as orders
from app.payments import refunds
from app.topup import supplier as api
from app.topup.errors import TopupError
from app.topup.supplier import Answer, Outcome

TOPIC = "fulfilment"
REFUND_REASON = "TOPUP_FAILED"
OPEN = ("PENDING", "UNKNOWN")
MAX_BACKOFF_SECONDS = 30.0
# which virtual SKU of the order maps to what code at which REALTIME_API supplier: the first
# active supplier whose contract covers every virtual line of the order
_SUPPLIER = """
    SELECT s.id, s.endpoint_url, s.secret FROM suppliers s
     WHERE s.kind = 'REALTIME_API' AND s.status = 'ACTIVE'
       AND NOT EXISTS (SELECT 1 FROM order_lines l JOIN products p ON p.id = l.product_id
                        WHERE l.order_id = $1 AND p.fulfillment_type = 'VIRTUAL'
                          AND NOT EXISTS (SELECT 1 FROM supplier_skus ss
                                           WHERE ss.supplier_id = s.id AND ss.sku_id = l.sku_id))
     ORDER BY s.id LIMIT 1
"""


@dataclass(frozen=True)
class Progress:
    status: str | None                  # the purchase's status after this step; None: not a paid top-up
    refund_id: int | None = None        # a refund to enqueue after the commit
    retry_in: float | None = None       # seconds until the unknown outcome is re-queried


def backoff(attempts: int) -> float:
    """0.5, 1, 2, 4 … seconds, at most MAX_BACKOFF_SECONDS."""
    return min(0.25 * 2 ** attempts, MAX_BACKOFF_SECONDS)


async def advance(db: Database, settings: Settings, http: httpx.AsyncClient, order_id: int,
                  now: datetime) -> Progress:
    async with db.transaction() as conn:
        opened = await _open(conn, settings, order_id, now)
    if isinstance(opened, Progress):
        return opened
    purchase = opened
    async with db.transaction() as conn:
        attempt = await conn.fetchrow(
            "UPDATE topup_purchases SET attempts = attempts + 1, attempted_at = $2 WHERE id = $1"
            " AND status = ANY($3::text[]) RETURNING attempts", purchase["id"], now, list(OPEN))
        if attempt is None:                     # finished meanwhile by a concurrent run
            return Progress(await conn.fetchval("SELECT status FROM topup_purchases WHERE id = $1", purchase["id"]))
        who = await conn.fetchrow("SELECT id, endpoint_url, secret FROM suppliers WHERE id = $1",
                                  purchase["supplier_id"])
        items = [api.Item(r["supplier_sku_code"], r["quantity"]) for r in await conn.fetch(
            "SELECT ss.supplier_sku_code, sum(l.quantity)::int AS quantity FROM order_lines l"
            " JOIN supplier_skus ss ON ss.sku_id = l.sku_id AND ss.supplier_id = $2"
            " WHERE l.order_id = $1 GROUP BY 1 ORDER BY 1", order_id, purchase["supplier_id"])]
    asked = time.monotonic()
    answer = await _ask(http, settings, api.Supplier(who["id"], who["endpoint_url"], who["secret"]), purchase,
                        items, first=purchase["attempts"] == 0, late=now >= purchase["deadline_at"])
    answered_at = now + timedelta(seconds=time.monotonic() - asked)     # when the supplier answered
    async with db.transaction() as conn:
        return await _apply(conn, purchase["id"], answer, attempt["attempts"], answered_at)


async def _open(conn: asyncpg.Connection, settings: Settings, order_id: int,
                now: datetime) -> asyncpg.Record | Progress:
    """The order's purchase, written now if it has none (a paid top-up only). An order no
    contract covers fails at once, before any HTTP. A finished purchase is its Progress."""
    purchase = await conn.fetchrow("SELECT * FROM topup_purchases WHERE order_id = $1", order_id)
    if purchase is None:
        order = await orders.lock_paid_order(conn, order_id)
        if order is None or order["recharge_account"] is None or not await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM order_lines l JOIN products p ON p.id = l.product_id"
                " WHERE l.order_id = $1 AND p.fulfillment_type = 'VIRTUAL')", order_id):
            return Progress(None)
        supplier_id = await conn.fetchval(_SUPPLIER, order_id)
        purchase = await conn.fetchrow(
            "INSERT INTO topup_purchases (order_id, supplier_id, account, deadline_at, created_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING RETURNING *",
            order_id, supplier_id, order["recharge_account"],
            order["paid_at"] + timedelta(seconds=settings.topup_deadline_seconds), now)
        if purchase is None:   # a concurrent run wrote it: take that one
            purchase = await conn.fetchrow("SELECT * FROM topup_purchases WHERE order_id = $1", order_id)
        elif supplier_id is None:
            return await _fail(conn, order, purchase, "FAILED", TopupError.NO_SUPPLIER, now)
    if purchase["status"] not in OPEN:
        return Progress(purchase["status"])
    return purchase


async def _ask(http: httpx.AsyncClient, settings: Settings, supplier: api.Supplier, purchase: asyncpg.Record,
               items: list[api.Item], first: bool, late: bool) -> Answer:
    """Buy a purchase never tried; query one tried before, and buy it (same key) only if the
    supplier never got it — unless the deadline passed: then nothing new is bought."""
    key = str(purchase["id"])
    if first and not late:
        return await api.buy(http, settings, supplier, key, purchase["account"], items)
    answer = await api.query(http, settings, supplier, key)
    if answer.outcome is Outcome.NOT_FOUND and not late:
        return await api.buy(http, settings, supplier, key, purchase["account"], items)
    return answer


async def _apply(conn: asyncpg.Connection, purchase_id: int, answer: Answer, attempts: int,
                 now: datetime) -> Progress:
    order_id = await conn.fetchval("SELECT order_id FROM topup_purchases WHERE id = $1", purchase_id)
    order = await orders.lock_paid_order(conn, order_id)       # payment order, order, then the purchase
    purchase = await conn.fetchrow("SELECT * FROM topup_purchases WHERE id = $1 FOR UPDATE", purchase_id)
    if purchase["status"] not in OPEN:
        return Progress(purchase["status"])
    if answer.outcome is Outcome.SUCCEEDED:
        await conn.execute("UPDATE topup_purchases SET status = 'SUCCEEDED', supplier_ref = $2, finished_at = $3,"
                           " last_error = NULL WHERE id = $1", purchase_id, answer.supplier_ref, now)
        if order is not None:
            await orders.deliver_virtual(conn, order_id, now, "system:topup", purchase["account"])
        await _event(conn, "TOPUP_SUCCEEDED", purchase, "SUCCEEDED", None, answer.supplier_ref)
        return Progress("SUCCEEDED")
    if answer.outcome is Outcome.FAILED:
        return await _fail(conn, order, purchase, "FAILED", TopupError.SUPPLIER_REFUSED, now, answer.detail)
    if now >= purchase["deadline_at"]:
        return await _fail(conn, order, purchase, "EXPIRED", TopupError.DEADLINE_PASSED, now, answer.detail)
    retry_in = min(backoff(attempts), max((purchase["deadline_at"] - now).total_seconds(), 0.0))
    await conn.execute("UPDATE topup_purchases SET status = 'UNKNOWN', last_error = $2, retry_at = $3 WHERE id = $1",
                       purchase_id, f"{TopupError.SUPPLIER_UNREACHABLE}: {answer.outcome} {answer.detail}".strip(),
                       now + timedelta(seconds=retry_in))
    return Progress("UNKNOWN", retry_in=retry_in)


async def _fail(conn: asyncpg.Connection, order: asyncpg.Record | None, purchase: asyncpg.Record, status: str,
                why: TopupError, now: datetime, detail: str = "") -> Progress:
    """Not recharged: the purchase ends, the order (if still paid) is refunded in full."""
    await conn.execute("UPDATE topup_purchases SET status = $2, last_error = $3, finished_at = $4 WHERE id = $1",
                       purchase["id"], status, f"{why}: {detail}".rstrip(": "), now)
    refund_id = None
    if order is not None:
        async def refund(payment_id: int, amount: int) -> asyncpg.Record:
            return await refunds.request_refund(conn, payment_id, order["id"], amount, REFUND_REASON,
                                                f"topup:{order['id']}")
        refunded = await orders.refund_undelivered(conn, order, now, "system:topup", REFUND_REASON, refund)
        refund_id = None if refunded is None else refunded["id"]
    await _event(conn, "TOPUP_FAILED", purchase, status, why, None, refund_id)
    return Progress(status, refund_id=refund_id)


async def _event(conn: asyncpg.Connection, event_type: str, purchase: asyncpg.Record, status: str,
                 why: TopupError | None, supplier_ref: str | None, refund_id: int | None = None) -> None:
    order_id = purchase["order_id"]
    merchant_id = await conn.fetchval("SELECT merchant_id FROM orders WHERE id = $1", order_id)
    await emit(conn, TOPIC, event_type,
               {"order_id": order_id, "purchase_id": purchase["id"], "supplier_id": purchase["supplier_id"],
                "status": status,
                "reason": None if why is None else why.value, "supplier_ref": supplier_ref, "refund_id": refund_id},
               merchant_id=merchant_id)


async def due_orders(conn: asyncpg.Connection, before: datetime, limit: int = 200) -> list[tuple[int, int]]:
    """(order id, attempts so far) of the work a lost job left: open purchases not retried since
    `before`, and paid top-ups paid before then with no purchase at all."""
    rows = await conn.fetch(
        "(SELECT order_id, attempts FROM topup_purchases WHERE status = ANY($3::text[])"
        "   AND coalesce(retry_at, created_at) < $1 ORDER BY coalesce(retry_at, created_at) LIMIT $2)"
        " UNION ALL"
        " (SELECT o.id, -1 FROM orders o WHERE o.status = 'PAID' AND o.paid_at < $1 AND o.recharge_account IS NOT NULL"
        "   AND NOT EXISTS (SELECT 1 FROM topup_purchases t WHERE t.order_id = o.id)"
        "   AND EXISTS (SELECT 1 FROM order_lines l JOIN products p ON p.id = l.product_id"
        "               WHERE l.order_id = o.id AND p.fulfillment_type = 'VIRTUAL') ORDER BY o.paid_at LIMIT $2)",
        before, limit, list(OPEN))
    return [(r["order_id"], r["attempts"]) for r in rows]
