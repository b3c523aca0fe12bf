"""Password policy and hashing off the event loop (issue 8 §1.8)."""

import asyncio
import time

import pytest
from argon2 import PasswordHasher

from app.auth.passwords import check_password_policy
from app.auth.service import create_staff
from app.demo import DEMO_LOGINS
from app.errors import DomainError
from tests.auth.helpers import LOGIN, PASSWORD, register
from tests.conftest import unique_phone

PHONE = "13912345678"
WEAK = {
    "12345678": "two kinds",
    " " * 8: "only spaces",
    "\u3000" * 8: "only spaces",                       # ideographic spaces: NFKC makes them spaces
    PHONE: "two kinds",
    f"x{PHONE}": "phone number",
    "Password1": "too common",
    "QWERTY123": "too common",
    "１ｑａｚ２ｗｓｘ": "too common",                  # full-width: NFKC folds it to 1qaz2wsx
    "short1!": "8 to 128",
    "a1" * 65: "8 to 128",
}
STRONG = ["secret-pass-1", "correct horse battery staple", "Tr0ub4dor", "我的密码是 2026", "ｓｅｃｒｅｔ－ｐａｓｓ－１"]


@pytest.mark.parametrize("password", WEAK)
async def test_weak_passwords_are_refused_at_sign_up(gql, password):
    _, out = await register(gql, phone=PHONE, password=password)
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("WEAK_PASSWORD", ["input", "password"])]
    assert WEAK[password] in out["userErrors"][0]["message"]


@pytest.mark.parametrize("password", STRONG)
async def test_passwords_of_the_policy_are_accepted_and_sign_in(gql, password):
    phone, out = await register(gql, password=password)
    assert out["userErrors"] == []
    login = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": password}}))["buyerLogin"]
    assert login["userErrors"] == []


async def test_full_width_and_half_width_spellings_are_one_password(gql):
    phone, _ = await register(gql, password="ｓｅｃｒｅｔ－ｐａｓｓ－１")
    login = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": PASSWORD}}))["buyerLogin"]
    assert login["userErrors"] == []


async def test_staff_password_must_not_contain_the_username(db):
    async with db.transaction() as conn:
        with pytest.raises(DomainError) as refused:
            await create_staff(conn, "Warehouse-Lead", "warehouse-lead-2026", "ADMIN")
    assert refused.value.problems[0].code == "WEAK_PASSWORD"


def test_demo_logins_pass_the_policy():
    for _, login, password in DEMO_LOGINS:
        check_password_policy(password, (login,))


async def test_the_event_loop_keeps_running_while_logins_hash(gql):
    """Four logins at once (eight hashes' worth of CPU with the sign-ups): the loop never stalls
    for as long as one hash takes, as it did when argon2 ran on it."""
    hasher = PasswordHasher()
    started = time.perf_counter()
    hasher.hash(PASSWORD)
    one_hash = time.perf_counter() - started
    phones = [(await register(gql))[0] for _ in range(4)]
    stalls = []

    async def ticker(stop: asyncio.Event):
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            stalls.append(now - last)
            last = now

    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(stop))
    logins = await asyncio.gather(*[gql.ok(LOGIN, {"i": {"phone": p, "password": PASSWORD}}) for p in phones],
                                  *[gql.ok(LOGIN, {"i": {"phone": unique_phone(), "password": PASSWORD}})
                                    for _ in range(4)])
    stop.set()
    await ticking
    assert all(r["buyerLogin"]["userErrors"] == [] for r in logins[:4])
    assert max(stalls) < one_hash / 2, (max(stalls), one_hash)
