"""Exactly one effect per payment: 1,000 sandbox callbacks with 30% duplicates, shuffled and
jittered over real HTTP, applied by two real burst workers at once; and the payment-timeout job
racing late success callbacks — every payment order ends either paid, or cancelled with its
payment refunded, never both and never neither."""

import asyncio
import random
from datetime import timedelta

from tests.payments.helpers import (
    add_payment,
    make_goods,
    new_buyer,
    payment_worker,
    place,
    run_jobs,
    sandbox_pay,
    settle_refunds,
)
from workers.orders import cancel_overdue_payment_orders
from workers.payments import apply_payment_notification

PAYMENTS = 1000


async def _unpaid_many(db, settings, n: int, expires_in=timedelta(minutes=30)) -> list[tuple[int, int, int]]:
    """(payment order, payment, amount) for `n` one-order payment orders of 1–5 units."""
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    made = []
    async with db.transaction() as conn:
        for i in range(n):
            units = 1 + i % 5
            po = await place(conn, goods, buyer.id, [units], expires_in=expires_in)
            made.append((po, await add_payment(conn, po), units * 100))
    return made


async def test_a_thousand_callbacks_with_duplicates_have_one_effect_each(http, db, settings):
    made = await _unpaid_many(db, settings, PAYMENTS)
    payment_ids = [p for _, p, _ in made]
    batch = await sandbox_pay(http, settings, [(p, a) for _, p, a in made], duplicate_ratio=0.3,
                              concurrency=16, jitter_ms=200)
    assert batch["deliveries"] == PAYMENTS + 300
    stored = await db.fetchval("SELECT count(*) FROM payment_notifications WHERE body->>'reference' = ANY($1)",
                               [str(p) for p in payment_ids])
    assert stored == PAYMENTS

    workers = [payment_worker(settings, db) for _ in range(2)]
    try:
        done = await asyncio.gather(*(w.run_check() for w in workers))
    finally:
        for w in workers:
            await w.close()
    assert sum(done) == PAYMENTS

    pos = [po for po, _, _ in made]
    assert await db.fetchval("SELECT count(*) FROM payment_notifications WHERE body->>'reference' = ANY($1)"
                             " AND status = 'APPLIED'", [str(p) for p in payment_ids]) == PAYMENTS
    assert await db.fetchval("SELECT count(*) FROM payments WHERE id = ANY($1) AND status = 'SUCCEEDED'",
                             payment_ids) == PAYMENTS
    assert await db.fetchval("SELECT count(*) FROM payment_orders WHERE id = ANY($1) AND status = 'PAID'"
                             " AND paid_by_payment_id IS NOT NULL", pos) == PAYMENTS
    orders = [r["id"] for r in await db.fetch("SELECT id FROM orders WHERE payment_order_id = ANY($1)", pos)]
    assert len(orders) == PAYMENTS
    for sql in ("SELECT count(*) FROM order_status_history WHERE order_id = ANY($1) AND to_status = 'PAID'",
                "SELECT count(*) FROM outbox WHERE event_type = 'ORDER_PAID' AND (payload->>'order_id')::bigint = ANY($1)",
                "SELECT count(*) FROM shipments WHERE order_id = ANY($1)",
                "SELECT count(*) FROM orders WHERE id = ANY($1) AND status = 'PAID' AND payment_status = 'PAID'"):
        assert await db.fetchval(sql, orders) == PAYMENTS, sql
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE payment_id = ANY($1)", payment_ids) == 0


async def test_timeout_racing_late_success_is_paid_or_cancelled_and_refunded(http, db, settings, redis):
    made = await _unpaid_many(db, settings, 60, expires_in=timedelta(seconds=-1))
    by_payment = {p: (po, amount) for po, p, amount in made}
    await sandbox_pay(http, settings, [(p, a) for _, p, a in made])
    notifications = [r["id"] for r in await db.fetch(
        "SELECT id FROM payment_notifications WHERE body->>'reference' = ANY($1) AND status = 'RECEIVED'",
        [str(p) for p in by_payment])]
    assert len(notifications) == len(made)

    ctx = {"db": db, "settings": settings, "redis": redis}
    random.shuffle(notifications)
    half = len(notifications) // 2
    racers = [apply_payment_notification(ctx, n) for n in notifications[:half]]
    racers += [cancel_overdue_payment_orders(ctx)]
    racers += [apply_payment_notification(ctx, n) for n in notifications[half:]]
    await asyncio.gather(*racers)

    late = [r["id"] for r in await db.fetch("SELECT id FROM refunds WHERE payment_id = ANY($1)", list(by_payment))]
    await run_jobs(settings, db)
    if late:
        await settle_refunds(settings, db, late)
    outcomes = {"paid": 0, "refunded": 0}
    for payment, (po, amount) in by_payment.items():
        row = await db.fetchrow("SELECT status, paid_by_payment_id FROM payment_orders WHERE id = $1", po)
        refunds = await db.fetch("SELECT amount, status FROM refunds WHERE payment_id = $1", payment)
        orders = {r["status"] for r in await db.fetch("SELECT status FROM orders WHERE payment_order_id = $1", po)}
        assert await db.fetchval("SELECT status FROM payments WHERE id = $1", payment) == "SUCCEEDED"
        if row["status"] == "PAID":
            assert row["paid_by_payment_id"] == payment and refunds == [] and orders == {"PAID"}
            outcomes["paid"] += 1
        else:
            assert row["status"] == "CANCELLED" and orders == {"CANCELLED"}
            assert [(r["amount"], r["status"]) for r in refunds] == [(amount, "SUCCEEDED")]
            outcomes["refunded"] += 1
    assert sum(outcomes.values()) == len(made)
    print("timeout race outcomes:", outcomes)
