"""Enqueueing the payment jobs (workers/payments.py) from the API, always after the commit that
made them necessary (app/jobs.py): the sweeper jobs find every notification left RECEIVED and
every refund never sent, so a lost enqueue loses nothing."""

from redis.asyncio import Redis

from app.jobs import enqueue

APPLY_NOTIFICATION = "apply_payment_notification"
SUBMIT_REFUND = "submit_refund"


async def enqueue_apply(redis: Redis, notification_id: int) -> None:
    await enqueue(redis, APPLY_NOTIFICATION, notification_id, job_id=f"payment-notification:{notification_id}")


async def enqueue_refund(redis: Redis, refund_id: int) -> None:
    await enqueue(redis, SUBMIT_REFUND, refund_id, job_id=f"refund:{refund_id}")
