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


# one pass over a batch: penalties, OVERDUE, and the overdue notice the first time (the bill row
# records the day it went out, so the notice goes once)
_PENALTIES = """
WITH moved AS (
    UPDATE bills b SET
        penalty = b.penalty + ($3::date - greatest(b.penalty_through, b.due_on + $4::int))
                  * round((b.principal - b.paid_principal + b.fee - b.paid_fee) * $5::numeric),
        penalty_through = $3::date,
        status = 'OVERDUE',
        overdue_notified_on = coalesce(b.overdue_notified_on, $3::date)
    WHERE b.id BETWEEN $1 AND $2 AND b.status IN ('PENDING', 'OVERDUE') AND b.due_on + $4::int < $3::date
      AND (b.penalty_through IS NULL OR b.penalty_through < $3::date)
      AND b.principal - b.paid_principal + b.fee - b.paid_fee > 0
    RETURNING b.buyer_id, b.loan_id, b.period, b.due_on, b.overdue_notified_on = $3::date AS newly,
              b.principal - b.paid_principal + b.fee - b.paid_fee + b.penalty - b.paid_penalty AS owed),
notified AS (
    INSERT INTO buyer_notifications (buyer_id, channel, template, payload)
    SELECT buyer_id, 'PUSH', 'CREDIT_BILL_OVERDUE', jsonb_build_object('loan_id', loan_id, 'period', period,
           'due_on', due_on, 'owed', owed) FROM moved WHERE newly
    RETURNING 1)
SELECT (SELECT count(*) FROM moved) AS penalised, (SELECT count(*) FROM notified) AS newly
"""
# the due-soon reminder, once per bill: the bill row records it in the same statement
_DUE_SOON = """
WITH due AS (
    UPDATE bills b SET reminded_on = $3::date
    WHERE b.id BETWEEN $1 AND $2 AND b.status = 'PENDING' AND b.due_on > $3::date AND b.due_on <= $3::date + $4::int
      AND b.principal - b.paid_principal + b.fee - b.paid_fee > 0 AND b.reminded_on IS NULL
    RETURNING b.buyer_id, b.loan_id, b.period, b.due_on,
              b.principal - b.paid_principal + b.fee - b.paid_fee + b.penalty - b.paid_penalty AS owed)
INSERT INTO buyer_notifications (buyer_id, channel, template, payload)
SELECT buyer_id, 'PUSH', 'CREDIT_BILL_DUE_SOON', jsonb_build_object('loan_id', loan_id, 'period', period,
       'due_on', due_on, 'owed', owed) FROM due
"""


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
            counts = await conn.fetchrow(_PENALTIES, start, end, day, settings.credit_grace_days,
                                         settings.credit_penalty_daily_rate)
            result.penalised += counts["penalised"]
            result.overdue += counts["newly"]
            result.overdue_notices += counts["newly"]
            result.reminded += _count(await conn.execute(_DUE_SOON, start, end, day, settings.credit_reminder_days))
        if progress is not None:
            progress(f"bills {start}..{end} of {lo}..{hi}: {result.penalised} penalised, {result.overdue} newly overdue")
    return result


def _count(status: str) -> int:
    """Rows of an `INSERT 0 n` command tag."""
    return int(status.rsplit(" ", 1)[-1])
