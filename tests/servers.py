"""A real uvicorn serving the app (or the sandbox SMS gateway alone) inside the test's event loop, on a free port: what the
end-to-end, payment, GraphiQL, edge and outage tests talk to over real HTTP and websockets.

The module-scoped fixtures `port`, `server`, `http`, `api` and `_empty_job_queue` serve the app
with its sandboxes for a test package whose conftest imports them and defines `settings` with
`app_settings` (`public_base_url` is the server's own address, so the sandboxes call it back)."""

import asyncio
import contextlib
import functools
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from app.config import Settings
from app.events import run_outbox_relay
from app.jobs import start_reactions
from app.redis import connect_redis
from app.sandbox.sms import sms_routes
from schema.server import create_app
from tests.conftest import GraphQLClient
from tests.jobs import WAIT, clear_job_queue


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def _uvicorn(app, port: int, log_level: str) -> AsyncIterator[str]:
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        assert not task.done(), "server failed to start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def serving_sms_sandbox(settings: Settings, log_level: str = "warning") -> AsyncIterator[str]:
    """The sandbox SMS gateway alone (app/sandbox/sms.py) on a free port, for apps a test runs
    without a server (ASGI transport): their SMS codes still travel over real HTTP."""
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.settings = settings
        app.state.redis = connect_redis(settings.redis_url)
        try:
            yield
        finally:
            await app.state.redis.aclose()
    async with _uvicorn(Starlette(routes=sms_routes(), lifespan=lifespan), free_port(), log_level) as url:
        yield url + "/sandbox/sms"


@contextlib.asynccontextmanager
async def serving(settings: Settings, log_level: str = "warning") -> AsyncIterator[str]:
    """The app under uvicorn at `settings.port` until the block ends; yields its base URL."""
    async with _uvicorn(create_app(settings), settings.port, log_level) as url:
        yield url


def app_settings(database_url: str, redis_url: str, port: int, **overrides) -> Settings:
    """The settings of an app served on `port` for a test package, `overrides` on top."""
    return Settings(env="test", database_url=database_url, redis_url=redis_url, count_sql=True,
                    log_level="WARNING", login_attempts_per_ip=10_000, response_cache_seconds=0,
                    host="127.0.0.1", port=port, **overrides)


@contextlib.asynccontextmanager
async def relaying(db, redis, settings: Settings, interval: float, reactions: dict | None = None) -> AsyncIterator[None]:
    """The outbox relay the worker runs (starting the jobs of `reactions`, if given) until the block ends."""
    on_published = functools.partial(start_reactions, redis, reactions) if reactions is not None else None
    relay = asyncio.create_task(run_outbox_relay(db, redis, settings.database_url, interval,
                                                 on_published=on_published))
    try:
        yield
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


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
