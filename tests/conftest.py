"""Test services: real PostgreSQL and Redis, never mocks.

By default the embedded servers start under `.data/test` (TEST_DATABASE_URL / TEST_REDIS_URL
switch to running servers). Migrations run once into a template database; every test module
gets its own clone (~30 ms), so modules never see each other's rows.
"""

import itertools
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from app.config import PROJECT_ROOT, Settings
from app.db import Database
from app.migrate import migrate

_clone_numbers = itertools.count(1)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def services():
    db_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if db_url and redis_url:
        yield db_url, redis_url
        return
    from app.embedded import EmbeddedServices
    with EmbeddedServices(PROJECT_ROOT / ".data" / "test") as emb:
        yield emb.database_url, emb.redis_url


@pytest.fixture(scope="session", autouse=True)
async def _fresh_redis(services):
    """Rate-limit windows and denylists of an earlier run must not leak into this one."""
    client = Redis.from_url(services[1])
    await client.flushdb()
    await client.aclose()


def _pid_alive(database_name: str) -> bool:
    try:
        os.kill(int(database_name.split("_")[2]), 0)
        return True
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True


@pytest.fixture(scope="session")
async def template_db(services):
    admin_url, _ = services
    prefix = f"ecom_test_{os.getpid()}"
    conn = await asyncpg.connect(admin_url)
    try:
        for (stale,) in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'ecom_test_%'"):
            if not _pid_alive(stale):  # left by a killed run; a concurrent run keeps its own
                await conn.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{prefix}_tpl"')
    finally:
        await conn.close()
    await migrate(with_database(admin_url, f"{prefix}_tpl"), progress=lambda _: None)
    yield prefix
    conn = await asyncpg.connect(admin_url)
    try:
        for (name,) in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def clone_database(services, template_db) -> str:
    admin_url, _ = services
    name = f"{template_db}_{next(_clone_numbers)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}_tpl"')
    finally:
        await conn.close()
    return with_database(admin_url, name)


@pytest.fixture(scope="module")
async def database_url(services, template_db) -> str:
    return await clone_database(services, template_db)


@pytest.fixture(scope="session")
async def sms_gateway(services) -> str:
    """The sandbox SMS gateway on a port of its own: the apps tests drive in-process (ASGI
    transport, no server) send registration codes to it over real HTTP (registerBuyer needs
    one; tests/auth/helpers.py `sms_code` reads it back from the sandbox's inbox)."""
    from tests.servers import serving_sms_sandbox
    async with serving_sms_sandbox(Settings(env="test", redis_url=services[1], log_level="WARNING")) as url:
        yield url


@pytest.fixture(scope="module")
def settings(database_url, services, sms_gateway) -> Settings:
    # No response cache by default: tests write rows with SQL and expect to read them back.
    return Settings(env="test", database_url=database_url, redis_url=services[1], count_sql=True,
                    log_level="WARNING", login_attempts_per_ip=10_000, register_attempts_per_ip=10_000,
                    sms_codes_per_ip=10_000, response_cache_seconds=0, sms_gateway_url=sms_gateway)


@pytest.fixture(scope="module")
async def db(settings):
    database = await Database.connect(settings.database_url, min_size=1, max_size=10, count_sql=True)
    yield database
    await database.close()


@pytest.fixture(scope="session")
async def redis(services):
    client = Redis.from_url(services[1], decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
async def app(settings):
    from schema.server import create_app
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


class GraphQLClient:
    """Posts GraphQL over the real ASGI app; returns the decoded JSON body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.last_response: httpx.Response | None = None

    async def __call__(self, query: str, variables: dict | None = None, token: str | None = None,
                       headers: dict | None = None) -> dict:
        hdrs = dict(headers or {})
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        self.last_response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                                  headers=hdrs)
        return self.last_response.json()

    async def ok(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        """Data of a request that must have no top-level errors."""
        body = await self(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture(scope="module")
async def gql(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield GraphQLClient(http)


def unique_phone() -> str:
    return "139" + str(uuid.uuid4().int)[:8]


@pytest.fixture(scope="module")
async def tokens(db, settings) -> dict[str, str]:
    """Access tokens of the demo accounts: admin, acme (merchant 2), lumen (merchant 3), buyer."""
    from app.auth.principal import Principal
    from app.auth.sessions import open_session
    from app.demo import seed_demo
    await seed_demo(db, progress=lambda _: None)
    rows = {r["username"]: r for r in await db.fetch("SELECT * FROM staff_accounts")}
    buyer_id = await db.fetchval("SELECT id FROM buyers WHERE phone = '13800000001'")

    def staff(username):
        r = rows[username]
        return Principal(kind="staff", id=r["id"], staff_kind=r["kind"], merchant_id=r["merchant_id"],
                         merchant_role=r["merchant_role"])
    principals = {"admin": staff("admin"), "acme": staff("acme-owner"), "lumen": staff("lumen-owner"),
                  "buyer": Principal(kind="buyer", id=buyer_id)}
    async with db.transaction() as conn:
        return {name: (await open_session(conn, settings, p)).access_token for name, p in principals.items()}
