"""Credit jobs: the daily billing run (overdue bills, penalties, reminders; app/credit/billing.py)
and financing the loans whose financing time has come (app/credit/financing.py)."""

from datetime import UTC, datetime

import structlog
from arq import cron

from app.credit import financing
from app.credit.billing import run_billing

log = structlog.get_logger(__name__)


async def credit_billing(ctx: dict) -> int:
    """Bill today (UTC): safe to run again the same day, and a missed day is caught up."""
    result = await run_billing(ctx["db"], ctx["settings"], datetime.now(UTC).date())
    log.info("credit billing run", day=str(result.day), overdue=result.overdue, penalised=result.penalised,
             reminded=result.reminded, overdue_notices=result.overdue_notices)
    return result.penalised


async def finance_due_loans(ctx: dict) -> int:
    """Route every loan whose financing time has come (at receipt; at payment, what a crash left),
    each in its own transaction; safe to run twice."""
    async with ctx["db"].connection() as conn:
        due = await financing.due_for_financing(conn, ctx["settings"].credit_financing_time, FINANCE_BATCH)
    for loan_id in due:
        async with ctx["db"].transaction() as conn:
            await financing.finance(conn, loan_id, datetime.now(UTC))
    return len(due)


FINANCE_BATCH = 200
FUNCTIONS = [credit_billing, finance_due_loans]
# at the start of each UTC day, and at start-up (a worker down at midnight catches up)
CRON_JOBS = [cron(credit_billing, hour={0}, minute={5}, second={0}, unique=True, run_at_startup=True),
             cron(finance_due_loans, second={0, 30}, unique=True)]
