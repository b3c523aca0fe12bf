"""Top-up jobs (app/topup/): `buy_topup` runs for every paid virtual order, started by its
ORDER_PAID event (which says `virtual`), and retries an unknown outcome with backoff; the sweeper
finds purchases whose job was lost or gave up, and paid top-ups that never got a purchase. Every
run is safe twice over: the purchase row decides, and the supplier dedupes on its id."""

from datetime import UTC, datetime, timedelta

from arq import Retry, cron

from app.events import Event
from app.jobs import JobCall, enqueue, per_event
from app.payments import jobs as payment_jobs
from app.topup import service

BUY_TOPUP = "buy_topup"
SWEEP_AFTER = timedelta(seconds=5)     # an open purchase (or a paid top-up without one) idle this long is swept


def _now() -> datetime:
    return datetime.now(UTC)


async def buy_topup(ctx: dict, order_id: int) -> str | None:
    """One step of the order's purchase; an unknown outcome is retried after its backoff (and,
    once arq's tries are spent, by the sweeper). A refund the step requested is enqueued after
    its commit. Returns the purchase's status."""
    progress = await service.advance(ctx["db"], ctx["settings"], ctx["http"], order_id, _now())
    if progress.refund_id is not None:
        await payment_jobs.enqueue_refund(ctx["redis"], progress.refund_id)
    if progress.retry_in is not None:
        raise Retry(defer=progress.retry_in)
    return progress.status


async def sweep_topups(ctx: dict) -> int:
    """Enqueue the purchases no job is looking after, under a job id per attempt count (a
    finished job's id stays taken while arq keeps its result)."""
    async with ctx["db"].connection() as conn:
        due = await service.due_orders(conn, _now() - SWEEP_AFTER)
    for order_id, attempts in due:
        await enqueue(ctx["redis"], BUY_TOPUP, order_id, job_id=f"topup:{order_id}:{attempts}")
    return len(due)


def start_purchase(ev: Event) -> list[JobCall]:
    """ORDER_PAID of a top-up: buy it now."""
    if not ev.payload.get("virtual"):
        return []
    order_id = ev.payload["order_id"]
    return [(BUY_TOPUP, (order_id,), f"topup:{order_id}")]


REACTIONS = {"ORDER_PAID": per_event(start_purchase)}
FUNCTIONS = [buy_topup, sweep_topups]
CRON_JOBS = [cron(sweep_topups, second=set(range(0, 60, 5)), unique=True, run_at_startup=True)]
