"""The whole payment path on throwaway servers a test may take away: the API (uvicorn, with the
sandbox provider) and a real `ecom worker` process, both on a redis-server of their own and on
PostgreSQL through a proxy that can be cut. The test itself reads the database directly."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.config import Settings
from app.db import Database
from tests.resilience.servers import RedisServer, TcpProxy
from tests.servers import free_port, serving

ECOM = str(Path(sys.executable).parent / "ecom")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def pg_proxy(database_url):
    proxy = await TcpProxy(database_url).start()
    yield proxy
    await proxy.cut()


@pytest.fixture(scope="module")
def settings(database_url, pg_proxy, redis_server) -> Settings:
    return Settings(env="test", database_url=pg_proxy.url(urlsplit(database_url).path.lstrip("/")),
                    redis_url=redis_server.url, log_level="WARNING", login_attempts_per_ip=10_000,
                    response_cache_seconds=0, host="127.0.0.1", port=free_port())


@pytest.fixture(scope="module")
async def db(database_url):
    """Straight to PostgreSQL, around the proxy: the test keeps watching while the app cannot."""
    database = await Database.connect(database_url, min_size=1, max_size=5)
    yield database
    await database.close()


@pytest.fixture(scope="module")
async def server(settings):
    async with serving(settings, log_level="critical"):
        yield settings.base_url


@pytest.fixture(scope="module")
async def http(server):
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


class WorkerProcess:
    """`ecom worker` with its log in a file, so a test can read what it said during an outage."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        env = {**os.environ, "ENV": "test", "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
               "PUBLIC_BASE_URL": settings.base_url, "LOG_LEVEL": "WARNING"}
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen([ECOM, "worker"], env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text()

    async def stop(self) -> None:
        """Without blocking the event loop: the proxy and the API the worker talks to run in it."""
        self.proc.terminate()
        for _ in range(150):
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        else:
            self.proc.kill()
        self._log.close()
        assert self.proc.wait() == 0, self.log()[-3000:]


@pytest.fixture(scope="module")
async def worker(settings, server, tmp_path_factory):
    process = WorkerProcess(settings, tmp_path_factory.mktemp("worker") / "worker.log")
    yield process
    await process.stop()
