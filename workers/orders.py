"""Order timeouts: unpaid payment orders cancelled after their deadline, shipped orders received
automatically after `auto_confirm_days`, received orders completed after `review_window_days`,
and the buyer notification outbox sent (SMS through the SMS gateway, push as a log line). Each claims rows with
SKIP LOCKED and changes them with conditional updates, so several workers
(or a re-run) never act twice."""

from datetime import UTC, datetime, timedelta

import structlog
from arq import cron

from app.accounts.sms import SmsNotSent, send_sms
from app.config import get_settings
from app.orders import service

BATCH = 200
log = structlog.get_logger("buyer-notifications")


async def _in_batches(ctx: dict, step) -> int:
    """Run `step(conn, now)` (returns how many rows it handled, at most BATCH) in one transaction
    per batch until a batch comes back short, so a long backlog never holds its locks for long."""
    total = 0
    while True:
        async with ctx["db"].transaction() as conn:
            done = await step(conn, datetime.now(UTC))
        total += done
        if done < BATCH:
            return total


async def cancel_overdue_payment_orders(ctx: dict) -> int:
    """One transaction per payment order (see `service.cancel_one_due`)."""
    cancelled = 0
    while True:
        async with ctx["db"].transaction() as conn:
            if not await service.cancel_one_due(conn, datetime.now(UTC)):
                return cancelled
        cancelled += 1


async def auto_confirm_receipts(ctx: dict) -> int:
    days = timedelta(days=ctx["settings"].auto_confirm_days)
    return await _in_batches(ctx, lambda conn, now: service.confirm_due_receipts(conn, now, now - days, BATCH))


async def complete_received_orders(ctx: dict) -> int:
    days = timedelta(days=ctx["settings"].review_window_days)
    return await _in_batches(ctx, lambda conn, now: service.complete_due(conn, now, now - days, BATCH))


# what a buyer's SMS says, by template (others: a generic line naming the order)
SMS_TEXTS = {
    "ORDER_SHIPPED": "【ecom】您的订单 {order_id} 已发货。Your order {order_id} has shipped.",
}


def _sms_text(row) -> str:
    template = SMS_TEXTS.get(row["template"], "【ecom】订单 {order_id} 有新动态。Order {order_id} changed.")
    return template.format(order_id=row["order_id"])


async def _send(ctx: dict, row) -> bool:
    """SMS through the SMS gateway (app/accounts/sms.py: the sandbox by default) over HTTP; push
    has no gateway yet, so it is a log line (DOMAIN §12 allows a sandbox sender). A deleted
    account has no phone: nothing to send. False: the gateway failed, try again next run."""
    if row["channel"] == "SMS" and row["phone"]:
        try:
            await send_sms(ctx["http"], ctx["settings"], row["phone"], _sms_text(row), row["template"])
        except SmsNotSent as exc:
            log.warning("buyer sms not sent", notification_id=row["id"], reason=str(exc))
            return False
    log.info("buyer notification sent", channel=row["channel"], template=row["template"], buyer_id=row["buyer_id"],
             order_id=row["order_id"])
    return True


async def send_buyer_notifications(ctx: dict) -> int:
    return await _in_batches(ctx, lambda conn, now: service.send_buyer_notifications(
        conn, lambda row: _send(ctx, row), now, BATCH))


def _every(seconds: float) -> dict:
    """arq cron fields for "every `seconds`" (whole seconds below a minute, whole minutes above)."""
    if seconds < 60:
        return {"second": set(range(0, 60, max(1, int(seconds))))}
    return {"minute": set(range(0, 60, max(1, int(seconds // 60)))), "second": {0}}


FUNCTIONS = [cancel_overdue_payment_orders, auto_confirm_receipts, complete_received_orders, send_buyer_notifications]
CRON_JOBS = [
    cron(cancel_overdue_payment_orders, **_every(get_settings().order_timeout_sweep_seconds), unique=True,
         run_at_startup=True),
    cron(auto_confirm_receipts, second={30}, unique=True),
    cron(complete_received_orders, second={45}, unique=True),
    cron(send_buyer_notifications, second=set(range(0, 60, 5)), unique=True),
]
