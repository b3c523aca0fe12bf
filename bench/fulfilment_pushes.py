"""Fulfilment pushes per second (issue 9 "Must measure"): one `ecom worker` pushing N shipments to
a sandbox partner that answers in 50 ms (target ≥ 500/s), along the real path: the outbox relay
publishes the paid orders' ORDER_PAID events and its reactions start `push_shipments` jobs of
`FULFILMENT_PUSH_BATCH` shipments each (workers/fulfilment.py), each pushing its shipments
concurrently over the worker's one shared httpx client.

    ADMIN_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/fulfilment_pushes.py --shipments 5000 [--latency-ms 50] [--api-workers 2] \\
        [--push-batch 100] [--out bench/results/…txt]

A fresh database `ecom_bench_pushes` (migrated) gets N paid one-line orders with a PENDING
WAREHOUSE shipment each, at a warehouse whose endpoint is the sandbox partner `bench`, written
with SQL (`next_push_at` an hour ahead, so the sweeper leaves them alone: only the events push);
a real `ecom serve` (its sandbox partner told by a signed control call to answer in
`--latency-ms` and to send no notices, so only pushes are measured); then the N orders'
ORDER_PAID outbox events, as `mark_paid_many` writes them, and one `ecom worker`, whose relay
starts the pushes. The rate is N over the span between the first and the last `accepted_at`,
so the worker's start-up is not counted (the relay's work after the first push is). The run
checks that every shipment is ACCEPTED and that the partner made exactly N parcels, and reports
the CPU each side spent per push (Linux /proc: the worker, relay included; the API processes,
i.e. the partner; PostgreSQL and Redis are not counted) from the first push to the last — on a
2-core machine, the sum is the limit.
"""

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import DEV_PARTNER_SECRET, Settings  # noqa: E402
from app.signing import signed_headers  # noqa: E402
from bench._procs import ecom_env, free_port, fresh_database, start, stop, wait_http  # noqa: E402

DATABASE = "ecom_bench_pushes"
PARTNER = "bench"





async def seed(url: str, n: int, secret: str) -> int:
    """`n` PENDING WAREHOUSE shipments of paid one-line orders; returns the merchant."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ('13900000043', 'x')"
                                        " RETURNING id")
            merchant = await conn.fetchval("INSERT INTO merchants (name, kind) VALUES ('bench', 'SELF_OPERATED')"
                                           " RETURNING id")
            category = await conn.fetchval("INSERT INTO backend_categories (name) VALUES ('bench') RETURNING id")
            warehouse = await conn.fetchval(
                "INSERT INTO warehouses (merchant_id, name, endpoint_url, secret, partner_code)"
                " VALUES ($1, 'bench', $2, $3, $4) RETURNING id", merchant, f"sandbox://fulfilment/{PARTNER}", secret,
                PARTNER)
            product = await conn.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type,"
                                          " status) VALUES ($1, $2, 'bench', 'WAREHOUSE', 'LISTED') RETURNING id",
                                          merchant, category)
            sku = await conn.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, 'B1', 100)"
                                      " RETURNING id", product, merchant)
            await conn.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand, reserved) VALUES ($1, $2, $3, $3)",
                               sku, warehouse, n)
            await conn.execute(
                """
                WITH po AS (
                    INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,
                                                shipping_total, payable, pricing, expires_at, status, paid_at)
                    SELECT $1, 'bench-pushes-' || g, 'bench', 100, 0, 0, 100, '{}', now() + interval '1 day', 'PAID',
                           now()
                    FROM generate_series(1, $2) g RETURNING id),
                o AS (
                    INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping,
                                        payable, status, payment_status, paid_at, address)
                    SELECT id, $1, $3, 100, 0, 0, 100, 'PAID', 'PAID', now(),
                           '{"receiver": "bench", "phone": "13900000043", "region_code": "310104", "detail": "x"}'
                    FROM po RETURNING id),
                l AS (
                    INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,
                                             goods_amount, paid_amount)
                    SELECT id, $4, $5, 'bench', 1, 1, 100, 100, 100, 100 FROM o RETURNING id, order_id),
                r AS (
                    INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)
                    SELECT id, $4, $6, 1 FROM l),
                s AS (
                    INSERT INTO shipments (order_id, merchant_id, warehouse_id, kind, next_push_at)
                    SELECT order_id, $3, $6, 'WAREHOUSE', now() + interval '1 hour' FROM l ORDER BY order_id
                    RETURNING id, order_id),
                sl AS (
                    INSERT INTO shipment_lines (shipment_id, order_line_id, quantity)
                    SELECT s.id, l.id, 1 FROM s JOIN l USING (order_id))
                SELECT count(*) FROM s
                """, buyer, n, merchant, sku, product, warehouse)
            return merchant
    finally:
        await conn.close()


async def pay_events(url: str, merchant: int) -> int:
    """The paid orders' ORDER_PAID events, one per order, in one statement: the payload
    `mark_paid_many` writes (app/orders/service.py), `shipments` naming each order's parcel."""
    conn = await asyncpg.connect(url)
    try:
        return len(await conn.fetch(
            "INSERT INTO outbox (topic, event_type, merchant_id, payload)"
            " SELECT 'order', 'ORDER_PAID', $1, jsonb_build_object('order_id', o.id, 'from', 'PENDING_PAYMENT',"
            "   'to', 'PAID', 'actor', 'provider:bench', 'reason', NULL, 'payment_order_id', o.payment_order_id,"
            "   'buyer_id', o.buyer_id, 'payable', o.payable, 'virtual', false,"
            "   'shipments', (SELECT jsonb_agg(jsonb_build_array(s.id, s.kind) ORDER BY s.id) FROM shipments s"
            "                 WHERE s.order_id = o.id))"
            " FROM orders o WHERE o.merchant_id = $1 ORDER BY o.id RETURNING id", merchant))
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its children (`ecom serve --workers n` forks them)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(int(c)) for c in children)




async def control(base: str, secret: str, **config) -> None:
    raw = json.dumps(config).encode()
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(f"/sandbox/fulfilment/{PARTNER}/control", content=raw,
                                   headers=signed_headers(secret, raw))
        response.raise_for_status()


async def run(admin_url: str, redis_url: str, n: int, latency_ms: int, api_workers: int,
              push_batch: int | None) -> dict:
    secret = os.environ.get("SANDBOX_PARTNER_SECRET", DEV_PARTNER_SECRET)
    url = await fresh_database(admin_url, DATABASE)
    merchant = await seed(url, n, secret)
    redis = Redis.from_url(redis_url)
    await redis.delete(*[k async for k in redis.scan_iter("arq:*")] or ["-"])
    await redis.delete(*[k async for k in redis.scan_iter(f"sandbox:partner:{PARTNER}:*")] or ["-"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = ecom_env(url, redis_url, port, SANDBOX_PARTNER_SECRET=secret,
                   **({"FULFILMENT_PUSH_BATCH": str(push_batch)} if push_batch else {}))
    procs = [start(["serve", "--port", str(port), "--workers", str(api_workers)], env, "pushes")]
    db = await asyncpg.connect(url)
    try:
        await wait_http(base)
        await control(base, secret, latency_ms=latency_ms, notices=False, failure_rate=0, fail_next=0)
        assert await pay_events(url, merchant) == n
        t0 = time.perf_counter()
        procs.append(start(["worker"], env, "pushes"))
        while not await db.fetchval("SELECT count(*) FROM shipments WHERE status <> 'PENDING'"):
            if time.perf_counter() - t0 > 60:
                raise SystemExit("no push within a minute of the worker's start")
            await asyncio.sleep(0.01)
        started = {"worker": cpu_seconds(procs[1].pid), "api": cpu_seconds(procs[0].pid)}   # after start-up
        while await db.fetchval("SELECT count(*) FROM shipments WHERE status = 'PENDING'"):
            if time.perf_counter() - t0 > 600:
                raise SystemExit("pushes did not finish within 10 minutes")
            await asyncio.sleep(0.1)
        cpu = {"worker": cpu_seconds(procs[1].pid) - started["worker"], "api": cpu_seconds(procs[0].pid) - started["api"]}
        span = await db.fetchrow("SELECT min(accepted_at) AS first, max(accepted_at) AS last,"
                                 " count(*) FILTER (WHERE status = 'ACCEPTED') AS accepted,"
                                 " sum(push_attempts) AS attempts FROM shipments")
        async with httpx.AsyncClient(base_url=base) as http:
            made = (await http.get(f"/sandbox/fulfilment/{PARTNER}/")).json()["created"]
    finally:
        stop(procs)
        await db.close()
        await redis.aclose()
    seconds = (span["last"] - span["first"]).total_seconds()
    assert span["accepted"] == n and made == n, (span, made)
    return {"shipments": n, "latency_ms": latency_ms, "api_workers": api_workers, "attempts": span["attempts"],
            "push_batch": push_batch or Settings.model_fields["fulfilment_push_batch"].default,
            "pushes_per_s": n / seconds if seconds else float("inf"), "seconds": seconds,
            "cpu_ms_per_push": {side: 1000 * used / n for side, used in cpu.items()}}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shipments", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--api-workers", type=int, default=2, help="API processes serving the sandbox partner")
    parser.add_argument("--push-batch", type=int, help="FULFILMENT_PUSH_BATCH (default: the setting's default)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    admin_url = os.environ.get("ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    result = await run(admin_url, redis_url, args.shipments, args.latency_ms, args.api_workers, args.push_batch)
    lines = [f"# bench/fulfilment_pushes.py {datetime.now(UTC):%Y-%m-%dT%H:%MZ} on {platform.node()}"
             f" ({os.cpu_count()} CPUs)",
             f"shipments={result['shipments']} partner latency={result['latency_ms']} ms api workers="
             f"{result['api_workers']} worker=1 push batch={result['push_batch']} attempts={result['attempts']}",
             f"pushes: {result['pushes_per_s']:,.0f}/s ({result['seconds']:.2f} s)",
             "CPU per push: " + ", ".join(f"{side} {ms:.2f} ms" for side, ms in result["cpu_ms_per_push"].items())]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
