"""Running jobs inside a test as `ecom worker` runs them: a burst arq worker over chosen job
families on the default queue, emptying that queue, and polling until a condition holds."""

import asyncio
from types import ModuleType

from arq import Worker
from arq.worker import func

from app.payments.gateway import http_client
from app.redis import arq_settings

WAIT = 30  # seconds; generous for a loaded machine, never reached when things work


async def clear_job_queue(redis) -> None:
    """The default arq queue of this Redis database: jobs of an earlier module name rows of
    another database clone."""
    keys = [k async for k in redis.scan_iter("arq:*")]
    if keys:
        await redis.delete(*keys)


def burst_worker(settings, db, *families: ModuleType, max_jobs: int = 20) -> Worker:
    """The job functions of `families` (workers/ modules) in a burst worker on the default queue."""
    return Worker(functions=[func(f, name=f.__name__) for m in families for f in m.FUNCTIONS],
                  redis_settings=arq_settings(settings.redis_url),
                  ctx={"db": db, "settings": settings, "http": http_client()}, on_shutdown=_close_http,
                  burst=True, handle_signals=False, poll_delay=0.01, max_jobs=max_jobs)


async def _close_http(ctx: dict) -> None:
    await ctx["http"].aclose()


async def run_burst(settings, db, *families: ModuleType, max_jobs: int = 20) -> int:
    """Run the queued jobs of `families` until the queue is empty; how many ran."""
    worker = burst_worker(settings, db, *families, max_jobs=max_jobs)
    try:
        return await worker.run_check()
    finally:
        await worker.close()


async def wait_for(predicate, what: str):
    """Poll an async predicate until it returns something truthy."""
    for _ in range(WAIT * 20):
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
