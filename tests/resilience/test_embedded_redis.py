"""The embedded Redis keeps an append-only file: a job queued a moment before Redis is killed
(no shutdown snapshot) is still queued when it starts again on the same folder."""

import asyncio
import os
import signal

from arq.connections import create_pool

from app.embedded import EmbeddedServices
from app.redis import arq_settings


async def test_a_queued_job_survives_a_killed_embedded_redis(tmp_path):
    embedded = EmbeddedServices(tmp_path)
    url = embedded.start_redis()
    try:
        queue = await create_pool(arq_settings(url))
        job = await queue.enqueue_job("apply_payment_notification", 42, _job_id="survivor")
        await queue.aclose()
        await asyncio.sleep(1.5)          # appendfsync everysec
        pid = int((tmp_path / "redis" / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)      # a crash: no snapshot on the way out
        embedded.stop_redis()             # only reaps it: it is gone already

        embedded.start_redis()
        queue = await create_pool(arq_settings(url))
        assert await queue.zscore("arq:queue", job.job_id) is not None
        assert (await queue.queued_jobs())[0].args == (42,)
        await queue.aclose()
    finally:
        embedded.stop_redis()
