"""Order timeouts: unpaid payment orders cancelled after their deadline, shipped orders received
automatically after `auto_confirm_days`, received orders completed after `review_window_days`,
and the buyer notification outbox sent (by the sandbox sender: a log line). Each claims rows with
SKIP LOCKED and changes them with conditional updates, so several workers
(or a re-run) never act twice."""

from datetime import UTC, datetime, timedelta

import structlog
from arq import cron

from app.config import get_settings
from app.orders import service

BATCH = 200
log = structlog.get_logger("buyer-notifications")


async def cancel_overdue_payment_orders(ctx: dict) -> int:
    """One transaction per batch, so a long backlog never holds its locks for long."""
    cancelled = 0
    while True:
        async with ctx["db"].transaction() as conn:
            done = await service.cancel_due(conn, datetime.now(UTC), BATCH)
        cancelled += done
        if done < BATCH:
            return cancelled


async def auto_confirm_receipts(ctx: dict) -> int:
    days = ctx["settings"].auto_confirm_days
    confirmed = 0
    while True:
        now = datetime.now(UTC)
        async with ctx["db"].transaction() as conn:
            done = await service.confirm_due_receipts(conn, now, now - timedelta(days=days), BATCH)
        confirmed += done
        if done < BATCH:
            return confirmed


async def complete_received_orders(ctx: dict) -> int:
    days = ctx["settings"].review_window_days
    completed = 0
    while True:
        now = datetime.now(UTC)
        async with ctx["db"].transaction() as conn:
            done = await service.complete_due(conn, now, now - timedelta(days=days), BATCH)
        completed += done
        if done < BATCH:
            return completed


async def _sandbox_send(row) -> None:
    """The sandbox SMS/push sender: a log line instead of a message (DOMAIN §12 allows it)."""
    log.info("buyer notification sent", channel=row["channel"], template=row["template"], buyer_id=row["buyer_id"],
             order_id=row["order_id"])


async def send_buyer_notifications(ctx: dict) -> int:
    sent = 0
    while True:
        async with ctx["db"].transaction() as conn:
            done = await service.send_buyer_notifications(conn, _sandbox_send, datetime.now(UTC), BATCH)
        sent += done
        if done < BATCH:
            return sent


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
