"""Abuse limits (issue 8 §1.8): sign-ups per IP, failures-only login counting, one spelling
per username, and X-Forwarded-For believed only from configured proxies."""

import asyncio
import os
import socket
import subprocess
import sys
import uuid

import httpx
import pytest

from app.auth.service import create_staff
from app.config import PROJECT_ROOT
from tests.auth.helpers import LOGIN, PASSWORD, REGISTER, STAFF_LOGIN, app_client, own_ip, register
from tests.conftest import unique_phone


@pytest.fixture(scope="module")
def strict(settings):
    """Production-like limits, small enough to reach in a test."""
    return settings.model_copy(update={"login_attempts_per_phone": 3, "login_attempts_per_ip": 100,
                                       "register_attempts_per_ip": 3})


async def _login(gql, phone, password) -> str:
    errors = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": password}}))["buyerLogin"]["userErrors"]
    return errors[0]["code"] if errors else "OK"


async def test_sign_ups_are_limited_per_ip(strict):
    ip = own_ip()
    async with app_client(strict, ip) as gql:
        codes = []
        for _ in range(4):
            _, out = await register(gql)
            codes.append(out["userErrors"][0]["code"] if out["userErrors"] else "OK")
        assert codes == ["OK", "OK", "OK", "TOO_MANY_ATTEMPTS"]
    async with app_client(strict, own_ip()) as elsewhere:
        assert (await register(elsewhere))[1]["userErrors"] == []


async def test_refused_sign_ups_count_too(strict):
    """Probing which phones are registered uses up the same limit."""
    async with app_client(strict, own_ip()) as gql:
        phone, _ = await register(gql)
        codes = [(await gql.ok(REGISTER, {"i": {"phone": phone, "password": PASSWORD}}))["registerBuyer"]
                 ["userErrors"][0]["code"] for _ in range(3)]
        assert codes == ["PHONE_TAKEN", "PHONE_TAKEN", "TOO_MANY_ATTEMPTS"]


async def test_only_failed_logins_count_and_a_success_clears_them(strict):
    async with app_client(strict, own_ip()) as gql:
        phone, _ = await register(gql)
        assert [await _login(gql, phone, PASSWORD) for _ in range(6)] == ["OK"] * 6
        assert [await _login(gql, phone, "wrong-pass-1") for _ in range(2)] == ["INVALID_CREDENTIALS"] * 2
        assert await _login(gql, phone, PASSWORD) == "OK"            # clears the account's failures
        assert [await _login(gql, phone, "wrong-pass-1") for _ in range(3)] == ["INVALID_CREDENTIALS"] * 3
        assert await _login(gql, phone, PASSWORD) == "TOO_MANY_ATTEMPTS"


async def test_failures_from_one_ip_are_limited_across_phones(settings):
    limited = settings.model_copy(update={"login_attempts_per_phone": 100, "login_attempts_per_ip": 4})
    async with app_client(limited, own_ip()) as gql:
        phone, _ = await register(gql)
        assert await _login(gql, phone, PASSWORD) == "OK"           # a success leaves the IP's count alone
        sprays = [await _login(gql, unique_phone(), "wrong-pass-1") for _ in range(5)]
        assert sprays == ["INVALID_CREDENTIALS"] * 4 + ["TOO_MANY_ATTEMPTS"]


async def test_staff_login_limit_counts_every_spelling_of_a_username(strict, db):
    name = f"casey-{uuid.uuid4().hex[:8]}"
    async with db.transaction() as conn:
        await create_staff(conn, name, "staff-pass-1", "ADMIN")
    variants = [name.upper(), f"  {name.title()} ", name.upper().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})]
    async with app_client(strict, own_ip()) as gql:
        async def staff_login(username, password):
            out = (await gql.ok(STAFF_LOGIN, {"i": {"username": username, "password": password}}))["staffLogin"]
            return out["userErrors"][0]["code"] if out["userErrors"] else "OK"
        assert await staff_login(variants[2], "staff-pass-1") == "OK"          # full-width capitals: the same account
        assert [await staff_login(v, "wrong-pass-1") for v in variants] == ["INVALID_CREDENTIALS"] * 3
        assert await staff_login(name, "staff-pass-1") == "TOO_MANY_ATTEMPTS"


def _serve(env_extra: dict, database_url: str, redis_url: str, port: int) -> subprocess.Popen:
    """`ecom serve` itself: the uvicorn options under test are set in app/cli.py."""
    env = {k: v for k, v in os.environ.items() if k != "TRUSTED_PROXIES"}
    env.update({"ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
           "LOGIN_ATTEMPTS_PER_IP": "3", "LOGIN_ATTEMPTS_PER_PHONE": "100", **env_extra})
    return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env,
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _spoofed_logins(env_extra: dict, database_url: str, redis_url: str) -> list[str]:
    """Four failed logins from 127.0.0.1, each claiming another address in X-Forwarded-For."""
    port = _free_port()
    server = _serve(env_extra, database_url, redis_url, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(150):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            codes = []
            for n in range(4):
                r = await http.post("/graphql", headers={"x-forwarded-for": f"198.51.100.{n + 1}"},
                                    json={"query": LOGIN, "variables": {"i": {"phone": unique_phone(),
                                                                              "password": "wrong-pass-1"}}})
                codes.append(r.json()["data"]["buyerLogin"]["userErrors"][0]["code"])
            return codes
    finally:
        server.terminate()
        server.wait(10)


async def test_forwarded_for_is_believed_only_from_trusted_proxies(settings, redis):
    await redis.delete(*[k async for k in redis.scan_iter("rl:login:ip:127.0.0.1:*")] or ["-"])
    untrusted = await _spoofed_logins({}, settings.database_url, settings.redis_url)
    assert untrusted == ["INVALID_CREDENTIALS"] * 3 + ["TOO_MANY_ATTEMPTS"]     # one peer, one count
    trusted = await _spoofed_logins({"TRUSTED_PROXIES": "127.0.0.1"}, settings.database_url, settings.redis_url)
    assert trusted == ["INVALID_CREDENTIALS"] * 4                               # four clients behind the proxy
