"""Top-up tests run the real app with both sandboxes (payment provider and REALTIME_API
supplier) under uvicorn on a free port, so the cashier, the supplier client and the sandboxes
talk over real HTTP. The supplier's "times out" answers hang 2 s against our 0.5 s timeout."""

import httpx
import pytest

from app.config import Settings
from app.demo import seed_demo
from tests.conftest import GraphQLClient
from tests.payments.helpers import WAIT, clear_job_queue
from tests.servers import free_port, serving


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return Settings(env="test", database_url=database_url, redis_url=services[1], count_sql=True,
                    log_level="WARNING", login_attempts_per_ip=10_000, response_cache_seconds=0,
                    host="127.0.0.1", port=port, topup_http_timeout_seconds=0.5, sandbox_topup_hang_seconds=2,
                    sandbox_topup_latency_ms=20)


@pytest.fixture(scope="module", autouse=True)
async def _demo(db):
    """The demo data first, so the demo's fixed ids (merchants 1 to 3) are the demo's."""
    await seed_demo(db, progress=lambda _: None)


@pytest.fixture(scope="module", autouse=True)
async def _empty_job_queue(redis):
    await clear_job_queue(redis)
    yield
    await clear_job_queue(redis)


@pytest.fixture(scope="module")
async def server(settings, db):
    async with serving(settings):
        yield settings.base_url


@pytest.fixture(scope="module")
async def http(server):
    async with httpx.AsyncClient(base_url=server, timeout=WAIT) as client:
        yield client


@pytest.fixture(scope="module")
def api(http) -> GraphQLClient:
    return GraphQLClient(http)
