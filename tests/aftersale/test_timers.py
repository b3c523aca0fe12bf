"""The after-sale timers (workers/aftersale.py) with `now` moved (the cases' times set back) or the
setting shortened; the auto-approve rule's threshold; a withdrawal too late; the withdrawal
sweeper. Each cron run twice changes nothing the second time."""

from datetime import UTC, datetime, timedelta

from app.aftersale import service
from app.aftersale.status import AfterSaleKind, AfterSaleReason
from tests.aftersale.helpers import paid_order, run_jobs, settle, ship_and_receive
from tests.payments.helpers import new_buyer
from workers.aftersale import approve_silent_after_sales, close_silent_after_sales, sweep_after_sale_withdrawals


async def _request(db, settings, buyer, order, kind=AfterSaleKind.RETURN_REFUND, quantity=1) -> service.Outcome:
    async with db.transaction() as conn:
        return await service.request(conn, settings, buyer.id, order.id, kind,
                                     [service.LineClaim(order.lines[0], quantity)], AfterSaleReason.DAMAGED, "", [],
                                     datetime.now(UTC))


async def _set_back(db, case_id: int, column: str, days: float) -> None:
    async with db.transaction() as conn:
        await conn.execute(f"UPDATE after_sales SET {column} = {column} - $2::interval WHERE id = $1", case_id,
                           timedelta(days=days))


async def _status(db, case_id: int) -> str:
    return await db.fetchval("SELECT status FROM after_sales WHERE id = $1", case_id)


def _ctx(db, settings, redis, **overrides) -> dict:
    return {"db": db, "settings": settings.model_copy(update=overrides), "redis": redis}


async def test_a_request_the_merchant_leaves_unanswered_is_approved(http, db, settings, redis):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(2, 900)])
    await ship_and_receive(db, order.id)
    silent = await _request(db, settings, buyer, order, AfterSaleKind.REFUND_ONLY)
    other = await paid_order(http, db, settings, buyer, [(1, 100)])
    await ship_and_receive(db, other.id)
    fresh = await _request(db, settings, buyer, other)
    ctx = _ctx(db, settings, redis)
    await approve_silent_after_sales(ctx)
    assert (await _status(db, silent.after_sale_id), await _status(db, fresh.after_sale_id)) == ("REQUESTED",
                                                                                                "REQUESTED")
    await _set_back(db, silent.after_sale_id, "created_at", settings.aftersale_merchant_review_days + 0.01)
    assert await approve_silent_after_sales(ctx) == 1
    assert await approve_silent_after_sales(ctx) == 0
    assert await _status(db, fresh.after_sale_id) == "REQUESTED"
    # an approved refund-only after receipt goes straight to its refund, enqueued for the worker
    await settle(settings, db, silent.after_sale_id)
    actors = [r["actor"] for r in await db.fetch("SELECT actor FROM after_sale_status_history WHERE after_sale_id = $1"
                                                 " ORDER BY id", silent.after_sale_id)]
    assert actors[1:3] == ["system:merchant-silent", "system:merchant-silent"]
    assert await db.fetchval("SELECT refunded_amount FROM orders WHERE id = $1", order.id) == 450

    # with the review time shortened to 0 days the fresh request is due at once
    assert await approve_silent_after_sales(_ctx(db, settings, redis, aftersale_merchant_review_days=0)) == 1
    assert await _status(db, fresh.after_sale_id) == "APPROVED"


async def test_a_return_never_shipped_and_a_rejection_never_escalated_are_closed(http, db, settings, redis):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(1, 100), (1, 100)])
    await ship_and_receive(db, order.id)
    approved = await _request(db, settings, buyer, order)
    from app.auth.principal import Principal
    admin = Principal(kind="staff", id=1, staff_kind="ADMIN")
    async with db.transaction() as conn:
        await service.approve(conn, admin, approved.after_sale_id, datetime.now(UTC))
    async with db.transaction() as conn:
        rejected = await service.request(conn, settings, buyer.id, order.id, AfterSaleKind.EXCHANGE,
                                         [service.LineClaim(order.lines[1], 1)], AfterSaleReason.WRONG_SIZE, "", [],
                                         datetime.now(UTC))
        await service.reject(conn, admin, rejected.after_sale_id, "fits as listed", datetime.now(UTC))
    ctx = _ctx(db, settings, redis)
    assert await close_silent_after_sales(ctx) == 0
    await _set_back(db, approved.after_sale_id, "decided_at", settings.aftersale_return_days + 0.01)
    assert await close_silent_after_sales(ctx) == 1
    assert await _status(db, approved.after_sale_id) == "CLOSED"
    assert await _status(db, rejected.after_sale_id) == "REJECTED"
    assert await db.fetchval("SELECT aftersale_status FROM orders WHERE id = $1", order.id) == "IN_PROGRESS"
    assert await close_silent_after_sales(_ctx(db, settings, redis, aftersale_escalation_days=0)) == 1
    assert await _status(db, rejected.after_sale_id) == "CLOSED"
    assert await db.fetchval("SELECT close_reason FROM after_sales WHERE id = $1",
                             rejected.after_sale_id) == "REJECTION_FINAL: not escalated"
    assert await db.fetchval("SELECT aftersale_status FROM orders WHERE id = $1", order.id) == "DONE"
    assert await close_silent_after_sales(ctx) == 0
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE order_id = $1", order.id) == 0


async def test_the_auto_approve_threshold(http, db, settings, redis):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(3, 1000)])
    strict = settings.model_copy(update={"aftersale_auto_approve_max_amount": 333})
    big = await _request(db, strict, buyer, order, AfterSaleKind.REFUND_ONLY)      # unit 0: 334 > 333
    assert await _status(db, big.after_sale_id) == "REQUESTED" and not big.withdraw
    async with db.transaction() as conn:
        await service.cancel(conn, buyer.id, big.after_sale_id, datetime.now(UTC))
    small = await _request(db, strict, buyer, order, AfterSaleKind.REFUND_ONLY)    # unit 0 again: still 334
    assert await _status(db, small.after_sale_id) == "REQUESTED"
    async with db.transaction() as conn:
        await service.cancel(conn, buyer.id, small.after_sale_id, datetime.now(UTC))
    off = settings.model_copy(update={"aftersale_auto_approve_before_shipment": False})
    reviewed = await _request(db, off, buyer, order, AfterSaleKind.REFUND_ONLY, quantity=3)
    assert await _status(db, reviewed.after_sale_id) == "REQUESTED"
    async with db.transaction() as conn:
        await service.cancel(conn, buyer.id, reviewed.after_sale_id, datetime.now(UTC))
    auto = await _request(db, settings, buyer, order, AfterSaleKind.REFUND_ONLY)
    assert await _status(db, auto.after_sale_id) == "APPROVED" and auto.withdraw


async def test_a_withdrawal_too_late_closes_the_case_and_the_sweeper_runs_lost_jobs(http, db, settings, redis):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(2, 200)])
    late = await _request(db, settings, buyer, order, AfterSaleKind.REFUND_ONLY)   # its job is never enqueued
    async with db.transaction() as conn:     # the goods left before the withdrawal ran
        await conn.execute("UPDATE shipments SET status = 'SHIPPED', carrier = 'SF', tracking_number = 'SF2',"
                           " shipped_at = now() WHERE order_id = $1", order.id)
        await conn.execute("UPDATE orders SET status = 'SHIPPED', logistics_status = 'SHIPPED', shipped_at = now()"
                           " WHERE id = $1", order.id)
    ctx = {**_ctx(db, settings, redis), "http": http}
    assert await sweep_after_sale_withdrawals(ctx) == 0       # too fresh: its job may be on the way
    await _set_back(db, late.after_sale_id, "decided_at", 1)
    assert await sweep_after_sale_withdrawals(ctx) == 1
    row = await db.fetchrow("SELECT status, close_reason FROM after_sales WHERE id = $1", late.after_sale_id)
    assert row["status"] == "CLOSED" and row["close_reason"].startswith("TOO_LATE_SHIPPED")
    assert await sweep_after_sale_withdrawals(ctx) == 0
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE order_id = $1", order.id) == 0

    other = await paid_order(http, db, settings, buyer, [(2, 200)])
    lost = await _request(db, settings, buyer, other, AfterSaleKind.REFUND_ONLY)
    await _set_back(db, lost.after_sale_id, "decided_at", 1)
    assert await sweep_after_sale_withdrawals(ctx) == 1
    await run_jobs(settings, db)
    await settle(settings, db, lost.after_sale_id)
    assert await db.fetchval("SELECT refunded_amount FROM orders WHERE id = $1", other.id) == 100
