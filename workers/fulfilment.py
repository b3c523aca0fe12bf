"""Fulfilment jobs: push shipments to partner systems (started by the payment event, a reship or
a re-push), intercept a refunded shipment a partner holds, and the sweeper that pushes what a
lost enqueue or a killed worker left PENDING. Every job is safe to run twice: the shipment row
decides, and the partner dedupes on the shipment's idempotency key."""

from datetime import UTC, datetime

import structlog
from arq import Retry, cron

from app.events import Event
from app.fulfilment import pushes
from app.fulfilment.partners import PartnerUnavailable
from app.fulfilment.status import PUSHED_KINDS
from app.jobs import JobCall, enqueue

log = structlog.get_logger(__name__)
SWEEP_BATCH = 500
PUSH = "push_shipment"


def _now() -> datetime:
    return datetime.now(UTC)


def push_job_id(shipment_id: int, generation: int) -> str:
    """One job per shipment and generation: a re-push from the dead letter is a new job."""
    return f"push-shipment:{shipment_id}:{generation}"


async def push_shipment(ctx: dict, shipment_id: int) -> str:
    outcome = await pushes.push_shipment(ctx["db"], ctx["settings"], ctx["http"], shipment_id, _now())
    if outcome.status == "RETRY":
        raise Retry(defer=outcome.retry_in)
    return outcome.status


async def intercept_shipment(ctx: dict, shipment_id: int) -> str:
    try:
        return await pushes.intercept_cancelled(ctx["db"], ctx["settings"], ctx["http"], shipment_id)
    except PartnerUnavailable as exc:
        log.warning("intercept not answered by the partner; retrying", shipment_id=shipment_id, error=str(exc))
        raise Retry(defer=min(5 * ctx.get("job_try", 1), 60)) from exc


async def sweep_pending_shipments(ctx: dict) -> int:
    """Enqueue a push for every PENDING shipment no job is pushing; the job id names the attempt
    count, so a sweep starts one job per shipment until that job makes progress."""
    async with ctx["db"].connection() as conn:
        due = await pushes.due_pushes(conn, _now(), ctx["settings"], SWEEP_BATCH)
    for r in due:
        await enqueue(ctx["redis"], PUSH, r["id"],
                      job_id=f"{push_job_id(r['id'], r['generation'])}:sweep:{r['push_attempts']}")
    return len(due)


def pushes_of_paid_order(ev: Event) -> list[JobCall]:
    """ORDER_PAID names the order's shipments: each pushed one gets its push job."""
    return [(PUSH, (sid,), push_job_id(sid, 0)) for sid, kind in ev.payload.get("shipments", ())
            if kind in PUSHED_KINDS]


def push_of_pending_shipment(ev: Event) -> list[JobCall]:
    """A reship, the rest of an intercepted parcel, or a re-push from the dead letter."""
    if ev.payload.get("kind") not in PUSHED_KINDS:
        return []
    return [(PUSH, (ev.payload["shipment_id"],), push_job_id(ev.payload["shipment_id"], ev.payload["generation"]))]


def intercept_of_cancelled_shipment(ev: Event) -> list[JobCall]:
    """A refund cancelled a shipment a partner may hold (pushed at least once): tell the partner.
    withdraw_units intercepts synchronously itself (reason INTERCEPTED)."""
    p = ev.payload
    if p.get("kind") not in PUSHED_KINDS or not p.get("push_attempts") or p.get("reason") == "INTERCEPTED":
        return []
    return [("intercept_shipment", (p["shipment_id"],), f"intercept-shipment:{p['shipment_id']}")]


REACTIONS = {"ORDER_PAID": pushes_of_paid_order, "SHIPMENT_PENDING": push_of_pending_shipment,
             "SHIPMENT_CANCELLED": intercept_of_cancelled_shipment}
FUNCTIONS = [push_shipment, intercept_shipment, sweep_pending_shipments]
CRON_JOBS = [cron(sweep_pending_shipments, second=set(range(0, 60, 5)), unique=True, run_at_startup=True)]
