"""Settlement runs (DOMAIN §10, §10.1): the run for day D — after every event dated D, UTC —
settles each order line whose order completed at least N days before D (the merchant's terms,
default T+7; WEEKLY merchants in Sunday's run, MONTHLY in a month's last day's) and that no
after-sale case holds, and deducts the merchant's refunds after settlement confirmed up to D.

Per line, of its unrefunded units (the refunds took theirs, app/ledger/postings.py):
receivable = paid + platform subsidy (the amount after merchant-funded discounts), commission =
round-half-up(rate × receivable), and the merchant's available balance gets receivable −
commission: Dr MERCHANT_PENDING (paid) + Dr PLATFORM_SUBSIDY (subsidy) / Cr PLATFORM_COMMISSION
(commission) + Cr MERCHANT_AVAILABLE (net). An order's shipping goes from pending to available
whole, with no commission. A refund after settlement: Dr MERCHANT_AVAILABLE / Cr
MERCHANT_REFUND_RECOVERY (the available balance may go negative, §10.1).

Set-based: orders in batches (their rows locked FOR SHARE, so no refund or after-sale of them
lands half-way), each batch one transaction of a few statements writing `settlement_lines`
(the claim: unique per line, per order's shipping, per refund line; each names its entry), one
SETTLEMENT entry per merchant in the batch with one posting per account (the sums of its lines:
a million lines make a few thousand postings, not millions), checked with
`journal.check_balanced`. Every batch
takes one advisory lock, so two workers running runs at once take turns batch by batch and
each line is settled once; a re-run finds nothing left and changes nothing. The statement per
merchant and run is the sum of its lines, written (and its event emitted) when it changes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from app.aftersale import units
from app.db import Database
from app.errors import DomainError
from app.events import emit
from app.ledger.errors import LedgerError
from app.ledger.journal import check_balanced

LOCK_KEY = 1_0025_0001          # pg_advisory_xact_lock: one settlement batch at a time
DEFAULT_DELAY_DAYS = 7
CYCLES = ("DAILY", "WEEKLY", "MONTHLY")

# the merchant's terms (t, LEFT JOIN settlement_terms) settle it in the run for day $1
_IN_CYCLE = ("(coalesce(t.cycle, 'DAILY') = 'DAILY'"
             " OR (t.cycle = 'WEEKLY' AND extract(isodow FROM $1::date) = 7)"
             " OR (t.cycle = 'MONTHLY' AND extract(day FROM $1::date + 1) = 1))")
_CUTOFF = f"(($1::date - coalesce(t.delay_days, {DEFAULT_DELAY_DAYS}) + 1)::timestamp AT TIME ZONE 'UTC')"

_TEMP = """
CREATE TEMP TABLE _settle (
    run_day date, merchant_id bigint, kind text, order_id bigint, order_line_id bigint, refund_id bigint,
    quantity int DEFAULT 0, goods_amount bigint DEFAULT 0, subsidy bigint DEFAULT 0, receivable bigint DEFAULT 0,
    commission bigint DEFAULT 0, commission_rate numeric(6, 4) DEFAULT 0, shipping bigint DEFAULT 0,
    deduction bigint DEFAULT 0, net bigint, entry_id text, charge_id bigint) ON COMMIT DROP
"""
_COLUMNS = ("run_day, merchant_id, kind, order_id, order_line_id, refund_id, quantity, goods_amount, subsidy,"
            " receivable, commission, commission_rate, shipping, deduction, net, entry_id, charge_id")

# $1 run day, $2 order ids, $3 held line ids, $4 entry id prefix ('settlement:<day>:' … ':b<batch>')
_SALES = """
INSERT INTO _settle (run_day, merchant_id, kind, order_id, order_line_id, quantity, goods_amount, subsidy,
                     receivable, commission, commission_rate, net, entry_id)
SELECT $1::date, x.merchant_id, 'SALE', x.order_id, x.id, x.units, x.goods, x.subsidy, x.goods + x.subsidy,
       round(x.rate * (x.goods + x.subsidy))::bigint, x.rate,
       x.goods + x.subsidy - round(x.rate * (x.goods + x.subsidy))::bigint,
       'settlement:' || $1::date::text || ':' || x.merchant_id || ':b' || $4::bigint
FROM (SELECT l.id, l.order_id, o.merchant_id, l.commission_rate AS rate,
             l.quantity - coalesce(r.units, 0) AS units,
             l.paid_amount - coalesce(r.paid, 0) AS goods,
             l.item_discount_platform + coalesce(sh.platform, 0) - coalesce(r.subsidy, 0) AS subsidy
      FROM order_lines l JOIN orders o ON o.id = l.order_id
      LEFT JOIN (SELECT s.order_line_id, sum(s.platform_amount) AS platform FROM order_line_shares s
                 JOIN order_lines l2 ON l2.id = s.order_line_id WHERE l2.order_id = ANY($2::bigint[])
                 GROUP BY s.order_line_id) sh ON sh.order_line_id = l.id
      LEFT JOIN (SELECT order_line_id, sum(paid_amount) AS paid, sum(subsidy_amount) AS subsidy,
                        sum(cardinality(units)) AS units
                 FROM ledger_refund_lines WHERE order_id = ANY($2::bigint[]) AND order_line_id IS NOT NULL
                 GROUP BY order_line_id) r ON r.order_line_id = l.id
      WHERE l.order_id = ANY($2::bigint[]) AND l.id <> ALL($3::bigint[])
        AND NOT EXISTS (SELECT 1 FROM settlement_lines s WHERE s.kind = 'SALE' AND s.order_line_id = l.id)) x
"""
_SHIPPING = """
INSERT INTO _settle (run_day, merchant_id, kind, order_id, shipping, net, entry_id)
SELECT $1::date, o.merchant_id, 'SHIPPING', o.id, o.shipping - coalesce(r.paid, 0), o.shipping - coalesce(r.paid, 0),
       'settlement:' || $1::date::text || ':' || o.merchant_id || ':b' || $3::bigint
FROM orders o
LEFT JOIN (SELECT order_id, sum(paid_amount) AS paid FROM ledger_refund_lines
           WHERE order_id = ANY($2::bigint[]) AND order_line_id IS NULL AND NOT after_settlement
           GROUP BY order_id) r ON r.order_id = o.id
WHERE o.id = ANY($2::bigint[]) AND o.shipping - coalesce(r.paid, 0) <> 0
  AND NOT EXISTS (SELECT 1 FROM settlement_lines s WHERE s.kind = 'SHIPPING' AND s.order_id = o.id)
"""
# $1 run day, $2 end of day, $3 batch
_RECOVERIES = f"""
INSERT INTO _settle (run_day, merchant_id, kind, order_id, order_line_id, refund_id, deduction, net, entry_id)
SELECT $1::date, r.merchant_id, 'REFUND', r.order_id, r.order_line_id, r.refund_id, r.recovery, -r.recovery,
       'settlement:' || $1::date::text || ':' || r.merchant_id || ':b' || $3::bigint
FROM ledger_refund_lines r LEFT JOIN settlement_terms t ON t.merchant_id = r.merchant_id
WHERE r.after_settlement AND r.occurred_at <= $2 AND {_IN_CYCLE}
  AND NOT EXISTS (SELECT 1 FROM settlement_lines s WHERE s.kind = 'REFUND' AND s.refund_id = r.refund_id
                  AND coalesce(s.order_line_id, 0) = coalesce(r.order_line_id, 0))
"""
# charges (app/ledger/charges.py) the merchant owes since: deducted like a refund after settlement
_CHARGES = f"""
INSERT INTO _settle (run_day, merchant_id, kind, order_id, charge_id, deduction, net, entry_id)
SELECT $1::date, c.merchant_id, 'CHARGE', c.order_id, c.id, c.amount, -c.amount,
       'settlement:' || $1::date::text || ':' || c.merchant_id || ':b' || $3::bigint
FROM merchant_charges c LEFT JOIN settlement_terms t ON t.merchant_id = c.merchant_id
WHERE c.occurred_at <= $2 AND {_IN_CYCLE}
  AND NOT EXISTS (SELECT 1 FROM settlement_lines s WHERE s.kind = 'CHARGE' AND s.charge_id = c.id)
"""
# the claim: a line already settled makes this fail (unique index) and the batch roll back
_CLAIM = f"INSERT INTO settlement_lines ({_COLUMNS}) SELECT {_COLUMNS} FROM _settle"
_ENTRIES = """
INSERT INTO journal_entries (id, kind, occurred_at, merchant_id, operator)
SELECT DISTINCT entry_id, 'SETTLEMENT', $1::timestamptz, merchant_id, $2::text FROM _settle
"""
# one posting per account and entry: the lines themselves are in settlement_lines (entry_id),
# and `ecom ledger audit` proves each entry's postings are its lines' sums
_POSTINGS = """
INSERT INTO postings (entry_id, account, owner_id, amount, occurred_at)
SELECT s.entry_id, p.account, p.owner_id, sum(p.amount), $1::timestamptz
FROM _settle s CROSS JOIN LATERAL (VALUES
    ('MERCHANT_PENDING', s.merchant_id, s.goods_amount + s.shipping),
    ('PLATFORM_SUBSIDY', 0::bigint, s.subsidy),
    ('PLATFORM_COMMISSION', 0::bigint, -s.commission),
    ('MERCHANT_REFUND_RECOVERY', s.merchant_id, -s.deduction),
    ('MERCHANT_AVAILABLE', s.merchant_id, -s.net)) AS p (account, owner_id, amount)
GROUP BY s.entry_id, p.account, p.owner_id HAVING sum(p.amount) <> 0
"""
_STATEMENTS = """
INSERT INTO settlement_statements AS st (merchant_id, run_day, cycle, lines, goods_amount, subsidy, commission,
                                         shipping, refund_deductions, net)
SELECT s.merchant_id, $1::date, coalesce(t.cycle, 'DAILY') || ' T+' || coalesce(t.delay_days, 7), count(*),
       sum(s.goods_amount), sum(s.subsidy), sum(s.commission), sum(s.shipping), sum(s.deduction), sum(s.net)
FROM settlement_lines s LEFT JOIN settlement_terms t ON t.merchant_id = s.merchant_id
WHERE s.run_day = $1::date GROUP BY s.merchant_id, t.cycle, t.delay_days
ON CONFLICT (merchant_id, run_day) DO UPDATE SET lines = EXCLUDED.lines, goods_amount = EXCLUDED.goods_amount,
    subsidy = EXCLUDED.subsidy, commission = EXCLUDED.commission, shipping = EXCLUDED.shipping,
    refund_deductions = EXCLUDED.refund_deductions, net = EXCLUDED.net, updated_at = now()
WHERE (st.lines, st.net, st.goods_amount, st.subsidy, st.commission, st.shipping, st.refund_deductions)
      IS DISTINCT FROM (EXCLUDED.lines, EXCLUDED.net, EXCLUDED.goods_amount, EXCLUDED.subsidy, EXCLUDED.commission,
                        EXCLUDED.shipping, EXCLUDED.refund_deductions)
RETURNING *
"""


def check_run_day(day: date, now: datetime) -> None:
    """A run is for a day that has ended (UTC): every event dated that day has happened."""
    if day >= now.astimezone(UTC).date():
        raise DomainError.of(LedgerError.INVALID_RUN_DAY, f"{day} has not ended yet (UTC)", "day")


def end_of(day: date) -> datetime:
    """The last instant of a UTC day: a run's entries occur then."""
    return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(microseconds=1)


@dataclass
class RunResult:
    run_day: date
    lines: int = 0                 # settled by this call
    batches: int = 0
    statements_changed: int = 0


async def _write_batch(conn: asyncpg.Connection, day: date, actor: str) -> int:
    """Claim, post and check what `_settle` holds; returns its row count."""
    count = await conn.fetchval("SELECT count(*) FROM _settle")
    if not count:
        return 0
    await conn.execute(_CLAIM)
    ids = [r["entry_id"] for r in await conn.fetch("SELECT DISTINCT entry_id FROM _settle")]
    written = await conn.execute(_ENTRIES, end_of(day), actor)
    assert int(written.split()[-1]) == len(ids), "settlement entry ids are fresh (settlement_batches)"
    await conn.execute(_POSTINGS, end_of(day))
    await check_balanced(conn, ids)
    return int(count)


async def _sales_batch(db: Database, day: date, after_id: int, batch_orders: int, actor: str
                       ) -> tuple[int, int, int]:
    """One transaction: the next orders due (after `after_id`), their lines not held and not yet
    settled, and their shipping. Returns (orders looked at, lines written, last order id)."""
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        order_ids = [r["id"] for r in await conn.fetch(
            f"SELECT o.id FROM orders o LEFT JOIN settlement_terms t ON t.merchant_id = o.merchant_id"
            f" WHERE o.completed_at IS NOT NULL AND o.id > $2 AND {_IN_CYCLE} AND o.completed_at < {_CUTOFF}"
            f" AND (EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND NOT EXISTS ("
            f"        SELECT 1 FROM settlement_lines s WHERE s.kind = 'SALE' AND s.order_line_id = l.id))"
            f"   OR (o.shipping > 0 AND NOT EXISTS (SELECT 1 FROM settlement_lines s WHERE s.kind = 'SHIPPING'"
            f"        AND s.order_id = o.id)))"
            f" ORDER BY o.id LIMIT $3 FOR SHARE OF o", day, after_id, batch_orders)]
        if not order_ids:
            return 0, 0, after_id
        # a fresh statement (READ COMMITTED) after the locks: cases and refunds as they stand now
        held = await units.lines_in_progress(conn, order_ids)
        batch = await conn.fetchval("SELECT nextval('settlement_batches')")
        await conn.execute(_TEMP)
        await conn.execute(_SALES, day, order_ids, held, batch)
        await conn.execute(_SHIPPING, day, order_ids, batch)
        written = await _write_batch(conn, day, actor)
        return len(order_ids), written, order_ids[-1]


async def _recoveries(db: Database, day: date, actor: str) -> int:
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        batch = await conn.fetchval("SELECT nextval('settlement_batches')")
        await conn.execute(_TEMP)
        await conn.execute(_RECOVERIES, day, end_of(day), batch)
        await conn.execute(_CHARGES, day, end_of(day), batch)
        return await _write_batch(conn, day, actor)


async def _statements(db: Database, day: date) -> int:
    """The run's statements from its lines; an event for each one new or changed."""
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        changed = await conn.fetch(_STATEMENTS, day)
        for st in changed:
            await emit(conn, "settlement", "SETTLEMENT_COMPLETED", statement_payload(st), merchant_id=st["merchant_id"])
        lines = await conn.fetchval("SELECT count(*) FROM settlement_lines WHERE run_day = $1", day)
        statements = await conn.fetchval("SELECT count(*) FROM settlement_statements WHERE run_day = $1", day)
        await conn.execute("UPDATE settlement_runs SET status = 'DONE', lines = $2, statements = $3, finished_at = now()"
                           " WHERE run_day = $1 AND (status, lines, statements) IS DISTINCT FROM ('DONE', $2, $3)",
                           day, lines, statements)
        return len(changed)


def statement_payload(st: asyncpg.Record) -> dict:
    return {"statement_id": st["id"], "merchant_id": st["merchant_id"], "run_day": st["run_day"].isoformat(),
            "cycle": st["cycle"], "lines": st["lines"], "goods_amount": st["goods_amount"], "subsidy": st["subsidy"],
            "commission": st["commission"], "shipping": st["shipping"],
            "refund_deductions": st["refund_deductions"], "net": st["net"]}


async def run(db: Database, day: date, *, actor: str = "system:settlement", batch_orders: int = 10_000,
              progress: Callable[[str], None] = lambda _: None) -> RunResult:
    """Settle day `day` (idempotent; safe to run on several workers at once)."""
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO settlement_runs (run_day) VALUES ($1) ON CONFLICT DO NOTHING", day)
    result, after = RunResult(day), 0
    while True:
        seen, written, after = await _sales_batch(db, day, after, batch_orders, actor)
        if not seen:
            break
        result.lines += written
        result.batches += 1
        progress(f"settlement {day}: batch {result.batches}, {seen} orders, {written} lines"
                 f" ({result.lines} so far)")
        if seen < batch_orders:
            break
    recovered = await _recoveries(db, day, actor)
    result.lines += recovered
    if recovered:
        progress(f"settlement {day}: {recovered} refunds after settlement deducted")
    result.statements_changed = await _statements(db, day)
    progress(f"settlement {day}: done, {result.lines} lines settled now, {result.statements_changed} statements"
             " written")
    return result
