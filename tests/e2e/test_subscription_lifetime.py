"""A subscription lives only as long as its credentials and its event stream: the websocket is
closed with 4401 when the token expires or is revoked (logout), and with 1012 when the server's
pub/sub connection to Redis was lost, so the client reconnects and refetches instead of waiting
for events that will never come. The server here runs on a throwaway Redis the test restarts."""

import asyncio
import time

import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.config import Settings
from app.demo import ACME, DEMO_PASSWORD
from tests.e2e.conftest import WAIT, Subscriber
from tests.resilience.servers import RedisServer
from tests.servers import free_port

ORDER_EVENTS = "subscription { merchantOrderEvents { eventId type orderId merchantId payload } }"
STAFF_LOGIN = "mutation($i: StaffLoginInput!) { staffLogin(input: $i) { accessToken userErrors { code } } }"
LOGOUT = "mutation { logout { ok } }"
RECHECK = 0.5  # seconds


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(database_url, redis_server) -> Settings:
    return Settings(env="test", database_url=database_url, redis_url=redis_server.url, log_level="WARNING",
                    response_cache_seconds=0, host="127.0.0.1", port=free_port(), login_attempts_per_ip=10_000,
                    subscription_auth_recheck_seconds=RECHECK)


@pytest.fixture(scope="module")
async def redis(redis_server):
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


def subscribe(port: int, token: str):
    return Subscriber.open(port, token, ORDER_EVENTS, "merchantOrderEvents", "order")


async def closed(sub: Subscriber) -> tuple[int, str]:
    """Read until the server closes the socket; its close code and reason."""
    try:
        while True:
            await sub.next_message()
    except ConnectionClosed as exc:
        return exc.rcvd.code, exc.rcvd.reason


async def acme_token(db, settings, ttl: int) -> str:
    """A signed-in merchant owner's access token that lives `ttl` seconds."""
    principal = Principal(kind="staff", id=1, staff_kind="MERCHANT", merchant_id=ACME, merchant_role="OWNER")
    async with db.transaction() as conn:
        session = await open_session(conn, settings.model_copy(update={"access_token_ttl_seconds": ttl}), principal)
    return session.access_token


async def test_the_socket_closes_when_the_token_expires(server, db, redis, settings):
    token = await acme_token(db, settings, ttl=3)
    expires_at = time.time() + 3
    async with subscribe(server, token) as console:
        await console.ready(redis, ACME)
        code, reason = await closed(console)
    assert (code, reason) == (4401, "access token expired")
    assert expires_at - 1 <= time.time() <= expires_at + 2   # at its expiry, not at the next recheck only


async def test_the_socket_closes_soon_after_logout(server, http, redis, tokens):
    login = (await http.ok(STAFF_LOGIN, {"i": {"username": "acme-owner", "password": DEMO_PASSWORD}}))["staffLogin"]
    token = login["accessToken"]
    async with subscribe(server, token) as console:
        await console.ready(redis, ACME)
        assert (await http.ok(LOGOUT, token=token))["logout"]["ok"]
        logged_out = time.monotonic()
        code, reason = await closed(console)
    assert (code, reason) == (4401, "access token was revoked")
    assert time.monotonic() - logged_out <= RECHECK + 2


async def test_a_redis_restart_closes_open_subscriptions_and_new_ones_work(server, db, redis, redis_server, settings):
    token = await acme_token(db, settings, ttl=3600)
    async with subscribe(server, token) as console:
        await console.ready(redis, ACME)
        redis_server.stop()
        try:
            code, reason = await closed(console)
        finally:
            redis_server.start()
    assert (code, reason) == (1012, "event stream interrupted; subscribe again and refetch")

    for _ in range(WAIT * 10):   # the client's reconnect: refused while the server is not back yet
        try:
            async with subscribe(server, token) as again:
                await again.ready(redis, ACME)
                return
        except (AssertionError, ConnectionClosed, OSError):
            await asyncio.sleep(0.1)
    raise AssertionError("no working subscription after the restart")
