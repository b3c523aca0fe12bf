"""Credit payments per second (issue 11 "Must measure"): `createPayment(channel: CREDIT)` — the
real-time approval, the freeze, the success applied through the notification path and the loan
with its bills — against a real `ecom serve`, in two shapes:

- `one`: N payment orders of ONE buyer whose limit holds them all (every payment takes that
  buyer's line lock: the serial case);
- `many`: N payment orders of N buyers (one each).

    ADMIN_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/credit_payments.py [--payments 1000] [--concurrency 32] [--api-workers 2] [--out …]

A fresh database `ecom_bench_credit` (migrated) gets the buyers, credit lines and payment orders
(one 1.00 order line each) with SQL; access tokens are made with the server's JWT secret. Each
request is sent once with at most `--concurrency` in flight (aiohttp). The run checks that every
payment SUCCEEDED with its loan of 3 bills, and that each line's limit = available + outstanding +
frozen with nothing left frozen.
"""

import argparse
import asyncio
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth.principal import Principal  # noqa: E402
from app.auth.sessions import open_session  # noqa: E402
from app.config import Settings  # noqa: E402
from app.ids import encode_id  # noqa: E402
from bench._procs import ecom_env, free_port, fresh_database, start, stop, wait_http  # noqa: E402
from bench.load import percentile  # noqa: E402

DATABASE = "ecom_bench_credit"
PAY = """mutation($i: CreatePaymentInput!) { createPayment(input: $i) { payment { status } userErrors { code } } }"""


async def seed(url: str, n: int, buyers: int, settings: Settings) -> list[tuple[str, int]]:
    """(token, payment order id) per payment to make."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            merchant = await conn.fetchval("INSERT INTO merchants (name, kind) VALUES ('bench', 'MARKETPLACE') RETURNING id")
            category = await conn.fetchval("INSERT INTO backend_categories (name) VALUES ('bench') RETURNING id")
            product = await conn.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                                          " VALUES ($1, $2, 'bench', 'MERCHANT', 'LISTED') RETURNING id", merchant, category)
            sku = await conn.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, 'C1', 100)"
                                      " RETURNING id", product, merchant)
            await conn.execute("INSERT INTO buyers (id, phone, password_hash) SELECT g, '138' || lpad(g::text, 8, '0'), 'x'"
                               " FROM generate_series(1, $1) g", buyers)
            await conn.execute(
                "INSERT INTO credit_applications (id, buyer_id, id_number_mask, id_digest, monthly_income, phone, status,"
                " tier, credit_limit, score, rules) SELECT g, g, '110***', 'd' || g, 1000000, '', 'APPROVED', 'A',"
                " 100000000, 800, '[]' FROM generate_series(1, $1) g", buyers)
            await conn.execute("INSERT INTO credit_lines (buyer_id, application_id, id_digest, tier, credit_limit, due_day)"
                               " SELECT g, g, 'd' || g, 'A', 100000000, 10 FROM generate_series(1, $1) g", buyers)
            rows = await conn.fetch(
                """
                WITH po AS (
                    INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,
                                                shipping_total, payable, pricing, expires_at)
                    SELECT (g - 1) % $2 + 1, 'bench-credit-' || g, 'bench', 100, 0, 0, 100, '{}',
                           now() + interval '1 day' FROM generate_series(1, $1) g RETURNING id, buyer_id),
                o AS (
                    INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable)
                    SELECT id, buyer_id, $3, 100, 0, 0, 100 FROM po RETURNING id),
                l AS (
                    INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,
                                             goods_amount, paid_amount)
                    SELECT id, $4, $5, 'bench', 1, 1, 100, 100, 100, 100 FROM o)
                SELECT id, buyer_id FROM po ORDER BY id
                """, n, buyers, merchant, sku, product)
            tokens = {}
            for b in sorted({r["buyer_id"] for r in rows}):
                tokens[b] = (await open_session(conn, settings, Principal(kind="buyer", id=b))).access_token
        return [(tokens[r["buyer_id"]], r["id"]) for r in rows]
    finally:
        await conn.close()


async def send_all(url: str, concurrency: int, work: list[tuple[str, int]]) -> dict:
    latencies, outcome = [], {"succeeded": 0, "refused": 0, "failed": 0}
    queue = work[::-1]

    async def one(session: aiohttp.ClientSession) -> None:
        while queue:
            token, po = queue.pop()
            body = {"query": PAY, "variables": {"i": {"paymentOrderId": encode_id("PaymentOrder", po),
                                                      "channel": "CREDIT", "installmentPeriods": 3}}}
            t0 = time.perf_counter()
            async with session.post(url, json=body, headers={"authorization": f"Bearer {token}"}) as r:
                data = await r.json() if r.status == 200 else {}
            latencies.append((time.perf_counter() - t0) * 1000)
            payload = (data.get("data") or {}).get("createPayment") or {}
            if (payload.get("payment") or {}).get("status") == "SUCCEEDED":
                outcome["succeeded"] += 1
            elif payload.get("userErrors"):
                outcome["refused"] += 1
            else:
                outcome["failed"] += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=300)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return {**outcome, "seconds": seconds, "per_s": len(work) / seconds, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99)}


async def run(admin_url: str, redis_url: str, n: int, concurrency: int, api_workers: int) -> list[dict]:
    results = []
    for shape, buyers in (("one", 1), ("many", n)):
        url = await fresh_database(admin_url, DATABASE)
        port = free_port()
        env = ecom_env(url, redis_url, port)
        settings = Settings(_env_file=None, database_url=url, env="development")  # type: ignore[call-arg]
        work = await seed(url, n, buyers, settings)
        server = start(["serve", "--port", str(port), "--workers", str(api_workers)], env, "credit")
        try:
            await wait_http(f"http://127.0.0.1:{port}")
            result = await send_all(f"http://127.0.0.1:{port}/graphql", concurrency, work)
        finally:
            stop([server])
        conn = await asyncpg.connect(url)
        try:
            check = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM loans) AS loans, (SELECT count(*) FROM bills) AS bills,"
                " (SELECT count(*) FROM credit_lines WHERE frozen <> 0 OR credit_limit <> greatest(0, credit_limit"
                "   - outstanding_principal - frozen) + outstanding_principal + frozen) AS broken,"
                " (SELECT sum(outstanding_principal) FROM credit_lines) AS outstanding")
        finally:
            await conn.close()
        assert result["succeeded"] == n == check["loans"] and check["bills"] == 3 * n and not check["broken"], \
            (result, dict(check))
        assert check["outstanding"] == 100 * n
        results.append({"shape": shape, "buyers": buyers, **result})
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = await run(os.environ.get("ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"), args.payments, args.concurrency,
                        args.api_workers)
    lines = [f"# bench/credit_payments.py {datetime.now(UTC):%Y-%m-%dT%H:%MZ} on {platform.node()} ({os.cpu_count()} CPUs)",
             f"payments={args.payments} concurrency={args.concurrency} api workers={args.api_workers}"]
    for r in results:
        lines.append(f"{r['shape']:>4} ({r['buyers']} buyer{'s' if r['buyers'] > 1 else ''}): {r['per_s']:,.0f} payments/s, "
                     f"p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms ({r['succeeded']} succeeded, {r['refused']} refused,"
                     f" {r['failed']} failed)")
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
