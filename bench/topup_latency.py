"""Top-up end-to-end latency (issue 9 "Must measure"): from the payment callback's arrival to the
order being RECEIVED (recharged), p50/p99, with the sandbox supplier answering in 200 ms.

    ADMIN_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/topup_latency.py --orders 500 --rate 50 --workers 1 [--out bench/results/…txt]

A fresh database `ecom_bench_topup` (migrated) gets N unpaid top-up orders (one VIRTUAL line each,
stock reserved, a CREATED payment) and a REALTIME_API supplier at `sandbox://topup/bench`; a real
`ecom serve` (with both sandboxes) and `ecom worker` processes run as in production, the supplier
answering after SANDBOX_TOPUP_LATENCY_MS (200). The sandbox pays `--rate` orders per second in
batches every 100 ms; each callback is stored by the API, applied by a worker (ORDER_PAID), which
the worker's relay turns into a `buy_topup` job, which buys over HTTP and delivers.

Latency per order = its RECEIVED history row's time − its payment notification's `received_at`
(both PostgreSQL's clock). Every run checks all N orders COMPLETED and N recharges made.
"""

import argparse
import asyncio
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import DEV_PARTNER_SECRET  # noqa: E402
from bench._procs import ecom_env, free_port, fresh_database, start, stop, wait_http  # noqa: E402
from bench.callbacks import sandbox_batch  # noqa: E402

DATABASE = "ecom_bench_topup"
LATENCY_MS = 200


async def seed(url: str, n: int, secret: str) -> list[tuple[int, int]]:
    """(payment id, amount) of `n` unpaid one-order top-ups of 30.00, stock reserved."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ('13900000043', 'x')"
                                        " RETURNING id")
            merchant = await conn.fetchval("INSERT INTO merchants (name, kind) VALUES ('bench', 'SELF_OPERATED')"
                                           " RETURNING id")
            category = await conn.fetchval("INSERT INTO backend_categories (name) VALUES ('bench') RETURNING id")
            warehouse = await conn.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'virtual')"
                                            " RETURNING id", merchant)
            product = await conn.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type,"
                                          " status) VALUES ($1, $2, 'top-up', 'VIRTUAL', 'LISTED') RETURNING id",
                                          merchant, category)
            sku = await conn.fetchval("INSERT INTO skus (product_id, merchant_id, code, price, recharge_account_kind)"
                                      " VALUES ($1, $2, 'TU30', 3000, 'PHONE') RETURNING id", product, merchant)
            await conn.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand, reserved) VALUES ($1, $2, $3, $3)",
                               sku, warehouse, n)
            supplier = await conn.fetchval(
                "INSERT INTO suppliers (name, kind, endpoint_url, secret) VALUES ('bench supplier', 'REALTIME_API',"
                " 'sandbox://topup/bench', $1) RETURNING id", secret)
            await conn.execute("INSERT INTO supplier_skus (supplier_id, sku_id, purchase_price, supplier_sku_code)"
                               " VALUES ($1, $2, 2940, 'CM30')", supplier, sku)
            await conn.execute(
                """
                WITH po AS (
                    INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,
                                                shipping_total, payable, pricing, expires_at)
                    SELECT $1, 'bench-topup-' || g, 'bench', 3000, 0, 0, 3000, '{}', now() + interval '1 day'
                    FROM generate_series(1, $2) g RETURNING id),
                o AS (
                    INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable,
                                        recharge_account)
                    SELECT id, $1, $3, 3000, 0, 0, 3000, '139' || lpad(id::text, 8, '1') FROM po RETURNING id),
                l AS (
                    INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,
                                             goods_amount, paid_amount)
                    SELECT id, $4, $5, 'top-up', 1, 1, 3000, 3000, 3000, 3000 FROM o RETURNING id)
                INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)
                SELECT id, $4, $6, 1 FROM l
                """, buyer, n, merchant, sku, product, warehouse)
            return [(r["id"], 3000) for r in await conn.fetch(
                "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level)"
                " SELECT id, 'sandbox', 'WECHAT', payable, 'NONE' FROM payment_orders ORDER BY id RETURNING id")]
    finally:
        await conn.close()


async def run(admin_url: str, redis_url: str, n: int, rate: int, workers: int) -> dict:
    secret = os.environ.get("SANDBOX_PARTNER_SECRET", DEV_PARTNER_SECRET)
    url = await fresh_database(admin_url, DATABASE)
    payments = await seed(url, n, secret)
    redis = Redis.from_url(redis_url)
    await redis.delete(*[k async for k in redis.scan_iter("arq:*")] or ["-"])
    await redis.delete(*[k async for k in redis.scan_iter("sandbox:topup:bench:*")] or ["-"])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = ecom_env(url, redis_url, port, SANDBOX_TOPUP_LATENCY_MS=str(LATENCY_MS))
    procs = [start(["serve", "--port", str(port), "--workers", "1"], env, "callbacks")]
    procs += [start(["worker"], env, "callbacks") for _ in range(workers)]
    db = await asyncpg.connect(url)
    try:
        await wait_http(base)
        await asyncio.sleep(2)                                  # the workers' startup
        step = max(1, rate // 10)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            t0 = time.perf_counter()
            for k in range(0, n, step):
                answer = await sandbox_batch(http, {"shuffle": False, "concurrency": step, "payments": [
                    {"reference": str(p), "amount": a} for p, a in payments[k:k + step]]})
                assert answer.status_code == 200, answer.text
                await asyncio.sleep(max(0.0, t0 + (k + step) / rate - time.perf_counter()))
        for _ in range(1200):
            if await db.fetchval("SELECT count(*) FROM orders WHERE status = 'COMPLETED'") >= n:
                break
            await asyncio.sleep(0.1)
        rows = await db.fetch(
            "SELECT o.id, extract(epoch FROM h.at - min(nt.received_at)) * 1000 AS ms"
            " FROM orders o JOIN order_status_history h ON h.order_id = o.id AND h.to_status = 'RECEIVED'"
            " JOIN payments p ON p.payment_order_id = o.payment_order_id"
            " JOIN payment_notifications nt ON (nt.body->>'reference')::bigint = p.id GROUP BY o.id, h.at")
        completed = await db.fetchval("SELECT count(*) FROM orders WHERE status = 'COMPLETED'")
        bought = await db.fetchval("SELECT count(*) FROM topup_purchases WHERE status = 'SUCCEEDED' AND attempts = 1")
    finally:
        stop(procs)
        await db.close()
        await redis.aclose()
    assert completed == n and len(rows) == n, (completed, len(rows))
    latencies = sorted(float(r["ms"]) for r in rows)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {"orders": n, "rate": rate, "workers": workers, "bought_first_try": bought, "p50": pick(0.5),
            "p99": pick(0.99), "max": latencies[-1]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rate", type=int, default=50, help="payments per second")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    admin_url, redis_url = os.environ["ADMIN_DATABASE_URL"], os.environ["REDIS_URL"]
    for host in (urlsplit(admin_url).hostname, urlsplit(redis_url).hostname):
        if host not in ("127.0.0.1", "localhost", None):
            sys.exit("this benchmark only targets local servers")
    r = await run(admin_url, redis_url, args.orders, args.rate, args.workers)
    line = (f"# bench/topup_latency.py {datetime.now(UTC).isoformat(timespec='seconds')} on {platform.node()}, "
            f"{os.cpu_count()} CPUs: orders={r['orders']} rate={r['rate']}/s workers={r['workers']} supplier="
            f"{LATENCY_MS} ms bought at first try={r['bought_first_try']} callback→RECEIVED p50={r['p50']:.0f} ms "
            f"p99={r['p99']:.0f} ms max={r['max']:.0f} ms")
    print(line, flush=True)
    if args.out:
        with args.out.open("a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    asyncio.run(main())
