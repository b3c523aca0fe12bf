"""The daily reconciliation (app/reconciliation/service.py): at 00:30 UTC the two days before
are matched against the provider's statements — the day before for the first time, the one
before that again, so late callbacks clear the differences they caused. Re-runs are idempotent."""

from datetime import UTC, datetime, timedelta

from arq import cron

from app.errors import DomainError
from app.reconciliation import service


async def reconcile_days(ctx: dict) -> list[int]:
    """Open differences per day reconciled (a day whose statement is unavailable is recorded as
    FAILED on its run and retried by tomorrow's run)."""
    today = datetime.now(UTC).date()
    counts = []
    for back in (1, 2):
        try:
            result = await service.reconcile(ctx["db"], ctx["settings"], ctx["http"], today - timedelta(days=back))
            counts.append(len(result.differences))
        except DomainError:
            counts.append(-1)
    return counts


FUNCTIONS = [reconcile_days]
CRON_JOBS = [cron(reconcile_days, hour={0}, minute={30}, second={0}, unique=True)]
