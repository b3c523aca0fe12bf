"""Payout jobs (app/payouts/sending.py): `send_payout` runs for every approved withdrawal,
started by its WITHDRAWAL_APPROVED event, and retries an unanswered send with backoff; the
sweeper finds approved withdrawals whose job was lost or gave up, and payouts in transit whose
callback never came. Every run is safe twice over: the withdrawal row decides, and the channel
dedupes on the withdrawal."""

from datetime import UTC, datetime, timedelta

from arq import Retry, cron

from app.events import Event
from app.jobs import JobCall, enqueue, per_event
from app.payouts import sending

SEND_PAYOUT = "send_payout"


def _now() -> datetime:
    return datetime.now(UTC)


async def send_payout(ctx: dict, withdrawal_id: int) -> str | None:
    """One step of the withdrawal's payout; returns its status after."""
    progress = await sending.advance(ctx["db"], ctx["settings"], ctx["http"], withdrawal_id, _now())
    if progress.retry_in is not None:
        raise Retry(defer=progress.retry_in)
    return progress.status


async def sweep_payouts(ctx: dict) -> int:
    """Enqueue the payouts no job is looking after, under a job id per try (a finished job's
    id stays taken while arq keeps its result)."""
    settings, now = ctx["settings"], _now()
    async with ctx["db"].connection() as conn:
        due = await sending.due(conn, now - timedelta(seconds=settings.payout_sweep_after_seconds),
                                now - timedelta(seconds=settings.payout_query_after_seconds))
    for withdrawal_id, key in due:
        await enqueue(ctx["redis"], SEND_PAYOUT, withdrawal_id, job_id=f"payout:{withdrawal_id}:{key}")
    return len(due)


def start_payout(ev: Event) -> list[JobCall]:
    """WITHDRAWAL_APPROVED: send it now."""
    withdrawal_id = ev.payload["withdrawal_id"]
    return [(SEND_PAYOUT, (withdrawal_id,), f"payout:{withdrawal_id}")]


REACTIONS = {"WITHDRAWAL_APPROVED": per_event(start_payout)}
FUNCTIONS = [send_payout, sweep_payouts]
CRON_JOBS = [cron(sweep_payouts, second=set(range(0, 60, 5)), unique=True, run_at_startup=True)]
