"""Payment callbacks applied per second (issue 4 "Must measure (b)"), by one worker and by two,
with 30% duplicate deliveries.

    ADMIN_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/13 \
        .venv/bin/python bench/callbacks.py --payments 5000 --workers 1 2 [--out bench/results/…txt]

For each worker count: a fresh database `ecom_bench_callbacks` (migrated), N unpaid payment orders
(one order and one reserved line each) with a CREATED payment, written with SQL; then a real
`ecom serve` on a free loopback port receives the sandbox's batch of N × 1.3 signed callbacks
(shuffled, 32 at a time) while no worker runs, so intake and applying are measured apart:

- intake: callbacks acknowledged per second by the API (duplicates answered 200, stored once);
- applying: `ecom worker` processes are started on the full queue and the rate is N divided by
  the span between the first and the last `applied_at`, so the workers' start-up is not counted.

Every run checks the outcome: N notifications APPLIED, N payment orders PAID, N PAID history rows.

`--latency` measures issue 4 (d) instead: the workers run while the callbacks arrive (the load of
(b)), an admin's websocket subscribed to `merchantOrderEvents` receives every ORDER_PAID, and the
latency of each is its arrival at the subscriber minus its notification's `received_at` (same
machine, same clock).
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
from urllib.parse import urlsplit

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth.principal import Principal  # noqa: E402
from app.auth.sessions import open_session  # noqa: E402
from app.config import DEV_SANDBOX_SECRET, Settings  # noqa: E402
from app.signing import signed_headers  # noqa: E402
from bench._procs import ecom_env, free_port, fresh_database, start, stop, wait_http  # noqa: E402

DATABASE = "ecom_bench_callbacks"


async def seed(url: str, n: int) -> list[tuple[int, int]]:
    """(payment id, amount) of `n` unpaid one-order payment orders, stock reserved."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ('13900000042', 'x')"
                                        " RETURNING id")
            merchant = await conn.fetchval("INSERT INTO merchants (name, kind) VALUES ('bench', 'MARKETPLACE')"
                                           " RETURNING id")
            category = await conn.fetchval("INSERT INTO backend_categories (name) VALUES ('bench') RETURNING id")
            warehouse = await conn.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'main')"
                                            " RETURNING id", merchant)
            product = await conn.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type,"
                                          " status) VALUES ($1, $2, 'bench', 'MERCHANT', 'LISTED') RETURNING id",
                                          merchant, category)
            sku = await conn.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, 'B1', 100)"
                                      " RETURNING id", product, merchant)
            await conn.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand, reserved) VALUES ($1, $2, $3, $3)",
                               sku, warehouse, n)
            await conn.execute(
                """
                WITH po AS (
                    INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,
                                                shipping_total, payable, pricing, expires_at)
                    SELECT $1, 'bench-callbacks-' || g, 'bench', 100, 0, 0, 100, '{}', now() + interval '1 day'
                    FROM generate_series(1, $2) g RETURNING id),
                o AS (
                    INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable)
                    SELECT id, $1, $3, 100, 0, 0, 100 FROM po RETURNING id),
                l AS (
                    INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,
                                             goods_amount, paid_amount)
                    SELECT id, $4, $5, 'bench', 1, 1, 100, 100, 100, 100 FROM o RETURNING id)
                INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)
                SELECT id, $4, $6, 1 FROM l
                """, buyer, n, merchant, sku, product, warehouse)
            return [(r["id"], 100) for r in await conn.fetch(
                "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level)"
                " SELECT id, 'sandbox', 'WECHAT', payable, 'NONE' FROM payment_orders RETURNING id")]
    finally:
        await conn.close()


async def run(admin_url: str, redis_url: str, n: int, workers: int) -> dict:
    url = await fresh_database(admin_url, DATABASE)
    payments = await seed(url, n)
    redis = Redis.from_url(redis_url)
    await redis.delete(*[k async for k in redis.scan_iter("arq:*")] or ["-"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = ecom_env(url, redis_url, port)
    api = start(["serve", "--port", str(port), "--workers", "1"], env, "callbacks")
    procs = [api]
    db = await asyncpg.connect(url)
    try:
        await wait_http(base)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            batch = (await sandbox_batch(http, {
                "duplicate_ratio": 0.3, "shuffle": True,
                "concurrency": 32, "payments": [{"reference": str(p), "amount": a} for p, a in payments]})).json()
            t0 = time.perf_counter()      # the transactions exist; deliveries start now
            while True:
                status = (await http.get(f"/sandbox/v1/batches/{batch['batch_id']}")).json()
                if status["acknowledged"] + status["failed"] == status["total"]:
                    break
                await asyncio.sleep(0.05)
            intake_seconds = time.perf_counter() - t0
        assert status["failed"] == 0, status
        stored = await db.fetchval("SELECT count(*) FROM payment_notifications")
        procs += [start(["worker"], env, "callbacks") for _ in range(workers)]
        while await db.fetchval("SELECT count(*) FROM payment_notifications WHERE status = 'RECEIVED'"):
            await asyncio.sleep(0.1)
        span = await db.fetchrow("SELECT min(applied_at) AS first, max(applied_at) AS last,"
                                 " count(*) FILTER (WHERE status = 'APPLIED') AS applied FROM payment_notifications")
        paid = await db.fetchval("SELECT count(*) FROM payment_orders WHERE status = 'PAID'")
        history = await db.fetchval("SELECT count(*) FROM order_status_history WHERE to_status = 'PAID'")
    finally:
        stop(procs)
        await db.close()
        await redis.aclose()
    seconds = (span["last"] - span["first"]).total_seconds()
    assert stored == n and span["applied"] == n and paid == n and history == n, (stored, span, paid, history)
    return {"workers": workers, "payments": n, "deliveries": status["total"], "intake_per_s": status["total"] / intake_seconds,
            "applied_per_s": n / seconds if seconds else float("inf"), "apply_seconds": seconds}


async def sandbox_batch(http: httpx.AsyncClient, body: dict) -> httpx.Response:
    """A sandbox control call, signed with the sandbox's secret (the servers' own)."""
    raw = json.dumps(body).encode()
    secret = os.environ.get("SANDBOX_PROVIDER_SECRET", DEV_SANDBOX_SECRET)
    return await http.post("/sandbox/v1/batches", content=raw, headers=signed_headers(secret, raw))


async def subscribe_paid(ws_url: str, token: str, arrivals: dict[int, float]) -> None:
    """Record when each ORDER_PAID reaches an admin's console (order id → time.time())."""
    from app.ids import decode_id
    async with connect(ws_url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}).decode())
        await ws.recv()
        await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription { merchantOrderEvents { type orderId } }"}}).decode())
        async for raw in ws:
            msg = orjson.loads(raw)
            if msg["type"] == "ping":
                await ws.send('{"type": "pong"}')
            elif msg["type"] == "next":
                event = msg["payload"]["data"]["merchantOrderEvents"]
                if event["type"] == "ORDER_PAID":
                    arrivals[decode_id("Order", event["orderId"])] = time.time()


async def latency_run(admin_url: str, redis_url: str, n: int, workers: int) -> dict:
    url = await fresh_database(admin_url, DATABASE)
    payments = await seed(url, n)
    redis = Redis.from_url(redis_url)
    await redis.delete(*[k async for k in redis.scan_iter("arq:*")] or ["-"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = ecom_env(url, redis_url, port)
    procs = [start(["serve", "--port", str(port), "--workers", "1"], env, "callbacks")]
    procs += [start(["worker"], env, "callbacks") for _ in range(workers)]
    db = await asyncpg.connect(url)
    arrivals: dict[int, float] = {}
    try:
        await wait_http(base)
        admin = await db.fetchval("INSERT INTO staff_accounts (username, password_hash, kind) VALUES ('bench', 'x', 'ADMIN')"
                                  " RETURNING id")
        settings = Settings(env="development", database_url=url, redis_url=redis_url)
        admin_principal = Principal(kind="staff", id=admin, staff_kind="ADMIN")
        token = (await open_session(db, settings, admin_principal)).access_token
        listening = asyncio.create_task(subscribe_paid(f"ws://127.0.0.1:{port}/graphql", token, arrivals))
        await asyncio.sleep(1)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await sandbox_batch(http, {
                "duplicate_ratio": 0.3, "shuffle": True,
                "concurrency": 32, "payments": [{"reference": str(p), "amount": a} for p, a in payments]})
        for _ in range(1200):
            if len(arrivals) >= n:
                break
            await asyncio.sleep(0.1)
        listening.cancel()
        received = {r["order_id"]: r["received_at"].timestamp() for r in await db.fetch(
            "SELECT o.id AS order_id, min(n.received_at) AS received_at FROM payment_notifications n"
            " JOIN payments p ON p.id = (n.body->>'reference')::bigint JOIN orders o ON o.payment_order_id = p.payment_order_id"
            " GROUP BY o.id")}
    finally:
        stop(procs)
        await db.close()
        await redis.aclose()
    latencies = sorted((arrivals[o] - received[o]) * 1000 for o in arrivals if o in received)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {"workers": workers, "payments": n, "events": len(latencies), "p50": pick(0.5), "p99": pick(0.99),
            "max": latencies[-1]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--latency", action="store_true", help="callback → console latency under load instead")
    args = parser.parse_args()
    admin_url, redis_url = os.environ["ADMIN_DATABASE_URL"], os.environ["REDIS_URL"]
    for host in (urlsplit(admin_url).hostname, urlsplit(redis_url).hostname):
        if host not in ("127.0.0.1", "localhost", None):
            sys.exit("this benchmark only targets local servers")
    lines = [f"# bench/callbacks.py {datetime.now(UTC).isoformat(timespec='seconds')} on {platform.node()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}"]
    for workers in args.workers:
        if args.latency:
            r = await latency_run(admin_url, redis_url, args.payments, workers)
            lines.append(f"latency workers={r['workers']} payments={r['payments']} events={r['events']} "
                         f"callback→console p50={r['p50']:.0f} ms p99={r['p99']:.0f} ms max={r['max']:.0f} ms")
            print(lines[-1], flush=True)
            continue
        r = await run(admin_url, redis_url, args.payments, workers)
        lines.append(f"workers={r['workers']} payments={r['payments']} deliveries={r['deliveries']} "
                     f"intake={r['intake_per_s']:.0f}/s applied={r['applied_per_s']:.0f}/s "
                     f"(applying took {r['apply_seconds']:.2f} s)")
        print(lines[-1], flush=True)
    if args.out:
        with args.out.open("a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
