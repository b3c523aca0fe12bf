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


def _lexed_tokens(monkeypatch) -> list[int]:
    """Counts the tokens graphql-core's lexer reads: the parsing work a request costs."""
    from graphql.language.lexer import Lexer
    count, advance = [0], Lexer.advance

    def counting(self):
        count[0] += 1
        return advance(self)
    monkeypatch.setattr(Lexer, "advance", counting)
    return count


async def test_big_anonymous_document_is_refused_after_the_token_limit(cached_http, settings, tokens, monkeypatch):
    """A distinct ~240 KiB anonymous document is refused like a signed-in caller's, after
    reading no more than the token limit (it used to be parsed whole by the cache first)."""
    lexed = _lexed_tokens(monkeypatch)
    answers = []
    for n, token in enumerate([None, tokens["buyer"]]):
        lexed[0] = 0
        query = f"query Big{n} {{ " + " ".join(["__typename"] * 22_000) + " }"
        response = await _post(cached_http, query, token=token)
        assert lexed[0] <= 2 * (settings.max_tokens + 1)
        answers.append(response.json())
    assert answers[0] == answers[1]
    assert answers[0]["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "token" in answers[0]["errors"][0]["message"]


def test_cache_is_bounded_by_bytes_as_well_as_entries():
    from schema.response_cache import ResponseCache
    cache = ResponseCache(60, max_entries=100, max_total_bytes=10_000)
    for i in range(10):
        cache.put(f"k{i}", b"x" * 3_000)
    assert cache.total_bytes <= 10_000 and cache.get("k9") is not None and cache.get("k0") is None
    cache.put("k9", b"y" * 100)  # replacing an entry releases its bytes
    assert cache.total_bytes == 2 * 3_000 + 100


async def test_a_lost_event_stream_clears_the_cache(cached_http):
    """Events published while the pub/sub connection was down are never seen: the cache must not
    keep answers they would have invalidated."""
    await _post(cached_http, "query StreamProbe { __typename }")
    assert (await _post(cached_http, "query StreamProbe { __typename }")).headers.get("x-cache") == "hit"
    cached_http._transport.app.state.broadcaster._interrupt()  # what a dropped connection does
    assert "x-cache" not in (await _post(cached_http, "query StreamProbe { __typename }")).headers
