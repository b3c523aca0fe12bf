"""How the sandbox calls back: signed POSTs in background tasks, retried with backoff until the
receiver answers 2xx, with a delay, jitter (reordering) and duplicates when asked. Each run of
deliveries is a batch whose progress is counted in Redis, so a test or a benchmark can wait for
every delivery to be acknowledged."""

import asyncio
import json
import random
import uuid
from dataclasses import dataclass

import httpx
import structlog
from redis.asyncio import Redis

from app.signing import signed_headers

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 12            # ~1 minute of backoff, then the delivery is counted as failed
BATCH_TTL_SECONDS = 24 * 3600
_running: set[asyncio.Task] = set()   # keeps background tasks referenced until they finish


@dataclass(frozen=True)
class Delivery:
    url: str
    payload: dict


@dataclass(frozen=True)
class Pacing:
    delay_ms: int = 0         # before the first delivery
    jitter_ms: int = 0        # random extra delay per delivery: later ones may overtake earlier ones
    concurrency: int = 8


def batch_key(batch_id: str) -> str:
    return f"sandbox:batch:{batch_id}"


async def start_batch(redis: Redis, http: httpx.AsyncClient, secret: str, deliveries: list[Delivery],
                      pacing: Pacing) -> str:
    """Deliver in the background; returns the batch id (see `batch_status`)."""
    batch_id = uuid.uuid4().hex
    key = batch_key(batch_id)
    await redis.hset(key, mapping={"total": len(deliveries), "acknowledged": 0, "failed": 0, "attempts": 0})  # type: ignore[misc]  # redis-py: Awaitable | reply
    await redis.expire(key, BATCH_TTL_SECONDS)
    task = asyncio.create_task(_deliver_batch(redis, http, secret, key, deliveries, pacing), name=f"sandbox-batch-{batch_id}")
    _running.add(task)
    task.add_done_callback(_running.discard)
    return batch_id


async def batch_status(redis: Redis, batch_id: str) -> dict | None:
    raw = await redis.hgetall(batch_key(batch_id))  # type: ignore[misc]  # redis-py: Awaitable | reply
    return {k: int(v) for k, v in raw.items()} or None


async def _deliver_batch(redis: Redis, http: httpx.AsyncClient, secret: str, key: str, deliveries: list[Delivery],
                         pacing: Pacing) -> None:
    """Over the process's shared client; the batch's own concurrency is its semaphore."""
    await asyncio.sleep(pacing.delay_ms / 1000)
    gate = asyncio.Semaphore(max(1, pacing.concurrency))

    async def one(delivery: Delivery) -> None:
        if pacing.jitter_ms:
            await asyncio.sleep(random.uniform(0, pacing.jitter_ms) / 1000)
        async with gate:
            attempts, ok = await _deliver(http, secret, delivery)
        await redis.hincrby(key, "attempts", attempts)  # type: ignore[misc]  # redis-py: Awaitable | reply
        await redis.hincrby(key, "acknowledged" if ok else "failed", 1)  # type: ignore[misc]  # redis-py: Awaitable | reply

    for failure in await asyncio.gather(*(one(d) for d in deliveries), return_exceptions=True):
        if failure is not None:
            log.warning("sandbox delivery bookkeeping failed", error=repr(failure))


async def _deliver(http: httpx.AsyncClient, secret: str, delivery: Delivery) -> tuple[int, bool]:
    """Sign afresh on every attempt (the timestamp window); (attempts made, acknowledged)."""
    raw = json.dumps(delivery.payload).encode()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = await http.post(delivery.url, content=raw, headers=signed_headers(secret, raw))
            if 200 <= response.status_code < 300:
                return attempt, True
            log.info("sandbox callback not acknowledged", url=delivery.url, status=response.status_code)
        except httpx.HTTPError as exc:
            log.info("sandbox callback failed", url=delivery.url, error=type(exc).__name__)
        await asyncio.sleep(min(0.1 * 2 ** attempt, 10))
    return MAX_ATTEMPTS, False
