"""A real `ecom worker` process is killed with SIGKILL while it applies payment callbacks, then a
new one is started: every payment is applied exactly once. The killed transaction rolls back;
its arq job stays "in progress" until its key expires (job timeout + 10 s), and the sweeper cron
of the new worker applies the notification well before that."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.jobs import WAIT
from tests.payments.helpers import add_payment, make_goods, new_buyer, place, sandbox_pay

PAYMENTS = 2000    # a worker applies up to 200 per transaction: enough batches to be killed among them
ECOM = str(Path(sys.executable).parent / "ecom")


def start_worker(settings) -> subprocess.Popen:
    env = {**os.environ, "ENV": "test", "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "PUBLIC_BASE_URL": settings.base_url, "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([ECOM, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def applied(db, references: list[str]) -> int:
    return await db.fetchval("SELECT count(*) FROM payment_notifications WHERE body->>'reference' = ANY($1)"
                             " AND status <> 'RECEIVED'", references)


async def test_killed_worker_then_restarted_applies_every_payment_once(http, db, settings):
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        made = []
        for _ in range(PAYMENTS):
            po = await place(conn, goods, buyer.id, [1])
            made.append((po, await add_payment(conn, po)))
    references = [str(p) for _, p in made]
    await sandbox_pay(http, settings, [(p, 100) for _, p in made], duplicate_ratio=0.3, concurrency=16)

    worker = start_worker(settings)
    try:
        for _ in range(WAIT * 200):
            if await applied(db, references) or worker.poll() is not None:   # the first batch is in
                break
            await asyncio.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(WAIT)
    finally:
        if worker.poll() is None:
            worker.kill()
    at_kill = await applied(db, references)
    assert 0 < at_kill < PAYMENTS, f"the worker should die half-way, {at_kill} applied ({worker.stderr.read()[-2000:]})"

    restarted = start_worker(settings)
    try:
        for _ in range(WAIT * 20):
            if await applied(db, references) == PAYMENTS:
                break
            assert restarted.poll() is None, restarted.stderr.read()[-2000:]
            await asyncio.sleep(0.1)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(WAIT)

    pos = [po for po, _ in made]
    assert await applied(db, references) == PAYMENTS
    assert await db.fetchval("SELECT count(*) FROM payment_notifications WHERE body->>'reference' = ANY($1)"
                             " AND status = 'APPLIED'", references) == PAYMENTS
    assert await db.fetchval("SELECT count(*) FROM payment_orders WHERE id = ANY($1) AND status = 'PAID'",
                             pos) == PAYMENTS
    orders = [r["id"] for r in await db.fetch("SELECT id FROM orders WHERE payment_order_id = ANY($1)", pos)]
    for sql in ("SELECT count(*) FROM order_status_history WHERE order_id = ANY($1) AND to_status = 'PAID'",
                "SELECT count(*) FROM outbox WHERE event_type = 'ORDER_PAID' AND (payload->>'order_id')::bigint = ANY($1)",
                "SELECT count(*) FROM shipments WHERE order_id = ANY($1)"):
        assert await db.fetchval(sql, orders) == PAYMENTS, sql
