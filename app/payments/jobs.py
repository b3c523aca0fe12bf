"""Enqueueing the payment jobs (workers/payments.py) from the API, always after the commit that
made them necessary. An enqueue that fails is only logged: the sweeper jobs find every
notification left RECEIVED and every refund never sent, so nothing is lost."""

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

log = structlog.get_logger(__name__)

APPLY_NOTIFICATION = "apply_payment_notification"
SUBMIT_REFUND = "submit_refund"


def job_queue(redis: Redis) -> ArqRedis:
    """arq's enqueue over the process's Redis pool (enqueueing writes bytes and reads only
    counters, so the pool's decoded responses do not matter)."""
    return ArqRedis(connection_pool=redis.connection_pool)


async def enqueue_apply(redis: Redis, notification_id: int) -> None:
    await _enqueue(redis, APPLY_NOTIFICATION, notification_id, f"payment-notification:{notification_id}")


async def enqueue_refund(redis: Redis, refund_id: int) -> None:
    await _enqueue(redis, SUBMIT_REFUND, refund_id, f"refund:{refund_id}")


async def _enqueue(redis: Redis, function: str, arg: int, job_id: str) -> None:
    try:
        queue = redis if isinstance(redis, ArqRedis) else job_queue(redis)    # a worker's own queue
        await queue.enqueue_job(function, arg, _job_id=job_id)
    except Exception as exc:  # committed already; a sweeper picks it up
        log.warning("could not enqueue a payment job", function=function, arg=arg, error=str(exc))
