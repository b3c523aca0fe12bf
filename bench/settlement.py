"""Settlement of 1,000,000 order lines in one run, then the ledger audit (issue 10 "Must
measure"): targets < 60 s and < 30 s.

    ADMIN_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/settlement.py [--lines 1000000] [--merchants 200] [--batch-orders 10000]

A fresh database `ecom_bench_settlement` (migrated) gets, with set-based SQL in chunks (memory
bounded): `--merchants` marketplace merchants with three SKUs each; one buyer; lines / 3 payment
orders, each with one succeeded payment and one order of three lines (quantities 1–3, prices
2.00–50.99, a merchant-funded item discount on every line, a platform-funded share on the first
line of every fifth order, shipping 6.00 on every fourth order, commission rates 0–12 %),
completed eight days before the run's day; and the ledger those payments would have written
through app/ledger/postings.py: a PAYMENT_CAPTURE entry per payment, a PAYMENT_SPLIT entry per
order (CLEARING debit, a MERCHANT_PENDING credit per line and for the shipping). One run for
that day (app/ledger/settlement.py, what `ecom settle --date D` runs) is timed, then the audit
(app/ledger/audit.py, what `ecom ledger audit` runs), then both are checked: every line settled
once, every merchant's pending 0, the audit OK.
"""

import argparse
import asyncio
import os
import platform
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import Database  # noqa: E402
from app.ledger import settlement  # noqa: E402
from app.ledger.audit import audit, report  # noqa: E402
from bench._procs import fresh_database  # noqa: E402

DATABASE = "ecom_bench_settlement"
RUN_DAY = date(2026, 11, 30)
CHUNK_ORDERS = 50_000

# per order i (1-based) and line k (0..2): the amounts, in SQL over generate_series
_LINES = """
SELECT i, k, 3 * i + k AS line_id, m.merchant_id, s.sku_id, s.product_id,
       1 + (i + k) % 3 AS qty, 200 + (i * 7 + k * 13) % 4900 AS price,
       ((1 + (i + k) % 3) * (200 + (i * 7 + k * 13) % 4900)) % 97 AS item_m,
       CASE WHEN k = 0 AND i % 5 = 0 THEN 50 ELSE 0 END AS share_p,
       ((i + k) % 13)::numeric / 100 AS rate
FROM generate_series({start}::bigint, {end}::bigint) AS i
CROSS JOIN generate_series(0, 2) AS k
JOIN bench_merchants m ON m.n = i % {merchants}
JOIN bench_skus s ON s.merchant_id = m.merchant_id AND s.pos = k
"""


async def seed(conn: asyncpg.Connection, lines: int, merchants: int, progress) -> int:
    orders = lines // 3
    paid_at = datetime.combine(RUN_DAY - timedelta(days=15), datetime.min.time(), UTC)
    completed_at = datetime.combine(RUN_DAY - timedelta(days=8), datetime.min.time(), UTC)
    await conn.execute("SET synchronous_commit = off")
    async with conn.transaction():
        buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ('13900000777', 'x') RETURNING id")
        category = await conn.fetchval("INSERT INTO backend_categories (name) VALUES ('bench') RETURNING id")
        promo = await conn.fetchval(
            "INSERT INTO promotions (kind, name, starts_at, ends_at, rule, funder, created_by) VALUES"
            " ('FULL_REDUCTION', 'bench coupon', $1, $2, '{}', 'PLATFORM', 'bench') RETURNING id",
            paid_at - timedelta(days=1), paid_at + timedelta(days=1))
        await conn.execute("CREATE TABLE bench_merchants (n int PRIMARY KEY, merchant_id bigint)")
        await conn.execute("CREATE TABLE bench_skus (merchant_id bigint, pos int, sku_id bigint, product_id bigint,"
                           " PRIMARY KEY (merchant_id, pos))")
        await conn.execute(
            "WITH m AS (INSERT INTO merchants (name, kind) SELECT 'bench ' || n, 'MARKETPLACE'"
            "           FROM generate_series(0, $1 - 1) AS n RETURNING id, name)"
            " INSERT INTO bench_merchants SELECT substr(name, 7)::int, id FROM m", merchants)
        await conn.execute(
            "WITH p AS (INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
            "           SELECT m.merchant_id, $1, 'bench ' || m.n || ' ' || k, 'MERCHANT', 'LISTED'"
            "           FROM bench_merchants m CROSS JOIN generate_series(0, 2) AS k RETURNING id, merchant_id, title),"
            " s AS (INSERT INTO skus (product_id, merchant_id, code, price)"
            "       SELECT id, merchant_id, 'B-' || id, 100 FROM p RETURNING id, product_id, merchant_id)"
            " INSERT INTO bench_skus SELECT s.merchant_id, right(p.title, 1)::int, s.id, s.product_id"
            " FROM s JOIN p ON p.id = s.product_id", category)
    for start in range(1, orders + 1, CHUNK_ORDERS):
        end = min(start + CHUNK_ORDERS - 1, orders)
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE bl ON COMMIT DROP AS "
                               + _LINES.format(start=start, end=end, merchants=merchants))
            await conn.execute(
                "CREATE TEMP TABLE bo ON COMMIT DROP AS SELECT i, min(merchant_id) AS merchant_id,"
                " sum(qty * price) AS goods, sum(item_m + share_p) AS discount,"
                " CASE WHEN i % 4 = 0 THEN 600 ELSE 0 END AS shipping FROM bl GROUP BY i")
            await conn.execute(
                "INSERT INTO payment_orders (id, buyer_id, idempotency_key, request_hash, status, goods_total,"
                " total_discount, shipping_total, payable, pricing, expires_at, paid_at)"
                " SELECT i, $1, 'bench-' || lpad(i::text, 10, '0'), 'b', 'PAID', goods, discount, shipping,"
                " goods - discount + shipping, '{}', $2, $2 FROM bo", buyer, paid_at)
            await conn.execute(
                "INSERT INTO payments (id, payment_order_id, provider, channel, amount, auth_level, status,"
                " provider_txn_id, succeeded_at) SELECT i, i, 'sandbox', 'WECHAT', goods - discount + shipping, 'NONE',"
                " 'SUCCEEDED', 'bench-' || i, $1 FROM bo WHERE goods - discount + shipping > 0", paid_at)
            await conn.execute("UPDATE payment_orders po SET paid_by_payment_id = po.id WHERE id BETWEEN $1 AND $2",
                               start, end)
            await conn.execute(
                "INSERT INTO orders (id, payment_order_id, buyer_id, merchant_id, status, payment_status,"
                " logistics_status, review_status, goods_total, discount, shipping, payable, paid_at, shipped_at,"
                " received_at, completed_at) SELECT i, i, $1, merchant_id, 'COMPLETED', 'PAID', 'SIGNED', 'DONE',"
                " goods, discount, shipping, goods - discount + shipping, $2, $2, $3, $3 FROM bo",
                buyer, paid_at, completed_at)
            await conn.execute(
                "INSERT INTO order_lines (id, order_id, sku_id, product_id, title, position, quantity, price, unit_price,"
                " goods_amount, item_discount, item_discount_platform, paid_amount, commission_rate)"
                " SELECT line_id, i, sku_id, product_id, 'bench', k, qty, price, price, qty * price, item_m, 0,"
                " qty * price - item_m - share_p, rate FROM bl")
            await conn.execute(
                "INSERT INTO order_line_shares (order_line_id, level, promotion_id, amount, funder, platform_amount,"
                " merchant_amount) SELECT line_id, 'PLATFORM_COUPON', $1, share_p, 'PLATFORM', share_p, 0"
                " FROM bl WHERE share_p > 0", promo)
            # the ledger of the payments: capture per payment, split per order (app/ledger/postings.py)
            await conn.execute(
                "INSERT INTO journal_entries (id, kind, occurred_at, merchant_id, order_id)"
                " SELECT 'payment:' || i || ':capture', 'PAYMENT_CAPTURE', $1::timestamptz, NULL::bigint, NULL::bigint FROM bo"
                " WHERE goods - discount + shipping > 0"
                " UNION ALL SELECT 'order:' || i || ':split', 'PAYMENT_SPLIT', $1::timestamptz, merchant_id, i FROM bo", paid_at)
            await conn.execute(
                "INSERT INTO postings (entry_id, account, owner_id, amount, order_id, order_line_id, occurred_at)"
                " SELECT 'payment:' || i || ':capture', a, 0, s * (goods - discount + shipping), NULL::bigint, NULL::bigint, $1::timestamptz"
                "   FROM bo CROSS JOIN (VALUES ('CASH', 1), ('CLEARING', -1)) AS v (a, s)"
                "   WHERE goods - discount + shipping > 0"
                " UNION ALL SELECT 'order:' || i || ':split', 'CLEARING', 0, goods - discount + shipping, i, NULL, $1"
                "   FROM bo WHERE goods - discount + shipping > 0"
                " UNION ALL SELECT 'order:' || i || ':split', 'MERCHANT_PENDING', merchant_id, -shipping, i, NULL, $1"
                "   FROM bo WHERE shipping > 0"
                " UNION ALL SELECT 'order:' || i || ':split', 'MERCHANT_PENDING', merchant_id,"
                "   -(qty * price - item_m - share_p), i, line_id, $1 FROM bl WHERE qty * price - item_m - share_p > 0",
                paid_at)
        progress(f"seeded {end}/{orders} orders ({3 * end} lines)")
    for table in ("payment_orders", "payments", "orders", "order_lines"):
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    await conn.execute("ANALYZE")
    return orders * 3


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--merchants", type=int, default=200)
    parser.add_argument("--batch-orders", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (to look at it)")
    args = parser.parse_args()
    admin_url = os.environ.get("ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    say(f"settlement bench: {args.lines} lines, {args.merchants} merchants on {platform.node()}"
        f" ({os.cpu_count()} cores)")
    url = await fresh_database(admin_url, DATABASE)
    conn = await asyncpg.connect(url)
    started = time.monotonic()
    try:
        lines = await seed(conn, args.lines, args.merchants, say)
    finally:
        await conn.close()
    say(f"seeded {lines} lines in {time.monotonic() - started:.1f} s")

    db = await Database.connect(url, min_size=1, max_size=2)
    try:
        started = time.monotonic()
        result = await settlement.run(db, RUN_DAY, actor="bench", batch_orders=args.batch_orders, progress=say)
        settle_s = time.monotonic() - started
        say(f"SETTLEMENT: {result.lines} settlement lines ({lines} order lines) in {result.batches} batches:"
            f" {settle_s:.1f} s ({lines / settle_s:,.0f} order lines/s; target 1,000,000 in < 60 s)")
        started = time.monotonic()
        async with db.connection() as c:
            checked = await audit(c, progress=say)
        audit_s = time.monotonic() - started
        for line in report(checked):
            say(line)
        say(f"AUDIT: {audit_s:.1f} s (target < 30 s)")
        async with db.connection() as c:
            sale = await c.fetchval("SELECT count(*) FROM settlement_lines WHERE kind = 'SALE'")
            pending = await c.fetchval("SELECT coalesce(sum(amount), 0) FROM postings WHERE account = 'MERCHANT_PENDING'")
            rerun = await settlement.run(db, RUN_DAY, batch_orders=args.batch_orders)
        assert sale == lines, (sale, lines)
        assert pending == 0, pending
        assert checked.ok
        assert rerun.lines == 0
        say(f"checked: {sale} lines settled once, merchants' pending 0, audit OK, a re-run settles nothing")
    finally:
        await db.close()
        if not args.keep:
            admin = await asyncpg.connect(admin_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
