"""arq worker: job functions, crons, and the outbox relay running beside them.

Start with `ecom worker` (or `arq workers.main.WorkerSettings`); liveness probe:
`arq --check workers.main.WorkerSettings`.
"""

import asyncio
import contextlib

import structlog

from app.config import get_settings
from app.db import Database
from app.events import run_outbox_relay
from app.logs import bind_job_id, configure_logging
from app.payments.gateway import http_client
from app.redis import arq_settings, connect_redis
from workers import catalog, orders, payments

log = structlog.get_logger("worker")


async def startup(ctx: dict) -> None:
    settings = get_settings()
    configure_logging(settings.json_logs, settings.log_level)
    ctx["settings"] = settings
    ctx["db"] = await Database.connect(settings.database_url, min_size=1, max_size=5)
    ctx["redis_app"] = connect_redis(settings.redis_url)
    ctx["http"] = http_client()
    ctx["relay"] = asyncio.create_task(
        run_outbox_relay(ctx["db"], ctx["redis_app"], settings.database_url, settings.outbox_poll_seconds),
        name="outbox-relay")
    log.info("worker started")


async def shutdown(ctx: dict) -> None:
    relay = ctx.get("relay")
    if relay:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    if "http" in ctx:
        await ctx["http"].aclose()
    if "redis_app" in ctx:
        await ctx["redis_app"].aclose()
    if "db" in ctx:
        await ctx["db"].close()


def _redis_settings():
    url = get_settings().redis_url
    return arq_settings(url) if url else None


class WorkerSettings:
    functions = [*catalog.FUNCTIONS, *orders.FUNCTIONS, *payments.FUNCTIONS]
    cron_jobs = [*catalog.CRON_JOBS, *orders.CRON_JOBS, *payments.CRON_JOBS]
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = bind_job_id
    redis_settings = _redis_settings()
    health_check_interval = 10
    # arq looks for new jobs this often (default 0.5 s): callbacks are applied within ~50 ms, not ~250 ms
    poll_delay = 0.05
    job_timeout = 60
    max_tries = 5
    keep_result = 3600
