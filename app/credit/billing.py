"""The daily billing run (DOMAIN §8.1) for day D (UTC), set-based in batches of bill ids so a
million bills take seconds and bounded memory:

1. **Penalties and overdue**: every open bill with unpaid principal or fee whose due date plus
   the grace days is before D is OVERDUE, and each day after that up to D not yet counted adds
   round-half-up((unpaid principal + unpaid fee) × daily rate) — never on the penalty itself.
   The run for D counts D (it runs at the start of the day), and `penalty_through` records the
   last day counted, so running a day twice adds nothing and a missed day is caught up.
2. **Reminders**: a bill due within `credit_reminder_days` gets one due-soon notification; an
   overdue bill one overdue notification (both PUSH, in the buyer notification outbox).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from app.config import Settings
from app.db import Database

BATCH = 50_000


@dataclass
class BillingResult:
    day: date
    overdue: int = 0           # bills that became overdue in this run
    penalised: int = 0         # bills whose penalty grew
    reminded: int = 0
    overdue_notices: int = 0


_PENALTIES = """
WITH due AS (
    SELECT id, status AS was FROM bills
    WHERE id BETWEEN $1 AND $2 AND status IN ('PENDING', 'OVERDUE') AND due_on + $4::int < $3::date
      AND (penalty_through IS NULL OR penalty_through < $3::date)
      AND principal - paid_principal + fee - paid_fee > 0
    FOR UPDATE)
UPDATE bills b SET
    penalty = b.penalty + ($3::date - greatest(b.penalty_through, b.due_on + $4::int))
              * round((b.principal - b.paid_principal + b.fee - b.paid_fee) * $5::numeric),
    penalty_through = $3::date,
    status = 'OVERDUE'
FROM due WHERE b.id = due.id
RETURNING due.was
"""
# one notification per bill and kind: the bill row records it in the same statement
_NOTIFY = """
WITH due AS (
    UPDATE bills b SET {column} = $3::date
    WHERE b.id BETWEEN $1 AND $2 AND {condition} AND b.{column} IS NULL
    RETURNING b.buyer_id, b.loan_id, b.period, b.due_on,
              b.principal - b.paid_principal + b.fee - b.paid_fee + b.penalty - b.paid_penalty AS owed)
INSERT INTO buyer_notifications (buyer_id, channel, template, payload)
SELECT buyer_id, 'PUSH', '{template}', jsonb_build_object('loan_id', loan_id, 'period', period,
       'due_on', due_on, 'owed', owed) FROM due
"""
_DUE_SOON = _NOTIFY.format(column="reminded_on", template="CREDIT_BILL_DUE_SOON", condition=(
    "b.status = 'PENDING' AND b.due_on > $3::date AND b.due_on <= $3::date + $4::int"
    " AND b.principal - b.paid_principal + b.fee - b.paid_fee > 0"))
_OVERDUE = _NOTIFY.format(column="overdue_notified_on", template="CREDIT_BILL_OVERDUE", condition="b.status = 'OVERDUE'")


async def run_billing(db: Database, settings: Settings, day: date,
                      progress: Callable[[str], None] | None = None) -> BillingResult:
    result = BillingResult(day)
    bounds = await db.fetchrow("SELECT min(id) AS lo, max(id) AS hi FROM bills WHERE status IN ('PENDING', 'OVERDUE')"
                               " AND due_on <= $1::date + $2::int", day, settings.credit_reminder_days)
    if bounds is None or bounds["lo"] is None:
        return result
    lo, hi = bounds["lo"], bounds["hi"]
    for start in range(lo, hi + 1, BATCH):
        end = min(start + BATCH - 1, hi)
        async with db.transaction() as conn:
            rows = await conn.fetch(_PENALTIES, start, end, day, settings.credit_grace_days,
                                    settings.credit_penalty_daily_rate)
            result.penalised += len(rows)
            result.overdue += sum(r["was"] == "PENDING" for r in rows)
            result.reminded += _count(await conn.execute(_DUE_SOON, start, end, day, settings.credit_reminder_days))
            result.overdue_notices += _count(await conn.execute(_OVERDUE, start, end, day))
        if progress is not None:
            progress(f"bills {start}..{end} of {lo}..{hi}: {result.penalised} penalised, {result.overdue} newly overdue")
    return result


def _count(status: str) -> int:
    """Rows of an `INSERT 0 n` command tag."""
    return int(status.rsplit(" ", 1)[-1])
