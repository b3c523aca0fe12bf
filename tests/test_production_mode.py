"""Production settings: GraphiQL and introspection only for admins."""

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.config import Settings
from schema.server import create_app

INTROSPECT = {"query": "{ __schema { queryType { name } } }"}
STRONG_SECRET = "production-grade-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def settings(database_url, services) -> Settings:
    """This module's tokens are signed with a secret production accepts."""
    return Settings(env="test", database_url=database_url, redis_url=services[1], jwt_secret=STRONG_SECRET,
                    log_level="WARNING", response_cache_seconds=0)


@pytest.fixture(scope="module")
async def prod_http(settings):
    prod = Settings(env="production", database_url=settings.database_url, redis_url=settings.redis_url,
                    jwt_secret=settings.jwt_secret, log_level="WARNING")
    app = create_app(prod)
    async with LifespanManager(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            yield http


def test_production_refuses_the_development_secret():
    with pytest.raises(ValueError, match="JWT_SECRET"):
        Settings(env="production", database_url="postgresql://x/y", redis_url="redis://x")


def test_production_refuses_the_development_payout_channel_secret():
    """The sandbox payout channel signs payouts and their callbacks: its public default would let
    anyone mark a withdrawal paid."""
    strong = {"sandbox_provider_secret": STRONG_SECRET + "p", "sms_gateway_secret": STRONG_SECRET + "s",
              "sandbox_partner_secret": STRONG_SECRET + "f"}
    with pytest.raises(ValueError, match="SANDBOX_PAYOUT_SECRET"):
        Settings(env="production", database_url="postgresql://x/y", redis_url="redis://x", jwt_secret=STRONG_SECRET,
                 sandbox_enabled=True, **strong)
    assert Settings(env="production", database_url="postgresql://x/y", redis_url="redis://x", jwt_secret=STRONG_SECRET,
                    sandbox_enabled=True, sandbox_payout_secret=STRONG_SECRET + "w", **strong).sandbox_on


async def test_introspection_and_graphiql_only_for_admins(prod_http, tokens):
    anonymous = (await prod_http.post("/graphql", json=INTROSPECT)).json()
    assert anonymous["errors"] and "introspection" in anonymous["errors"][0]["message"].lower()
    buyer = (await prod_http.post("/graphql", json=INTROSPECT,
                                  headers={"authorization": f"Bearer {tokens['buyer']}"})).json()
    assert buyer["errors"]
    admin = (await prod_http.post("/graphql", json=INTROSPECT,
                                  headers={"authorization": f"Bearer {tokens['admin']}"})).json()
    assert admin["data"]["__schema"]["queryType"]["name"] == "Query"

    page = await prod_http.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    admin_page = await prod_http.get("/graphql", headers={"accept": "text/html"},
                                     cookies={"access_token": tokens["admin"]})
    assert admin_page.status_code == 200 and "graphiql" in admin_page.text.lower()


async def test_plain_queries_still_work_for_everyone(prod_http):
    body = (await prod_http.post("/graphql", json={"query": "{ regions { code } }"})).json()
    assert len(body["data"]["regions"]) == 31


async def test_no_suggestions_naming_the_schema_for_anonymous_callers(prod_http, tokens):
    anonymous = (await prod_http.post("/graphql", json={"query": "{ productz { id } }"})).json()
    message = anonymous["errors"][0]["message"]
    assert "Did you mean" not in message and "products" not in message
    assert anonymous["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    admin = (await prod_http.post("/graphql", json={"query": "{ productz { id } }"},
                                  headers={"authorization": f"Bearer {tokens['admin']}"})).json()
    assert "Did you mean" in admin["errors"][0]["message"]


async def test_no_sql_statement_count_header_in_production(prod_http):
    response = await prod_http.post("/graphql", json={"query": "{ regions { code } }"})
    assert response.status_code == 200 and "x-sql-statements" not in response.headers


async def test_graphiql_cookie_authenticates_only_the_page(prod_http, tokens):
    prod_http.cookies.set("access_token", tokens["admin"])
    try:
        query = await prod_http.get("/graphql", params={"query": "{ me { id } }"})
        assert query.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        page = await prod_http.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" in page.text.lower()
    finally:
        prod_http.cookies.clear()


@pytest.mark.parametrize(("env", "secret", "allowed"), [
    (None, None, False),                     # ENV unset: a real server, the public secret refused
    ("production", STRONG_SECRET, True),
    (None, STRONG_SECRET, True),
    ("development", None, True),             # `ecom dev`, `make run`
    ("test", None, True),
])
def test_servers_refuse_the_public_secret_unless_development(monkeypatch, env, secret, allowed):
    for name, value in (("ENV", env), ("JWT_SECRET", secret)):
        monkeypatch.delenv(name, raising=False)
        if value:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("REDIS_URL", "redis://x")
    settings = Settings(_env_file=None)
    if allowed:
        settings.refuse_public_secret()
    else:
        with pytest.raises(ValueError, match="JWT_SECRET"):
            settings.refuse_public_secret()
