"""A real uvicorn serving the app inside the test's event loop, on a free port: what the
end-to-end, payment, GraphiQL, edge and outage tests talk to over real HTTP and websockets."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn

from app.config import Settings
from schema.server import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(settings: Settings, log_level: str = "warning") -> AsyncIterator[str]:
    """The app under uvicorn at `settings.port` until the block ends; yields its base URL."""
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                       log_level=log_level, lifespan="on"))
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        assert not task.done(), "server failed to start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        uv.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
