"""Credit jobs: the daily billing run (overdue bills, penalties, reminders; app/credit/billing.py)."""

from datetime import UTC, datetime

import structlog
from arq import cron

from app.credit.billing import run_billing

log = structlog.get_logger(__name__)


async def credit_billing(ctx: dict) -> int:
    """Bill today (UTC): safe to run again the same day, and a missed day is caught up."""
    result = await run_billing(ctx["db"], ctx["settings"], datetime.now(UTC).date())
    log.info("credit billing run", day=str(result.day), overdue=result.overdue, penalised=result.penalised,
             reminded=result.reminded, overdue_notices=result.overdue_notices)
    return result.penalised


FUNCTIONS = [credit_billing]
# at the start of each UTC day, and at start-up (a worker down at midnight catches up)
CRON_JOBS = [cron(credit_billing, hour={0}, minute={5}, second={0}, unique=True, run_at_startup=True)]
