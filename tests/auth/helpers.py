"""Queries and app clients shared by the auth tests."""

import contextlib
import random

import httpx
from asgi_lifespan import LifespanManager

from app.config import Settings
from tests.conftest import GraphQLClient, unique_phone

REGISTER = """mutation($i: RegisterBuyerInput!) { registerBuyer(input: $i) {
  accessToken refreshToken userErrors { field code message } } }"""
LOGIN = """mutation($i: BuyerLoginInput!) { buyerLogin(input: $i) {
  accessToken refreshToken userErrors { code message } } }"""
STAFF_LOGIN = """mutation($i: StaffLoginInput!) { staffLogin(input: $i) { accessToken userErrors { code } } }"""
REFRESH = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken userErrors { code } } }"
LOGOUT = "mutation { logout { ok } }"
LOGOUT_EVERYWHERE = "mutation { logout(everywhere: true) { ok } }"
ME = "{ me { id } }"
PASSWORD = "secret-pass-1"


def own_ip() -> str:
    """A client address of a test's own (TEST-NET-1: no traffic leaves the process), so limits
    counted by other tests never reach it."""
    return f"192.0.2.{random.randint(1, 254)}"


@contextlib.asynccontextmanager
async def app_client(settings: Settings, ip: str = "127.0.0.1"):
    """The real app with these settings, seen from client address `ip`."""
    from schema.server import create_app
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield GraphQLClient(http)


async def register(gql, phone: str | None = None, password: str = PASSWORD) -> tuple[str, dict]:
    phone = phone or unique_phone()
    return phone, (await gql.ok(REGISTER, {"i": {"phone": phone, "password": password}}))["registerBuyer"]


async def me_code(gql, token: str) -> str:
    """'OK', or the error code the access token gets."""
    body = await gql(ME, token=token)
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK"
