"""Queries and app clients shared by the auth tests."""

import contextlib
import random
import re

import httpx
from asgi_lifespan import LifespanManager

from app.auth.service import normalise_login
from app.config import DEV_SANDBOX_SECRET, Settings
from app.sandbox.sms import inbox_request
from tests.conftest import GraphQLClient, unique_phone

REGISTER = """mutation($i: RegisterBuyerInput!) { registerBuyer(input: $i) {
  accessToken refreshToken userErrors { field code message } } }"""
SEND_SMS_CODE = """mutation($i: SendSmsCodeInput!) { sendSmsCode(input: $i) {
  sent expiresInSeconds resendAfterSeconds userErrors { field code message } } }"""
LOGIN = """mutation($i: BuyerLoginInput!) { buyerLogin(input: $i) {
  accessToken refreshToken userErrors { code message } } }"""
STAFF_LOGIN = """mutation($i: StaffLoginInput!) { staffLogin(input: $i) { accessToken userErrors { code } } }"""
REFRESH = "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken userErrors { code } } }"
LOGOUT = "mutation { logout { ok } }"
LOGOUT_EVERYWHERE = "mutation { logout(everywhere: true) { ok } }"
ME = "{ me { id } }"
PASSWORD = "secret-pass-1"
CODE = re.compile(r"\b([0-9]{6})\b")


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


async def sandbox_sms(http: httpx.AsyncClient, phone: str, limit: int = 10) -> list[dict]:
    """The sandbox SMS inbox of `phone`, newest first, by its signed control call through the
    app's own /sandbox/sms mount (the same Redis as the gateway the app sent to)."""
    body, headers = inbox_request(DEV_SANDBOX_SECRET, normalise_login(phone), limit)
    response = await http.post("/sandbox/sms/v1/inbox", content=body, headers=headers)
    response.raise_for_status()
    return response.json()["messages"]


async def sms_code(gql, phone: str) -> str | None:
    """Asks for a registration code for `phone` and reads it from the sandbox inbox; None when
    none was sent (an invalid phone, or one sent a moment ago)."""
    out = (await gql.ok(SEND_SMS_CODE, {"i": {"phone": phone, "purpose": "REGISTER"}}))["sendSmsCode"]
    if not out["sent"]:
        return None
    match = CODE.search((await sandbox_sms(gql.http, phone, 1))[0]["text"])
    assert match, "the sandbox keeps the message as sent"
    return match.group(1)


async def register_input(gql, phone: str, password: str = PASSWORD, **fields) -> dict:
    """registerBuyer's input with a fresh SMS code for `phone`."""
    return {"phone": phone, "password": password, "smsCode": await sms_code(gql, phone), **fields}


async def register(gql, phone: str | None = None, password: str = PASSWORD) -> tuple[str, dict]:
    phone = phone or unique_phone()
    return phone, (await gql.ok(REGISTER, {"i": await register_input(gql, phone, password)}))["registerBuyer"]


async def me_code(gql, token: str) -> str:
    """'OK', or the error code the access token gets."""
    body = await gql(ME, token=token)
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else "OK"
