"""Load of `checkoutPreview` (issue 3 "Must measure"): 10-line direct buys over several merchants
with running promotions and a wallet of coupons, against a running local server.

    DATABASE_URL=… .venv/bin/python bench/preview_load.py --seed            # idempotent
    DATABASE_URL=… .venv/bin/python bench/preview_load.py --concurrency 64 --duration 15 --client wrk \
        [--server-pid PID --database ecom_preview]

`--seed` adds to the demo data (`ecom seed` first) what a preview reads: per merchant a tiered
FULL_REDUCTION, a FULL_DISCOUNT from 3 items and DIRECT prices on a few SKUs, a platform per-every
FULL_REDUCTION and a WECHAT payment discount, a freight template, shop and platform coupon
templates, and a bench buyer holding five coupons. Rows are tagged `created_by = 'bench-preview'`,
so a second run adds nothing. Requests are signed in as that buyer (an access token made with the
server's JWT secret from the same environment), pay with WECHAT and ship to a province every
merchant delivers to; 64 carts rotate so no single plan or row is measured. The reporting (and
the wrk client) are bench/load.py's.
"""

import argparse
import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import httpx
from load import Stats, cpu_per_request, percentile, require_loopback, run_wrk, server_cpu, worker  # bench/load.py

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.config import get_settings
from app.ids import encode_id

TAG = "bench-preview"
BUYER_PHONE = "13900009999"
LINES, CARTS = 10, 64
PREVIEW = """
query Preview($i: CheckoutPreviewInput!) {
  checkoutPreview(input: $i) {
    goodsTotal totalDiscount shippingTotal payable approximate
    merchants { merchantId subtotal discount shipping freeShipping paidAmount gifts { skuId quantity } }
    lines { skuId quantity unitPrice itemDiscount paidAmount }
    applied { kind promotionId couponId discount }
    coupons { couponId usable applied reason }
    hints { promotionId current threshold missing nextDiscount }
  }
}"""


async def seed(conn: asyncpg.Connection) -> None:
    if await conn.fetchval("SELECT 1 FROM promotions WHERE created_by = $1 LIMIT 1", TAG):
        print("already seeded")
        return
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(days=3650)
    merchants = [r["merchant_id"] for r in await conn.fetch(
        "SELECT DISTINCT merchant_id FROM skus ORDER BY merchant_id")]
    async with conn.transaction():
        async def promotion(kind, merchant_id, rule, whole=True, skus=(), priority=0):
            pid = await conn.fetchval(
                "INSERT INTO promotions (merchant_id, kind, name, status, priority, starts_at, ends_at, whole_scope,"
                " rule, created_by) VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, $7, $8::jsonb, $9) RETURNING id",
                merchant_id, kind, f"{kind} bench", priority, start, end, whole, rule, TAG)
            await conn.executemany("INSERT INTO promotion_skus (promotion_id, sku_id, merchant_id) VALUES ($1, $2, $3)",
                                   [(pid, s, merchant_id) for s in skus])

        templates = []
        for m in merchants:
            await promotion("FULL_REDUCTION", m, {"tiers": [{"threshold": 20000, "amount": 1500},
                                                           {"threshold": 60000, "amount": 5000}]}, priority=10)
            await promotion("FULL_DISCOUNT", m, {"rate": 95, "threshold_items": 3})
            direct = [r["id"] for r in await conn.fetch(
                "SELECT id FROM skus WHERE merchant_id = $1 AND status = 'ACTIVE' ORDER BY id LIMIT 200", m)][::7]
            await promotion("DIRECT", m, {"unit_amount_off": 300}, whole=False, skus=direct)
            await conn.execute("INSERT INTO freight_templates (merchant_id, default_fee, free_threshold)"
                               " VALUES ($1, 1000, 29900) ON CONFLICT (merchant_id) DO NOTHING", m)
            templates.append(await template(conn, "SHOP", m, threshold=30000, amount=2000, start=start, end=end))
        await promotion("FULL_REDUCTION", None, {"per_every": {"step": 30000, "amount": 2000, "cap": 10000}})
        await promotion("PAYMENT", None, {"channel": "WECHAT", "amount": 500, "threshold_amount": 10000})
        templates.append(await template(conn, "PLATFORM", None, threshold=50000, amount=3000, start=start, end=end))
        templates.append(await template(conn, "PLATFORM", None, rate=95, cap=2000, start=start, end=end))
        buyer = await conn.fetchval(
            "INSERT INTO buyers (phone, password_hash) VALUES ($1, 'x') ON CONFLICT (phone) DO UPDATE SET"
            " phone = excluded.phone RETURNING id", BUYER_PHONE)
        await conn.executemany("INSERT INTO buyer_coupons (template_id, buyer_id, expires_at) VALUES ($1, $2, $3)",
                               [(t, buyer, end) for t in templates])
    await conn.execute("ANALYZE promotions, promotion_skus, buyer_coupons, coupon_templates, freight_templates")
    print(f"seeded {len(merchants)} merchants' promotions, {len(templates)} coupons for buyer {buyer}")


async def template(conn, kind, merchant_id, *, start, end, threshold=0, amount=None, rate=None, cap=None) -> int:
    return await conn.fetchval(
        "INSERT INTO coupon_templates (kind, merchant_id, name, status, threshold, amount, rate, cap, claim_starts_at,"
        " claim_ends_at, valid_until, total_stock, created_by)"
        " VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, $7, $8, $9, $9, 1000000, $10) RETURNING id",
        kind, merchant_id, f"{kind} bench", threshold, amount, rate, cap, start, end, TAG)


async def carts(conn: asyncpg.Connection, rng: random.Random) -> tuple[list[dict], int]:
    """`CARTS` direct buys of `LINES` in-stock SKUs over at least three merchants, and the buyer."""
    buyer = await conn.fetchval("SELECT id FROM buyers WHERE phone = $1", BUYER_PHONE)
    if buyer is None:
        sys.exit("run with --seed first")
    region = await conn.fetchval(
        """SELECT wr.region_code FROM warehouse_regions wr JOIN warehouses w ON w.id = wr.warehouse_id AND w.active
           GROUP BY wr.region_code ORDER BY count(DISTINCT w.merchant_id) DESC, wr.region_code LIMIT 1""")
    rows = await conn.fetch(
        """SELECT s.id, s.merchant_id FROM skus s JOIN products p ON p.id = s.product_id AND p.status = 'LISTED'
           WHERE s.status = 'ACTIVE' AND EXISTS (
               SELECT 1 FROM stock st JOIN warehouses w ON w.id = st.warehouse_id AND w.active
               JOIN warehouse_regions wr ON wr.warehouse_id = w.id AND wr.region_code = $1
               WHERE st.sku_id = s.id AND w.merchant_id = s.merchant_id AND st.on_hand - st.reserved >= 5)
           ORDER BY s.id""", region)
    by_merchant: dict[int, list[int]] = {}
    for r in rows:
        by_merchant.setdefault(r["merchant_id"], []).append(r["id"])
    merchants = sorted(by_merchant)
    if len(merchants) < 3:
        sys.exit(f"need SKUs of 3 merchants deliverable to {region}, found {len(merchants)}")
    variants = []
    for _ in range(CARTS):
        chosen = [rng.choice(by_merchant[m]) for m in merchants[:3]]
        pool = [s for m in merchants for s in by_merchant[m] if s not in chosen]
        chosen += rng.sample(pool, LINES - len(chosen))
        variants.append({"i": {"lines": [{"skuId": encode_id("Sku", s), "quantity": rng.randint(1, 3)}
                                         for s in chosen],
                               "paymentChannel": "WECHAT", "regionCode": region}})
    return variants, buyer


async def measure(args, variants: list[dict], token: str) -> list[str]:
    headers = {"authorization": f"Bearer {token}"}
    if args.client == "wrk":
        return run_wrk(SimpleNamespace(**vars(args), query="preview"), PREVIEW, variants, headers)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        async def phase(seconds: float, stats: Stats | None) -> float:
            stop_at, t0 = time.perf_counter() + seconds, time.perf_counter()
            await asyncio.gather(*(worker(client, args.url, PREVIEW, variants, k * 7919, stop_at, [10**9], stats)
                                   for k in range(args.concurrency)))
            return time.perf_counter() - t0

        await phase(args.warmup, None)
        stats, cpu0, server0 = Stats(), time.process_time(), server_cpu(args.server_pid, args.database)
        elapsed = await phase(args.duration, stats)
        client_cpu = (time.process_time() - cpu0) / elapsed
        api_ms, db_ms = cpu_per_request(server0, server_cpu(args.server_pid, args.database),
                                        len(stats.latencies) + stats.errors)
    lat = sorted(stats.latencies)
    p50, p90, p99 = (percentile(lat, p) * 1000 for p in (50, 90, 99))
    lines = [f"client=httpx query=preview concurrency={args.concurrency} duration={elapsed:.1f}s"
             f" variants={len(variants)} url={args.url}",
             f"requests={len(lat)} errors={stats.errors} requests/s={len(lat) / elapsed:.1f}",
             f"latency ms: p50={p50:.1f} p90={p90:.1f} p99={p99:.1f}",
             f"sql statements/request: mean={sum(stats.sql) / max(len(stats.sql), 1):.2f}",
             f"load generator cpu: {client_cpu:.0%} of one core"]
    if args.server_pid or args.database:
        lines.append(f"cpu per request: server {api_ms:.1f} ms, postgres backends {db_ms:.1f} ms")
    if stats.first_error:
        lines.append(f"first error: {stats.first_error}")
    return lines


async def main(args) -> list[str]:
    settings = get_settings()
    conn = await asyncpg.connect(settings.database_url)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        if args.seed:
            await seed(conn)
            return []
        variants, buyer = await carts(conn, random.Random(args.random_seed))
        token = (await open_session(conn, settings, Principal(kind="buyer", id=buyer))).access_token
    finally:
        await conn.close()
    require_loopback(args.url)
    return await measure(args, variants, token)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", action="store_true", help="add the promotions, coupons and buyer, then exit")
    parser.add_argument("--url", default="http://127.0.0.1:8100/graphql")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--random-seed", type=int, default=42)
    parser.add_argument("--client", choices=["httpx", "wrk"], default="httpx")
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--database")
    parser.add_argument("--out", help="append the result lines to this file")
    args = parser.parse_args()
    result = asyncio.run(main(args))
    print("\n".join(result))
    if args.out and result:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write("\n".join(result) + "\n\n")
