"""Payment jobs: apply stored provider notifications, send refunds to the provider, and the two
sweepers that make a lost enqueue or a killed worker lose nothing. Every job is safe to run twice
or to be killed half-way: the notification or refund row decides, under its lock, whether there
is anything left to do."""

from datetime import UTC, datetime, timedelta

import structlog
from arq import Retry, cron

from app.payments import callbacks, jobs, refunds
from app.payments.gateway import ProviderUnavailable

log = structlog.get_logger(__name__)

SWEEP_AFTER = timedelta(seconds=5)          # a notification older than this, still RECEIVED, is swept
REFUND_SWEEP_AFTER = timedelta(seconds=30)  # a refund not sent to the provider after this is sent again
SWEEP_BATCH = 500


def _now() -> datetime:
    return datetime.now(UTC)


async def apply_payment_notification(ctx: dict, notification_id: int) -> str:
    """Apply this notification and the others waiting with it (one batch, one transaction); a
    late payment's refund is enqueued once the refund row is committed. The notification's
    status, or ALREADY_APPLIED when an earlier batch took it."""
    async with ctx["db"].transaction() as conn:
        outcomes = await callbacks.apply_batch(conn, notification_id, _now())
    for outcome in outcomes.values():
        if outcome.refund_id is not None:
            await jobs.enqueue_refund(ctx["redis"], outcome.refund_id)
    own = outcomes.get(notification_id)
    return own.status if own else "ALREADY_APPLIED"


async def sweep_payment_notifications(ctx: dict) -> int:
    """Apply what no job applied: notifications whose enqueue was lost or whose worker died."""
    swept = 0
    while True:
        async with ctx["db"].connection() as conn:
            due = await callbacks.received_notifications(conn, _now() - SWEEP_AFTER, SWEEP_BATCH)
        for notification_id in due:
            await apply_payment_notification(ctx, notification_id)
        swept += len(due)
        if len(due) < SWEEP_BATCH:
            return swept


async def submit_refund(ctx: dict, refund_id: int) -> bool:
    try:
        return await refunds.submit_refund(ctx["db"], ctx["settings"], ctx["http"], refund_id)
    except ProviderUnavailable as exc:
        log.warning("refund not accepted by the provider; retrying", refund_id=refund_id, error=str(exc))
        raise Retry(defer=min(5 * ctx.get("job_try", 1), 60)) from exc


async def submit_pending_refunds(ctx: dict) -> int:
    """Send refunds whose job was lost; a provider still down is tried again next time."""
    async with ctx["db"].connection() as conn:
        due = await refunds.unsubmitted_refunds(conn, _now() - REFUND_SWEEP_AFTER)
    sent = 0
    for refund_id in due:
        try:
            sent += await refunds.submit_refund(ctx["db"], ctx["settings"], ctx["http"], refund_id)
        except ProviderUnavailable as exc:
            log.warning("refund not accepted by the provider", refund_id=refund_id, error=str(exc))
    return sent


FUNCTIONS = [apply_payment_notification, submit_refund, sweep_payment_notifications, submit_pending_refunds]
CRON_JOBS = [
    cron(sweep_payment_notifications, second=set(range(0, 60, 5)), unique=True, run_at_startup=True),
    cron(submit_pending_refunds, second={15, 45}, unique=True),
]
