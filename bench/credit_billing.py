"""The daily credit billing run over a million bills (issue 11 "Must measure": < 30 s).

    ADMIN_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/credit_billing.py [--bills 1000000] [--out bench/results/…txt]

A fresh database `ecom_bench_billing` (migrated) gets N bills written with SQL: one 12-period
loan per buyer (⌈N/12⌉ buyers with credit lines), all twelve bills past due on the run day, a
third of them partly repaid. Then the billing run of app/credit/billing.py twice: day D (every
bill turns OVERDUE; penalties of the days since each due date; overdue notices) and D + 1 (one
more penalty day each, nothing else). Each run's time is reported; the check: every bill is
OVERDUE with penalty_through = D + 1, and one overdue notice per bill.
"""

import argparse
import asyncio
import os
import platform
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import get_settings  # noqa: E402
from app.credit.billing import run_billing  # noqa: E402
from app.db import Database  # noqa: E402
from bench._procs import fresh_database  # noqa: E402

DATABASE = "ecom_bench_billing"
DAY = date(2026, 2, 1)        # bills due 2025-02-10 … 2026-01-10: all past due


async def seed(url: str, bills: int) -> None:
    loans = -(-bills // 12)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO buyers (id, phone, password_hash)"
                               " SELECT g, '139' || lpad(g::text, 8, '0'), 'x' FROM generate_series(1, $1) g", loans)
            await conn.execute(
                "INSERT INTO credit_applications (id, buyer_id, id_number_mask, id_digest, monthly_income, phone, status,"
                " tier, credit_limit, score, rules) SELECT g, g, '110***', 'd' || g, 1000000, '', 'APPROVED', 'A',"
                " 5000000, 800, '[]' FROM generate_series(1, $1) g", loans)
            await conn.execute(
                "INSERT INTO credit_lines (buyer_id, application_id, id_digest, tier, credit_limit, outstanding_principal,"
                " due_day) SELECT g, g, 'd' || g, 'A', 5000000, 1200000, 10 FROM generate_series(1, $1) g", loans)
            await conn.execute(
                "INSERT INTO loans (id, buyer_id, principal, periods, rate_percent, due_day, created_at)"
                " SELECT g, g, 1200000, 12, 8.8, 10, '2025-01-15' FROM generate_series(1, $1) g", loans)
            await conn.execute(
                """
                INSERT INTO bills (loan_id, buyer_id, period, due_on, principal, fee, paid_principal)
                SELECT l, l, p, (date '2025-01-10' + make_interval(months => p))::date, 100000, 8800,
                       CASE WHEN (l + p) % 3 = 0 THEN 40000 ELSE 0 END
                FROM generate_series(1, $1) l, generate_series(1, 12) p
                WHERE (l - 1) * 12 + p <= $2
                """, loans, bills)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def run(admin_url: str, bills: int) -> dict:
    url = await fresh_database(admin_url, DATABASE)
    t0 = time.perf_counter()
    await seed(url, bills)
    seeded = time.perf_counter() - t0
    settings = get_settings().model_copy(update={"database_url": url})
    db = await Database.connect(url, min_size=1, max_size=2)
    try:
        times = []
        for day in (DAY, DAY.replace(day=2)):
            t0 = time.perf_counter()
            result = await run_billing(db, settings, day, progress=lambda line: print(" ", line, flush=True))
            times.append((day, time.perf_counter() - t0, result))
        check = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'OVERDUE' AND penalty_through = $1) AS ok, count(*) AS total,"
            " (SELECT count(*) FROM buyer_notifications WHERE template = 'CREDIT_BILL_OVERDUE') AS notices FROM bills",
            DAY.replace(day=2))
    finally:
        await db.close()
    assert check["ok"] == check["total"] == bills == check["notices"], dict(check)
    return {"bills": bills, "seed_s": seeded, "runs": times}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bills", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    admin_url = os.environ.get("ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    result = await run(admin_url, args.bills)
    lines = [f"# bench/credit_billing.py {datetime.now(UTC):%Y-%m-%dT%H:%MZ} on {platform.node()} ({os.cpu_count()} CPUs)",
             f"bills={result['bills']:,} (seeded in {result['seed_s']:.1f} s)"]
    for day, seconds, r in result["runs"]:
        lines.append(f"run {day}: {seconds:.2f} s — {r.overdue:,} newly overdue, {r.penalised:,} penalised, "
                     f"{r.overdue_notices:,} overdue notices")
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
