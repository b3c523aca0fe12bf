"""Outages answer HTTP 503 `SERVICE_UNAVAILABLE` with `Retry-After`, and the API recovers by
itself when the service returns. Redis is a throwaway `redis-server` this module starts and
stops; PostgreSQL is reached through a TCP proxy this module cuts (a network fault, not a mock)."""

import asyncio
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager

from schema.server import create_app

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="ecom-outage-redis-")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(200):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return
            time.sleep(0.02)
        raise RuntimeError("throwaway redis did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class CuttableProxy:
    """Forwards TCP to PostgreSQL until cut: then refuses connections and drops open ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = _free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        self.writers |= {client_writer, server_writer}

        async def pipe(reader, writer):
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()
            self.writers.discard(writer)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


@pytest.fixture(scope="module")
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


@pytest.fixture(scope="module")
async def pg_proxy(database_url):
    parts = urlsplit(database_url)
    proxy = CuttableProxy(parts.hostname, parts.port or 5432)
    await proxy.start()
    yield proxy
    with contextlib.suppress(Exception):
        await proxy.cut()


@pytest.fixture(scope="module")
async def outage_http(settings, throwaway_redis, pg_proxy, tokens):
    parts = urlsplit(settings.database_url)
    netloc = f"{parts.username}@127.0.0.1:{pg_proxy.port}" if parts.username else f"127.0.0.1:{pg_proxy.port}"
    app = create_app(settings.model_copy(update={
        "database_url": urlunsplit(parts._replace(netloc=netloc)),
        "redis_url": f"redis://127.0.0.1:{throwaway_redis.port}/0"}))
    async with LifespanManager(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http


async def _post(http, query: str, token: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": query}, headers=headers)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def _until_ok(send, seconds: float = 10.0) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        response = await send()
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_redis_down_is_503_and_recovers(outage_http, throwaway_redis, tokens):
    me = lambda: _post(outage_http, "{ me { id } }", tokens["buyer"])  # noqa: E731  (checks the denylist)
    assert (await me()).status_code == 200
    throwaway_redis.stop()
    try:
        _assert_unavailable(await me())
        login = await _post(outage_http, 'mutation { buyerLogin(input: {phone: "13800000001", '
                                         'password: "demo-pass-123"}) { accessToken } }')
        _assert_unavailable(login)  # the login rate limit lives in Redis
    finally:
        throwaway_redis.start()
    recovered = await _until_ok(me)
    assert recovered.status_code == 200 and "errors" not in recovered.json()


async def test_postgresql_down_is_503_and_recovers(outage_http, pg_proxy):
    products = lambda: _post(outage_http, "{ products(first: 1) { totalCount } }")  # noqa: E731
    assert (await products()).status_code == 200
    await pg_proxy.cut()
    try:
        _assert_unavailable(await products())
    finally:
        await pg_proxy.start()
    recovered = await _until_ok(products)
    assert recovered.status_code == 200 and "errors" not in recovered.json()
