"""After-sale jobs: withdrawing a refund-only case's units from fulfilment and then refunding it,
and the timers of DOMAIN §9 — a request the merchant leaves unanswered is approved, an approved
return the buyer never ships and a rejection never escalated are closed. Every job is safe to
run twice: the case's status, under its lock, decides whether anything is left to do."""

from datetime import UTC, datetime, timedelta

import structlog
from arq import Retry, cron

from app.aftersale import jobs, service, withdrawal
from app.events import Event
from app.fulfilment.partners import PartnerUnavailable
from app.jobs import JobCall, per_event
from app.payments.jobs import enqueue_refund

log = structlog.get_logger(__name__)
WITHDRAW_SWEEP_AFTER = timedelta(seconds=30)   # an approval whose job never ran is picked up after this
APPROVE_BATCH = 200


def _now() -> datetime:
    return datetime.now(UTC)


async def withdraw_and_refund(ctx: dict, after_sale_id: int) -> str:
    """Take the units out of fulfilment (HTTP, no transaction held), then refund — or close the
    case when the goods already shipped. A partner that cannot be asked is asked again later."""
    try:
        return await _withdraw_and_refund(ctx, after_sale_id)
    except PartnerUnavailable as exc:
        log.warning("withdrawal not answered by the partner; retrying", after_sale_id=after_sale_id, error=str(exc))
        raise Retry(defer=min(5 * ctx.get("job_try", 1), 60)) from exc


async def _withdraw_and_refund(ctx: dict, after_sale_id: int) -> str:
    withdrawn = await withdrawal.withdraw(ctx["db"], ctx["settings"], ctx["http"], after_sale_id)
    async with ctx["db"].transaction() as conn:
        refund_id = await service.refund_withdrawn(conn, after_sale_id, withdrawn, _now())
    if refund_id is not None:
        await enqueue_refund(ctx["redis"], refund_id)
    return "REFUNDING" if withdrawn else "TOO_LATE"


async def complete_exchange(ctx: dict, after_sale_id: int) -> bool:
    """The exchange's reship was signed for: the case is COMPLETED."""
    async with ctx["db"].transaction() as conn:
        return await service.reship_signed(conn, after_sale_id, _now())


def _reship_signed(ev: Event) -> list[JobCall]:
    case_id = ev.payload.get("after_sale_id")
    return [] if case_id is None else [("complete_exchange", (case_id,), f"after-sale-exchange:{case_id}")]


async def approve_silent_after_sales(ctx: dict) -> int:
    """Approve requests the merchant left unanswered for `aftersale_merchant_review_days`."""
    approved = 0
    while approved < APPROVE_BATCH:
        async with ctx["db"].transaction() as conn:
            outcome = await service.approve_one_silent(conn, ctx["settings"], _now())
        if outcome is None:
            break
        await jobs.follow_up(ctx["redis"], outcome)
        approved += 1
    return approved


async def close_silent_after_sales(ctx: dict) -> int:
    async with ctx["db"].transaction() as conn:
        return await service.close_silent(conn, ctx["settings"], _now())


async def sweep_after_sale_withdrawals(ctx: dict) -> int:
    """Run the withdrawals whose job was lost."""
    async with ctx["db"].connection() as conn:
        due = await service.approved_unwithdrawn(conn, _now() - WITHDRAW_SWEEP_AFTER)
    done = 0
    for case_id in due:
        try:
            await _withdraw_and_refund(ctx, case_id)
            done += 1
        except PartnerUnavailable as exc:     # the next sweep asks again
            log.warning("withdrawal not answered by the partner", after_sale_id=case_id, error=str(exc))
    return done


REACTIONS = {"SHIPMENT_SIGNED": per_event(_reship_signed)}
FUNCTIONS = [withdraw_and_refund, complete_exchange, approve_silent_after_sales, close_silent_after_sales, sweep_after_sale_withdrawals]
CRON_JOBS = [
    cron(approve_silent_after_sales, minute=set(range(0, 60, 5)), second=10, unique=True),
    cron(close_silent_after_sales, minute=set(range(0, 60, 5)), second=40, unique=True),
    cron(sweep_after_sale_withdrawals, second={20, 50}, unique=True),
]
