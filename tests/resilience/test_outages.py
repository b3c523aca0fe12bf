"""Payments keep streaming in while Redis is stopped for 10 s, then while PostgreSQL is cut off
for 20 s: the same worker process (never restarted) and the API apply every one of them once the
server is back. Slow by nature (~50 s for both): the outage lengths are the point of the test.

Each run prints its numbers (payments streamed, applied, seconds to recover after the server
came back); `pytest -s tests/resilience` shows them."""

import asyncio
import re
import time

from tests.payments.helpers import add_payment, make_goods, new_buyer, place, sandbox_batch

PAYMENTS = 400
WAIT = 90  # seconds after the outage, generous for a loaded machine


async def make_payments(db, settings, n: int) -> list[int]:
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        return [await add_payment(conn, await place(conn, goods, buyer.id, [1])) for _ in range(n)]


async def applied(db, payment_ids: list[int]) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM payments p JOIN payment_orders po ON po.id = p.payment_order_id"
        " WHERE p.id = ANY($1) AND po.status = 'PAID'", payment_ids)


async def stream_payments(http, settings, payment_ids: list[int], spread_ms: int) -> None:
    """The sandbox provider pays them all, each callback at a random moment within `spread_ms`
    (plus 20% duplicate callbacks), retrying a callback the API does not acknowledge."""
    response = await sandbox_batch(http, settings.sandbox_provider_secret, {
        "duplicate_ratio": 0.2, "jitter_ms": spread_ms, "concurrency": 32,
        "payments": [{"reference": str(p), "amount": 100, "channel": "WECHAT"} for p in payment_ids]})
    assert response.status_code == 200, response.text


async def until(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := await predicate():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def outage_warnings(log: str) -> dict[str, int]:
    """How many times each component said an outage began."""
    found = re.findall(r"\] ([a-z ]+): a server is unreachable", log)
    return {component: found.count(component) for component in set(found)}


async def ride_out(db, http, settings, worker, outage_seconds: float, take_away, bring_back, what: str):
    payment_ids = await make_payments(db, settings, PAYMENTS)
    await stream_payments(http, settings, payment_ids, spread_ms=int((outage_seconds + 4) * 1000))
    await until(lambda: _at_least(db, payment_ids, PAYMENTS // 20), 30, "the first payments to be applied")
    log_before = len(worker.log())
    await take_away()
    during = await applied(db, payment_ids)
    await asyncio.sleep(outage_seconds)
    await bring_back()
    back = time.monotonic()
    await until(lambda: _all(db, payment_ids), WAIT, f"every payment to be applied after the {what} outage")
    recovered = time.monotonic() - back
    assert worker.proc.poll() is None, worker.log()[-3000:]
    orders = [r["id"] for r in await db.fetch(
        "SELECT o.id FROM orders o JOIN payments p ON p.payment_order_id = o.payment_order_id WHERE p.id = ANY($1)",
        payment_ids)]
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = ANY($1)"
                             " AND to_status = 'PAID'", orders) == PAYMENTS

    async def relayed():   # the relay is back too: every ORDER_PAID event was published
        return await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'ORDER_PAID' AND published_at IS NOT"
                                 " NULL AND (payload->>'order_id')::bigint = ANY($1)", orders) == PAYMENTS
    await until(relayed, WAIT, "every ORDER_PAID event to be relayed")
    said = worker.log()[log_before:]
    warnings = outage_warnings(said)
    assert warnings and all(count == 1 for count in warnings.values()), said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    print(f"\n{what} outage of {outage_seconds:.0f} s: {PAYMENTS} payments streamed, {during} applied when it "
          f"began, {await applied(db, payment_ids)} applied in the end, all applied {recovered:.1f} s after "
          f"the server was back; worker said {warnings}")


async def _all(db, payment_ids):
    return await applied(db, payment_ids) == len(payment_ids)


async def _at_least(db, payment_ids, n: int):
    return await applied(db, payment_ids) >= n


async def test_a_10_second_redis_outage_loses_no_payment(db, http, settings, worker, redis_server):
    async def stop():
        redis_server.stop()

    async def start():
        redis_server.start()
    await ride_out(db, http, settings, worker, 10, stop, start, "Redis")


async def test_a_20_second_postgresql_outage_loses_no_payment(db, http, settings, worker, pg_proxy):
    await ride_out(db, http, settings, worker, 20, pg_proxy.cut, pg_proxy.restore, "PostgreSQL")
