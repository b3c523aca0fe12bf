"""Sessions (issue 8 §1.5, §1.7): logout and refresh-token reuse end the whole session, and an
ended session stays ended when Redis loses everything."""

import asyncio
import time

import jwt

from app.auth.service import authenticate_bearer
from tests.auth.helpers import LOGIN, LOGOUT, LOGOUT_EVERYWHERE, PASSWORD, REFRESH, me_code, register


async def _refresh(gql, token: str) -> dict:
    return (await gql.ok(REFRESH, {"t": token}))["refreshSession"]


async def test_logout_ends_access_tokens_of_every_refresh_generation(gql):
    _, first = await register(gql)
    second = await _refresh(gql, first["refreshToken"])
    assert await me_code(gql, first["accessToken"]) == "OK"      # still valid before logout
    assert (await gql.ok(LOGOUT, token=second["accessToken"]))["logout"]["ok"] is True
    assert await me_code(gql, first["accessToken"]) == "UNAUTHENTICATED"   # issued before the refresh
    assert await me_code(gql, second["accessToken"]) == "UNAUTHENTICATED"
    assert (await _refresh(gql, second["refreshToken"]))["userErrors"][0]["code"] == "INVALID_REFRESH_TOKEN"


async def test_reused_refresh_token_ends_its_whole_family(gql):
    _, first = await register(gql)
    second = await _refresh(gql, first["refreshToken"])
    assert second["userErrors"] == []
    # the first refresh token comes back: someone else holds a copy
    assert (await _refresh(gql, first["refreshToken"]))["userErrors"][0]["code"] == "INVALID_REFRESH_TOKEN"
    assert (await _refresh(gql, second["refreshToken"]))["userErrors"][0]["code"] == "INVALID_REFRESH_TOKEN"
    assert await me_code(gql, second["accessToken"]) == "UNAUTHENTICATED"
    assert await me_code(gql, first["accessToken"]) == "UNAUTHENTICATED"


async def test_reuse_ends_only_that_session(gql, db):
    phone, first = await register(gql)
    other = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": PASSWORD}}))["buyerLogin"]
    await _refresh(gql, first["refreshToken"])
    await _refresh(gql, first["refreshToken"])
    assert await me_code(gql, other["accessToken"]) == "OK"
    assert (await _refresh(gql, other["refreshToken"]))["userErrors"] == []
    reasons = await db.fetch("SELECT end_reason FROM auth_sessions s JOIN buyers b ON s.principal = 'buyer:' || b.id"
                             " WHERE b.phone = $1 ORDER BY s.created_at", phone)
    assert [r["end_reason"] for r in reasons] == ["REFRESH_TOKEN_REUSED", None]


async def test_logout_everywhere_ends_every_session_of_the_account(gql):
    phone, first = await register(gql)
    other = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": PASSWORD}}))["buyerLogin"]
    _, stranger = await register(gql)
    await gql.ok(LOGOUT_EVERYWHERE, token=other["accessToken"])
    assert await me_code(gql, first["accessToken"]) == "UNAUTHENTICATED"
    assert (await _refresh(gql, first["refreshToken"]))["userErrors"][0]["code"] == "INVALID_REFRESH_TOKEN"
    assert await me_code(gql, stranger["accessToken"]) == "OK"


async def test_ended_session_stays_ended_when_redis_loses_everything(gql, redis):
    _, ended = await register(gql)
    _, live = await register(gql)
    await gql.ok(LOGOUT, token=ended["accessToken"])
    await redis.flushdb()
    assert await me_code(gql, ended["accessToken"]) == "UNAUTHENTICATED"
    assert await me_code(gql, live["accessToken"]) == "OK"       # read again from PostgreSQL
    await redis.flushdb()
    assert await me_code(gql, ended["accessToken"]) == "UNAUTHENTICATED"   # an uncached miss, too


async def test_without_the_database_an_unknown_session_is_refused(gql, settings, db, redis):
    _, session = await register(gql)
    await redis.flushdb()
    header = f"Bearer {session['accessToken']}"
    assert (await authenticate_bearer(settings, redis, header))[1] == "access token was revoked"
    principal, _ = await authenticate_bearer(settings, redis, header, db)
    assert principal is not None
    assert (await authenticate_bearer(settings, redis, header))[0] == principal   # cached now


async def test_session_ended_while_its_state_is_read_is_not_cached_as_live(gql, settings, db, redis):
    """Many checks of one uncached session racing its logout: none is answered live afterwards."""
    _, session = await register(gql)
    await redis.flushdb()
    header = f"Bearer {session['accessToken']}"
    checks = [authenticate_bearer(settings, redis, header, db) for _ in range(20)]
    await asyncio.gather(*checks, gql.ok(LOGOUT, token=session["accessToken"]))
    assert (await authenticate_bearer(settings, redis, header, db))[0] is None


async def test_tokens_without_a_session_are_refused(gql, settings, tokens):
    buyer_id = jwt.decode(tokens["buyer"], options={"verify_signature": False})["sub"]
    now = int(time.time())
    legacy = jwt.encode({"sub": buyer_id, "iat": now, "exp": now + 600, "iss": "ecom", "jti": "x"},
                        settings.jwt_secret, algorithm="HS256")
    assert await me_code(gql, legacy) == "UNAUTHENTICATED"
    assert await me_code(gql, tokens["buyer"]) == "OK"
