"""Enqueueing what an after-sale change leaves to do, after its commit (app/jobs.py): a refund to
send to the provider, or units to withdraw from fulfilment before the refund. The sweepers
(workers/aftersale.py, workers/payments.py) find whatever a lost enqueue left."""

from redis.asyncio import Redis

from app.aftersale.service import Outcome
from app.jobs import enqueue
from app.payments.jobs import enqueue_refund

WITHDRAW_AND_REFUND = "withdraw_and_refund"


async def follow_up(redis: Redis, outcome: Outcome) -> None:
    if outcome.refund_id is not None:
        await enqueue_refund(redis, outcome.refund_id)
    if outcome.withdraw:
        await enqueue(redis, WITHDRAW_AND_REFUND, outcome.after_sale_id, job_id=f"after-sale-withdraw:{outcome.after_sale_id}")
