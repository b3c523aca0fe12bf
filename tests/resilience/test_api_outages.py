"""Outages answer HTTP 503 `SERVICE_UNAVAILABLE` with `Retry-After`, and the API recovers by
itself when the service returns. Redis is the package's throwaway `redis-server`, stopped and
started; PostgreSQL is reached through its proxy, cut and restored (a network fault, not a mock)."""

import asyncio
import time

import httpx
import pytest
from asgi_lifespan import LifespanManager

from schema.server import create_app
from tests.resilience.servers import redis_executable

pytestmark = pytest.mark.skipif(redis_executable() is None, reason="needs a redis-server binary")


@pytest.fixture(scope="module")
async def outage_http(settings, tokens):
    """The app on this package's throwaway Redis and behind its PostgreSQL proxy (conftest.py)."""
    app = create_app(settings)
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


async def test_redis_down_is_503_and_recovers(outage_http, redis_server, tokens):
    me = lambda: _post(outage_http, "{ me { id } }", tokens["buyer"])  # noqa: E731  (checks the denylist)
    assert (await me()).status_code == 200
    redis_server.stop()
    try:
        _assert_unavailable(await me())
        login = await _post(outage_http, 'mutation { buyerLogin(input: {phone: "13800000001", '
                                         'password: "demo-pass-123"}) { accessToken } }')
        _assert_unavailable(login)  # the login rate limit lives in Redis
    finally:
        redis_server.start()
    recovered = await _until_ok(me)
    assert recovered.status_code == 200 and "errors" not in recovered.json()


async def test_postgresql_down_is_503_and_recovers(outage_http, pg_proxy):
    products = lambda: _post(outage_http, "{ products(first: 1) { totalCount } }")  # noqa: E731
    assert (await products()).status_code == 200
    await pg_proxy.cut()
    try:
        _assert_unavailable(await products())
    finally:
        await pg_proxy.restore()
    recovered = await _until_ok(products)
    assert recovered.status_code == 200 and "errors" not in recovered.json()
