"""Fulfilment jobs: push shipments to partner systems, intercept a refunded shipment a partner
holds, and the sweeper that pushes what a lost enqueue or a killed worker left PENDING.

- The paid orders of one relay batch (their ORDER_PAID events) start `push_shipments` jobs of up
  to `fulfilment_push_batch` shipments each, pushed concurrently; a job retries (arq `Retry`,
  the smallest backoff of its failed shipments) while any of them is to be tried again, and the
  re-run claims only the ones still PENDING.
- One shipment's event (SHIPMENT_PENDING: a reship, the rest of an intercepted parcel, a re-push)
  and the sweeper, which finds shipments one by one, start `push_shipment` for that shipment.

Every job is safe to run twice: the shipment row decides, and the partner dedupes on the
shipment's idempotency key."""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from arq import Retry, cron

from app.config import get_settings
from app.events import Event
from app.fulfilment import pushes
from app.fulfilment.partners import PartnerUnavailable
from app.fulfilment.status import PUSHED_KINDS
from app.jobs import JobCall, enqueue, per_event

log = structlog.get_logger(__name__)
SWEEP_BATCH = 500
PUSH = "push_shipment"
PUSH_BATCH = "push_shipments"


def _now() -> datetime:
    return datetime.now(UTC)


def push_job_id(shipment_id: int, generation: int) -> str:
    """One job per shipment and generation: a re-push from the dead letter is a new job."""
    return f"push-shipment:{shipment_id}:{generation}"


def push_batch_job_id(shipment_ids: Sequence[int]) -> str:
    """Named by the (sorted) shipments alone: the same chunk of a re-published batch is the same
    job. First, last and count for the eye; the digest, so two chunks never share a name."""
    digest = hashlib.sha256(",".join(map(str, shipment_ids)).encode()).hexdigest()[:16]
    return f"push-shipments:{shipment_ids[0]}-{shipment_ids[-1]}:{len(shipment_ids)}:{digest}"


async def _push(ctx: dict, shipment_ids: list[int]) -> dict[int, pushes.PushOutcome]:
    outcomes = await pushes.push_shipments(ctx["db"], ctx["settings"], ctx["http"], shipment_ids, _now())
    retry_in = [o.retry_in for o in outcomes.values() if o.status == "RETRY" and o.retry_in is not None]
    if retry_in:     # what was accepted or dead-lettered is recorded; the re-run claims the rest
        raise Retry(defer=min(retry_in))
    return outcomes


async def push_shipment(ctx: dict, shipment_id: int) -> str:
    return (await _push(ctx, [shipment_id]))[shipment_id].status


async def push_shipments(ctx: dict, shipment_ids: list[int]) -> dict[str, int]:
    """Push a chunk of paid orders' shipments; how many ended how."""
    counts: dict[str, int] = {}
    for outcome in (await _push(ctx, shipment_ids)).values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return counts


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


def pushes_of_paid_orders(events: Sequence[Event], batch: int | None = None) -> list[JobCall]:
    """ORDER_PAID names the order's shipments: the pushed ones of a relay batch's paid orders, in
    id order, go to `push_shipments` jobs of `batch` (default `fulfilment_push_batch`) each."""
    size = batch or get_settings().fulfilment_push_batch
    ids = sorted({sid for ev in events for sid, kind in ev.payload.get("shipments", ()) if kind in PUSHED_KINDS})
    chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
    return [(PUSH_BATCH, (chunk,), push_batch_job_id(chunk)) for chunk in chunks]


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


REACTIONS = {"ORDER_PAID": pushes_of_paid_orders, "SHIPMENT_PENDING": per_event(push_of_pending_shipment),
             "SHIPMENT_CANCELLED": per_event(intercept_of_cancelled_shipment)}
FUNCTIONS = [push_shipment, push_shipments, intercept_shipment, sweep_pending_shipments]
CRON_JOBS = [cron(sweep_pending_shipments, second=set(range(0, 60, 5)), unique=True, run_at_startup=True)]
