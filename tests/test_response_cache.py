import asyncio

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.events import emit, relay_outbox
from schema.server import create_app


@pytest.fixture(scope="module")
async def cached_http(settings):
    app = create_app(settings.model_copy(update={"response_cache_seconds": 60}))
    async with LifespanManager(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http


async def _post(http, query, token=None):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await http.post("/graphql", json={"query": query}, headers=headers)


async def test_anonymous_query_is_served_from_cache(cached_http):
    first = await _post(cached_http, "query CacheProbe { __typename }")
    second = await _post(cached_http, "query CacheProbe { __typename }")
    assert "x-cache" not in first.headers and second.headers["x-cache"] == "hit"
    assert second.json() == first.json() == {"data": {"__typename": "Query"}}
    assert second.headers["x-sql-statements"] == "0"


async def test_signed_in_callers_mutations_and_errors_are_never_cached(cached_http, tokens):
    for _ in range(2):
        r = await _post(cached_http, "query Mine { __typename }", token=tokens["buyer"])
        assert "x-cache" not in r.headers
        r = await _post(cached_http, 'mutation { refreshSession(refreshToken: "nope") { userErrors { code } } }')
        assert "x-cache" not in r.headers
        r = await _post(cached_http, "{ me { id } }")
        assert "x-cache" not in r.headers and r.json()["errors"]


async def test_product_event_clears_the_cache(cached_http, db, redis):
    await _post(cached_http, "query Probe2 { __typename }")
    assert (await _post(cached_http, "query Probe2 { __typename }")).headers.get("x-cache") == "hit"
    async with db.transaction() as conn:
        await emit(conn, "product", "PRODUCT_LISTED", {"product_id": 0}, merchant_id=None)
    assert await relay_outbox(db, redis) >= 1
    for _ in range(100):  # the broadcaster receives the event asynchronously
        r = await _post(cached_http, "query Probe2 { __typename }")
        if "x-cache" not in r.headers:
            break
        await asyncio.sleep(0.02)
    assert "x-cache" not in r.headers
