"""A real uvicorn serving the app (or the sandbox SMS gateway alone) inside the test's event loop, on a free port: what the
end-to-end, payment, GraphiQL, edge and outage tests talk to over real HTTP and websockets."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from app.config import Settings
from app.redis import connect_redis
from app.sandbox.sms import sms_routes
from schema.server import create_app


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
