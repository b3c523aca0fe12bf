"""Fulfilment tests run the real app with its sandbox partners and carrier under uvicorn on a free
port (pushes, notices and tracking events cross real HTTP), `public_base_url` pointing there."""

import asyncio
import contextlib
import functools

import httpx
import pytest

from app.config import Settings
from app.events import run_outbox_relay
from app.jobs import start_reactions
from tests.conftest import GraphQLClient
from tests.payments.helpers import clear_job_queue
from tests.servers import free_port, serving

WAIT = 30


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return Settings(env="test", database_url=database_url, redis_url=services[1], count_sql=True,
                    log_level="WARNING", login_attempts_per_ip=10_000, response_cache_seconds=0,
                    host="127.0.0.1", port=port, fulfilment_push_backoff_seconds=0.05,
                    fulfilment_push_max_attempts=3, sandbox_partner_latency_ms=5,
                    sandbox_partner_ship_delay_ms=300, sandbox_carrier_step_ms=100, review_window_days=0)


@pytest.fixture(scope="module", autouse=True)
async def _empty_job_queue(redis):
    await clear_job_queue(redis)
    yield
    await clear_job_queue(redis)


@pytest.fixture(scope="module")
async def server(settings, db, redis):
    """uvicorn serving the app and its sandboxes, plus the outbox relay starting the jobs events
    react to, as the worker runs it."""
    from workers.main import REACTIONS
    async with serving(settings):
        relay = asyncio.create_task(run_outbox_relay(db, redis, settings.database_url, 0.1,
                                                     on_published=functools.partial(start_reactions, redis, REACTIONS)))
        try:
            yield settings.base_url
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay


@pytest.fixture(scope="module")
async def http(server):
    async with httpx.AsyncClient(base_url=server, timeout=WAIT) as client:
        yield client


@pytest.fixture(scope="module")
def api(http) -> GraphQLClient:
    return GraphQLClient(http)
