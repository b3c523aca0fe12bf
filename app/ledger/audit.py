"""`ecom ledger audit` and the back office's audit query (DOMAIN §10, §10.1): proves, set-based,

1. all postings sum to 0 and every entry sums to 0;
2. every order reconciles (docs/ledger.md "Reconciliation"): paid = the CLEARING its split
   took (= its payable once paid), refunds = what the buyer was paid back (REFUNDS owed, CASH
   paid out: = its refunded amount), and
       paid = merchant receivable + commission − subsidy + refunds
   from the postings naming the order (split, refunds) and its settlement lines (what the runs
   moved on: a SETTLEMENT entry posts one sum per account, its lines say what it is made of):
   merchant receivable = pending left + available credited − refund recovery still owed;
   commission = what settlement charged − what refunds returned; subsidy = what settlement paid
   − what refunds reclaimed;
3. every SETTLEMENT entry's postings are the sums of its lines;
4. no order line's pending is negative, and a settled line has none left;
5. every statement equals the movement of its merchant's available balance in its run's
   SETTLEMENT entries.

What does not hold is listed (the first `limit` of each kind, with counts).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import asyncpg


@dataclass(frozen=True)
class OrderMismatch:
    order_id: int
    payable: int
    refunded_amount: int
    paid: int
    refunds: int
    receivable: int
    commission: int
    subsidy: int
    other: int                        # postings of the order in any other account


@dataclass(frozen=True)
class StatementMismatch:
    merchant_id: int
    run_day: date
    statement_net: int | None         # None: no statement for ledger movement
    ledger_net: int | None            # None: a statement with no entries


@dataclass
class AuditResult:
    postings: int = 0
    postings_total: int = 0
    entries: int = 0
    unbalanced_entries: int = 0
    unbalanced: list[tuple[str, int]] = field(default_factory=list)
    orders_checked: int = 0
    unreconciled_orders: int = 0
    unreconciled: list[OrderMismatch] = field(default_factory=list)
    negative_pending_lines: list[tuple[int, int]] = field(default_factory=list)   # or not 0 once settled
    settlement_entry_mismatches: list[str] = field(default_factory=list)
    statements_checked: int = 0
    statement_mismatches: list[StatementMismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.postings_total == 0 and not self.unbalanced_entries and not self.unreconciled_orders
                and not self.negative_pending_lines and not self.settlement_entry_mismatches
                and not self.statement_mismatches)


_ORDERS = """
WITH p AS (
    SELECT order_id,
           coalesce(sum(amount) FILTER (WHERE account = 'CLEARING'), 0) AS paid,
           -coalesce(sum(amount) FILTER (WHERE account IN ('CASH', 'REFUNDS')), 0) AS refunds,
           -coalesce(sum(amount) FILTER (WHERE account IN ('MERCHANT_PENDING', 'MERCHANT_AVAILABLE')), 0) AS owed,
           coalesce(sum(amount) FILTER (WHERE account = 'MERCHANT_REFUND_RECOVERY'), 0) AS recovery,
           -coalesce(sum(amount) FILTER (WHERE account = 'PLATFORM_COMMISSION'), 0) AS commission,
           coalesce(sum(amount) FILTER (WHERE account = 'PLATFORM_SUBSIDY'), 0) AS subsidy,
           coalesce(sum(amount) FILTER (WHERE account NOT IN ('CLEARING', 'CASH', 'REFUNDS', 'MERCHANT_PENDING',
               'MERCHANT_AVAILABLE', 'MERCHANT_REFUND_RECOVERY', 'PLATFORM_COMMISSION', 'PLATFORM_SUBSIDY')), 0)
             AS other
    FROM postings WHERE order_id IS NOT NULL GROUP BY order_id),
s AS (
    SELECT order_id, sum(goods_amount + shipping) FILTER (WHERE kind <> 'REFUND') AS settled, sum(net) AS net,
           sum(deduction) AS deducted, sum(commission) AS commission, sum(subsidy) AS subsidy
    FROM settlement_lines GROUP BY order_id),
c AS (
    SELECT o.id AS order_id, o.payable, o.refunded_amount, coalesce(p.paid, 0) AS paid,
           coalesce(p.refunds, 0) AS refunds,
           -- pending left + available credited − recovery still owed
           coalesce(p.owed, 0) - coalesce(s.settled, 0) + coalesce(s.net, 0)
             - (coalesce(p.recovery, 0) - coalesce(s.deducted, 0)) AS receivable,
           coalesce(p.commission, 0) + coalesce(s.commission, 0) AS commission,
           coalesce(p.subsidy, 0) + coalesce(s.subsidy, 0) AS subsidy, coalesce(p.other, 0) AS other
    FROM orders o LEFT JOIN p ON p.order_id = o.id LEFT JOIN s ON s.order_id = o.id
    WHERE o.paid_at IS NOT NULL OR p.order_id IS NOT NULL OR s.order_id IS NOT NULL),
bad AS (
    SELECT * FROM c WHERE paid <> payable OR refunds <> refunded_amount OR other <> 0
                       OR paid <> receivable + commission - subsidy + refunds)
SELECT (SELECT count(*) FROM c) AS checked, (SELECT count(*) FROM bad) AS bad,
       (SELECT coalesce(jsonb_agg(b), '[]') FROM (SELECT * FROM bad ORDER BY order_id LIMIT $1) b) AS listed
"""
# a SETTLEMENT entry's postings, one per account, are the sums of the settlement lines naming it
_ENTRIES = """
WITH e AS (
    SELECT p.entry_id,
           coalesce(sum(p.amount) FILTER (WHERE p.account = 'MERCHANT_PENDING'), 0) AS pending,
           coalesce(sum(p.amount) FILTER (WHERE p.account = 'PLATFORM_SUBSIDY'), 0) AS subsidy,
           -coalesce(sum(p.amount) FILTER (WHERE p.account = 'PLATFORM_COMMISSION'), 0) AS commission,
           -coalesce(sum(p.amount) FILTER (WHERE p.account = 'MERCHANT_REFUND_RECOVERY'), 0) AS deduction,
           -coalesce(sum(p.amount) FILTER (WHERE p.account = 'MERCHANT_AVAILABLE'), 0) AS net
    FROM journal_entries j JOIN postings p ON p.entry_id = j.id WHERE j.kind = 'SETTLEMENT' GROUP BY p.entry_id),
l AS (
    SELECT entry_id, sum(goods_amount + shipping) AS pending, sum(subsidy) AS subsidy, sum(commission) AS commission,
           sum(deduction) AS deduction, sum(net) AS net
    FROM settlement_lines GROUP BY entry_id)
SELECT coalesce(e.entry_id, l.entry_id) AS entry_id FROM e FULL JOIN l ON l.entry_id = e.entry_id
WHERE (coalesce(e.pending, 0), coalesce(e.subsidy, 0), coalesce(e.commission, 0), coalesce(e.deduction, 0),
       coalesce(e.net, 0))
      IS DISTINCT FROM (coalesce(l.pending, 0), coalesce(l.subsidy, 0), coalesce(l.commission, 0),
                        coalesce(l.deduction, 0), coalesce(l.net, 0))
ORDER BY 1 LIMIT $1
"""
# a line's pending: its split, less refunds before settlement, less what settlement moved on
_LINES = """
SELECT x.order_line_id, x.pending - coalesce(s.goods_amount, 0) AS pending
FROM (SELECT order_line_id, -sum(amount) AS pending FROM postings
      WHERE account = 'MERCHANT_PENDING' AND order_line_id IS NOT NULL GROUP BY order_line_id) x
LEFT JOIN settlement_lines s ON s.kind = 'SALE' AND s.order_line_id = x.order_line_id
WHERE x.pending - coalesce(s.goods_amount, 0) < 0 OR (s.id IS NOT NULL AND x.pending <> s.goods_amount)
ORDER BY 1 LIMIT $1
"""
_STATEMENTS = """
WITH l AS (
    SELECT split_part(p.entry_id, ':', 2)::date AS run_day, p.owner_id AS merchant_id, -sum(p.amount) AS net
    FROM journal_entries j JOIN postings p ON p.entry_id = j.id
    WHERE j.kind = 'SETTLEMENT' AND p.account = 'MERCHANT_AVAILABLE'
      AND p.entry_id ~ '^settlement:[0-9]{4}-[0-9]{2}-[0-9]{2}:'      -- a run's entry (its day in its id)
    GROUP BY 1, 2),
s AS (SELECT run_day, merchant_id, net FROM settlement_statements)
SELECT coalesce(s.merchant_id, l.merchant_id) AS merchant_id, coalesce(s.run_day, l.run_day) AS run_day,
       s.net AS statement_net, l.net AS ledger_net
FROM s FULL JOIN l ON l.run_day = s.run_day AND l.merchant_id = s.merchant_id
WHERE s.net IS DISTINCT FROM coalesce(l.net, CASE WHEN s.net = 0 THEN 0 END)
ORDER BY 2, 1 LIMIT $1
"""


async def audit(conn: asyncpg.Connection, limit: int = 20,
                progress: Callable[[str], None] = lambda _: None) -> AuditResult:
    r = AuditResult()
    progress("audit: entries and postings")
    row = await conn.fetchrow(
        "SELECT count(*) AS entries, coalesce(sum(n), 0) AS postings, coalesce(sum(total), 0) AS total,"
        " count(*) FILTER (WHERE total <> 0) AS bad,"
        " (array_agg(entry_id ORDER BY entry_id) FILTER (WHERE total <> 0))[1:$1] AS ids,"
        " (array_agg(total ORDER BY entry_id) FILTER (WHERE total <> 0))[1:$1] AS totals"
        " FROM (SELECT entry_id, sum(amount) AS total, count(*) AS n FROM postings GROUP BY entry_id) e", limit)
    r.postings, r.postings_total = int(row["postings"]), int(row["total"])
    r.entries = await conn.fetchval("SELECT count(*) FROM journal_entries")
    r.unbalanced_entries = row["bad"]
    r.unbalanced = list(zip(row["ids"] or [], [int(t) for t in row["totals"] or []]))
    progress(f"audit: {r.postings} postings in {r.entries} entries, total {r.postings_total},"
             f" {r.unbalanced_entries} unbalanced; orders")
    row = await conn.fetchrow(_ORDERS, limit)
    r.orders_checked, r.unreconciled_orders = row["checked"], row["bad"]
    r.unreconciled = [OrderMismatch(**{k: int(v) for k, v in o.items()}) for o in row["listed"]]
    progress(f"audit: {r.orders_checked} orders, {r.unreconciled_orders} not reconciled; lines and statements")
    r.negative_pending_lines = [(x["order_line_id"], int(x["pending"])) for x in await conn.fetch(_LINES, limit)]
    r.settlement_entry_mismatches = [x["entry_id"] for x in await conn.fetch(_ENTRIES, limit)]
    r.statements_checked = await conn.fetchval("SELECT count(*) FROM settlement_statements")
    r.statement_mismatches = [StatementMismatch(x["merchant_id"], x["run_day"], x["statement_net"], x["ledger_net"])
                              for x in await conn.fetch(_STATEMENTS, limit)]
    progress(f"audit: {'OK' if r.ok else 'FAILED'}")
    return r


def report(r: AuditResult) -> list[str]:
    """What the CLI prints."""
    out = [f"postings: {r.postings} in {r.entries} entries, sum {r.postings_total}",
           f"unbalanced entries: {r.unbalanced_entries}"]
    out += [f"  {entry_id}: sums to {total}" for entry_id, total in r.unbalanced]
    out.append(f"orders: {r.orders_checked} checked, {r.unreconciled_orders} not reconciled")
    out += [f"  order {o.order_id}: payable {o.payable} paid {o.paid}; refunded {o.refunded_amount} refunds {o.refunds};"
            f" receivable {o.receivable} + commission {o.commission} - subsidy {o.subsidy} + refunds {o.refunds}"
            f" = {o.receivable + o.commission - o.subsidy + o.refunds}; other accounts {o.other}" for o in r.unreconciled]
    out.append(f"lines with negative pending (or pending left once settled): {len(r.negative_pending_lines)}")
    out += [f"  line {line}: pending {p}" for line, p in r.negative_pending_lines]
    out.append(f"settlement entries not the sums of their lines: {len(r.settlement_entry_mismatches)}")
    out += [f"  {entry_id}" for entry_id in r.settlement_entry_mismatches]
    out.append(f"statements: {r.statements_checked} checked, {len(r.statement_mismatches)} not matching the ledger")
    out += [f"  merchant {s.merchant_id} {s.run_day}: statement {s.statement_net}, ledger {s.ledger_net}"
            for s in r.statement_mismatches]
    out.append("OK" if r.ok else "FAILED")
    return out
