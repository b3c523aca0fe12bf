"""The order timeout crons (workers/orders.py): overdue payment orders are cancelled exactly once
even with two workers running the job at the same moment, giving their stock back; shipped orders
past the auto-confirm window are received once; received orders past the review window complete once."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.promotions.inputs import buyer_facts
from tests.payments.helpers import make_goods, new_buyer, place
from workers.orders import auto_confirm_receipts, cancel_overdue_payment_orders, complete_received_orders


async def test_overdue_payment_orders_are_cancelled_once_by_concurrent_jobs(db, settings):
    goods = await make_goods(db, merchants=2, on_hand=1000)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        overdue = [await place(conn, goods, buyer.id, [1, 2], expires_in=timedelta(seconds=-1)) for _ in range(250)]
        waiting = await place(conn, goods, buyer.id, [1, 1])
    ctx = {"db": db, "settings": settings}
    cancelled = await asyncio.gather(cancel_overdue_payment_orders(ctx), cancel_overdue_payment_orders(ctx))
    assert sum(cancelled) == 250
    assert await cancel_overdue_payment_orders(ctx) == 0

    assert await db.fetchval("SELECT count(*) FROM payment_orders WHERE id = ANY($1) AND status = 'CANCELLED'",
                             overdue) == 250
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", waiting) == "PENDING_PAYMENT"
    orders = [r["id"] for r in await db.fetch("SELECT id FROM orders WHERE payment_order_id = ANY($1)", overdue)]
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = ANY($1)"
                             " AND to_status = 'CANCELLED' AND actor = 'system:timeout'", orders) == 500
    reserved = {r["sku_id"]: r["reserved"] for r in await db.fetch(
        "SELECT sku_id, reserved FROM stock WHERE sku_id = ANY($1)", [s.sku for s in goods.shops])}
    assert reserved == {goods.shops[0].sku: 1, goods.shops[1].sku: 1}      # only the waiting order holds stock


async def test_shipped_orders_are_received_after_the_auto_confirm_window(db, settings):
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        pos = [await place(conn, goods, buyer.id, [1]) for _ in range(2)]
    days = settings.auto_confirm_days
    old, recent = [await db.fetchval("SELECT id FROM orders WHERE payment_order_id = $1", po) for po in pos]
    for order, shipped_at in ((old, datetime.now(UTC) - timedelta(days=days, minutes=1)),
                              (recent, datetime.now(UTC) - timedelta(days=days - 1))):
        await db.fetchval("UPDATE orders SET status = 'SHIPPED', payment_status = 'PAID', logistics_status = 'SHIPPED',"
                          " shipped_at = $2 WHERE id = $1", order, shipped_at)
    ctx = {"db": db, "settings": settings}
    assert sum(await asyncio.gather(auto_confirm_receipts(ctx), auto_confirm_receipts(ctx))) == 1
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", old) == "RECEIVED"
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", recent) == "SHIPPED"
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = $1"
                             " AND actor = 'system:auto-confirm'", old) == 1


async def test_received_orders_complete_after_the_review_window_and_the_buyer_is_no_longer_new(db, settings):
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        pos = [await place(conn, goods, buyer.id, [1]) for _ in range(3)]
    days = settings.review_window_days
    old, recent, disputed = [await db.fetchval("SELECT id FROM orders WHERE payment_order_id = $1", po) for po in pos]
    for order, received_at, aftersale in ((old, datetime.now(UTC) - timedelta(days=days, minutes=1), "NONE"),
                                          (recent, datetime.now(UTC) - timedelta(days=days - 1), "NONE"),
                                          (disputed, datetime.now(UTC) - timedelta(days=days + 1), "IN_PROGRESS")):
        await db.fetchval("UPDATE orders SET status = 'RECEIVED', payment_status = 'PAID', logistics_status = 'SIGNED',"
                          " received_at = $2, aftersale_status = $3 WHERE id = $1", order, received_at, aftersale)
    async with db.connection() as conn:
        assert (await buyer_facts(conn, buyer.id)).is_new_user
    ctx = {"db": db, "settings": settings}
    assert sum(await asyncio.gather(complete_received_orders(ctx), complete_received_orders(ctx))) == 1
    assert [await db.fetchval("SELECT status FROM orders WHERE id = $1", o) for o in (old, recent, disputed)] == \
        ["COMPLETED", "RECEIVED", "RECEIVED"]
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = $1"
                             " AND to_status = 'COMPLETED' AND actor = 'system:review-window'", old) == 1
    async with db.connection() as conn:
        assert not (await buyer_facts(conn, buyer.id)).is_new_user
