"""arq worker: job functions, crons, and the outbox relay running beside them.

Start with `ecom worker` (it runs `Worker` below, not arq's own, so Redis and PostgreSQL
outages are ridden out); liveness probe: `arq --check workers.main.WorkerSettings`.
"""

import asyncio
import contextlib
import dataclasses
import functools
import logging

import structlog
from arq import Retry
from arq import Worker as ArqWorker
from arq.worker import get_kwargs

from app.config import get_settings
from app.db import Database
from app.events import run_outbox_relay
from app.jobs import Reaction, start_reactions
from app.logs import bind_job_id, configure_logging
from app.outages import Outage, is_unreachable
from app.payments.gateway import http_client
from app.redis import arq_settings, connect_redis
from workers import aftersale, catalog, credit, fulfilment, orders, payments, payouts, reconciliation, settlement, topup

log = structlog.get_logger("worker")

# every job family: its FUNCTIONS, CRON_JOBS and REACTIONS
FAMILIES = (aftersale, catalog, credit, orders, payments, fulfilment, topup, payouts, reconciliation, settlement)
# the jobs events start (app/jobs.py): event type → each job family's reactions to it
REACTIONS: dict[str, list[Reaction]] = {}
for family in FAMILIES:
    for event_type, reaction in getattr(family, "REACTIONS", {}).items():
        REACTIONS.setdefault(event_type, []).append(reaction)


async def startup(ctx: dict) -> None:
    settings = get_settings()
    configure_logging(settings.json_logs, settings.log_level)
    if settings.log_level.upper() != "DEBUG":
        # arq logs every job start and end at INFO (~70 cron lines a minute); failures and
        # warnings stay
        logging.getLogger("arq").setLevel(logging.WARNING)
    ctx["settings"] = settings
    # `ecom worker`, the way a worker starts, refuses to start without both (app/cli.py)
    assert settings.database_url and settings.redis_url, "DATABASE_URL and REDIS_URL are set"
    # No connection floor: asyncpg would log a traceback for each attempt to restore it during a
    # PostgreSQL outage (the relay's polling keeps a connection warm anyway)
    ctx["db"] = await Database.connect(settings.database_url, min_size=0, max_size=10)
    ctx["redis_app"] = connect_redis(settings.redis_url)
    ctx["http"] = http_client()
    ctx["relay"] = asyncio.create_task(
        run_outbox_relay(ctx["db"], ctx["redis_app"], settings.database_url, settings.outbox_poll_seconds,
                         on_published=functools.partial(start_reactions, ctx["redis_app"], REACTIONS)),
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


_jobs_outage = Outage("worker jobs")


def riding_out_outages(job, *, retry: bool):
    """A job that finds PostgreSQL or Redis unreachable is retried later (`retry`, for enqueued
    jobs: 2, 4, 8, 16 s, then the sweepers take over) or skipped (crons: the next tick does the
    same work), and the outage is logged once for all jobs instead of a traceback per job."""
    @functools.wraps(job)
    async def run(ctx: dict, *args, **kwargs):
        try:
            result = await job(ctx, *args, **kwargs)
        except Exception as exc:
            if isinstance(exc, Retry) or not is_unreachable(exc):   # Retry: the job's own decision
                raise
            _jobs_outage.failed(exc)
            if retry:
                raise Retry(defer=min(2 ** ctx.get("job_try", 1), 30)) from exc
            return None
        _jobs_outage.recovered()
        return result
    return run


class Worker(ArqWorker):
    """arq's worker, which exits on the first Redis error of its polling loop; this one waits
    for Redis with backoff (logged once per outage) and goes on where it was."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._redis_outage = Outage("worker job polling")

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except Exception as exc:
            if not is_unreachable(exc):
                raise
            await self._redis_outage.wait(exc)
        else:
            self._redis_outage.recovered()

    async def close(self) -> None:
        """SIGTERM cancels the running jobs; arq's close stops at the first cancelled one and
        skips `shutdown` (relay, pools, HTTP client) with a traceback. Let them all finish first."""
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        await super().close()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq takes a job slot before it asks Redis whether the job is free and keeps the slot
        when Redis fails then; ten such failures would stop the worker picking jobs for good."""
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except Exception as exc:
                if is_unreachable(exc):
                    self._release_sem_dec_counter_on_complete()
                raise


def _redis_settings():
    url = get_settings().redis_url
    return arq_settings(url) if url else None


class WorkerSettings:
    functions = [riding_out_outages(f, retry=True) for family in FAMILIES for f in family.FUNCTIONS]
    cron_jobs = [dataclasses.replace(c, coroutine=riding_out_outages(c.coroutine, retry=False))
                 for family in FAMILIES for c in family.CRON_JOBS]
    on_startup = startup
    on_shutdown = shutdown
    on_job_start = bind_job_id
    redis_settings = _redis_settings()
    health_check_interval = 10
    # arq looks for new jobs this often (default 0.5 s): callbacks are applied within ~50 ms, not ~250 ms
    poll_delay = 0.05
    job_timeout = 60
    # jobs mostly wait on partners' HTTP answers (a push waits ~50 ms on a partner): many at once
    # keep one worker busy (docs/PERFORMANCE.md, bench/fulfilment_pushes.py)
    max_jobs = 100
    max_tries = 5
    keep_result = 3600


def run() -> None:
    Worker(**get_kwargs(WorkerSettings)).run()  # type: ignore[arg-type]  # arq's settings Protocol fits no plain class
