"""Payment tests run the real app and its sandbox provider under uvicorn on a free port (the
cashier and the sandbox call each other over real HTTP), with `public_base_url` pointing there."""

import asyncio
import contextlib
import socket

import httpx
import pytest
import uvicorn

from app.config import Settings
from schema.server import create_app
from tests.conftest import GraphQLClient
from tests.payments.helpers import WAIT, clear_job_queue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def settings(database_url, services, port) -> Settings:
    return Settings(env="test", database_url=database_url, redis_url=services[1], count_sql=True,
                    log_level="WARNING", login_attempts_per_ip=10_000, response_cache_seconds=0,
                    host="127.0.0.1", port=port)


@pytest.fixture(scope="module", autouse=True)
async def _empty_job_queue(redis):
    await clear_job_queue(redis)
    yield
    await clear_job_queue(redis)


@pytest.fixture(scope="module")
async def server(settings, db):
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                       log_level="warning"))
    serving = asyncio.create_task(uv.serve())
    while not uv.started:
        assert not serving.done(), "server failed to start"
        await asyncio.sleep(0.02)
    try:
        yield settings.base_url
    finally:
        uv.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await serving


@pytest.fixture(scope="module")
async def http(server):
    async with httpx.AsyncClient(base_url=server, timeout=WAIT) as client:
        yield client


@pytest.fixture(scope="module")
def api(http) -> GraphQLClient:
    return GraphQLClient(http)
