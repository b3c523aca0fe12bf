"""The daily settlement run (DOMAIN §10.1): shortly after midnight UTC, yesterday is settled
(app/ledger/settlement.py). The run is idempotent and takes turns with any other run batch by
batch (an advisory lock), so a cron firing on several workers, a retry or an operator's
`ecom settle --date D` at the same time settle each line once. A missed day (workers down) is
caught up: each tick settles every day since the last finished run, oldest first, at most a week."""

from datetime import UTC, datetime, timedelta

import structlog
from arq import cron

from app.ledger import settlement

log = structlog.get_logger("settlement")
CATCH_UP_DAYS = 7


async def settle_due_days(ctx: dict) -> int:
    """Settle the days that ended and have no finished run (yesterday, and any missed). Returns
    the lines settled."""
    db = ctx["db"]
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    done = {r["run_day"] for r in await db.fetch(
        "SELECT run_day FROM settlement_runs WHERE status = 'DONE' AND run_day > $1",
        yesterday - timedelta(days=CATCH_UP_DAYS))}
    lines = 0
    for back in range(CATCH_UP_DAYS - 1, -1, -1):
        day = yesterday - timedelta(days=back)
        if day in done:
            continue
        result = await settlement.run(db, day, progress=lambda msg: log.info(msg))
        lines += result.lines
    return lines


FUNCTIONS = [settle_due_days]
CRON_JOBS = [cron(settle_due_days, hour={0}, minute={15}, unique=True, timeout=3600)]
