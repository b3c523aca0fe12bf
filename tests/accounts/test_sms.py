"""SMS codes at registration: sent through the sandbox SMS gateway over real HTTP, kept hashed,
short-lived, single-use, attempts and resends limited."""

import asyncio
import json

import httpx

from app.accounts import sms
from app.accounts.errors import AccountError
from app.auth.errors import AuthError
from app.config import DEV_SANDBOX_SECRET
from app.errors import DomainError
from app.signing import signed_headers
from tests.auth.helpers import PASSWORD, REGISTER, SEND_SMS_CODE, app_client, own_ip, sandbox_sms, sms_code
from tests.conftest import unique_phone
from tests.servers import free_port


async def _send(gql, phone) -> dict:
    return (await gql.ok(SEND_SMS_CODE, {"i": {"phone": phone, "purpose": "REGISTER"}}))["sendSmsCode"]


async def _register(gql, phone, code) -> list[str]:
    out = (await gql.ok(REGISTER, {"i": {"phone": phone, "password": PASSWORD, "smsCode": code}}))["registerBuyer"]
    return [e["code"] for e in out["userErrors"]]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_a_code_arrives_in_the_sandbox_inbox_and_registers_once(gql, redis):
    phone = unique_phone()
    sent = await _send(gql, phone)
    assert sent == {"sent": True, "expiresInSeconds": 300, "resendAfterSeconds": 60, "userErrors": []}
    [message] = await sandbox_sms(gql.http, phone)
    code = message["text"].split("验证码 ")[1][:6]
    assert code.isdigit() and message["template"] == "REGISTER_CODE"
    stored = await redis.hgetall(f"sms:code:REGISTER:{phone}")
    assert stored["attempts"] == "0" and code not in json.dumps(stored)        # only a keyed hash is kept
    assert await _register(gql, phone, None) == [AccountError.SMS_CODE_REQUIRED.value]
    assert await _register(gql, phone, "000000" if code != "000000" else "111111") == [
        AccountError.INVALID_SMS_CODE.value]
    assert await _register(gql, phone, code) == []
    assert not await redis.exists(f"sms:code:REGISTER:{phone}")                 # used up


async def test_a_code_is_single_use_and_attempts_are_limited(gql, redis, settings):
    phone = unique_phone()
    code = await sms_code(gql, phone)
    assert code is not None
    results = await asyncio.gather(*(sms.check_code(redis, settings, phone, sms.SmsPurpose.REGISTER, code)
                                     for _ in range(5)), return_exceptions=True)
    assert sum(r is None for r in results) == 1                                 # parallel uses: one passes
    assert all(isinstance(r, DomainError) for r in results if r is not None)

    other = unique_phone()
    code = await sms_code(gql, other)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(settings.sms_code_max_attempts):
        assert await _register(gql, other, wrong) == [AccountError.INVALID_SMS_CODE.value]
    assert await _register(gql, other, code) == [AccountError.INVALID_SMS_CODE.value]   # out of attempts


async def test_resends_are_throttled_per_phone_and_per_ip(settings):
    limited = settings.model_copy(update={"sms_codes_per_ip": 2})
    async with app_client(limited, own_ip()) as gql:
        phone = unique_phone()
        assert (await _send(gql, phone))["sent"]
        again = await _send(gql, phone)
        assert not again["sent"] and codes(again) == [AccountError.SMS_TOO_SOON.value]
        assert (await _send(gql, unique_phone()))["sent"]
        third = await _send(gql, unique_phone())
        assert codes(third) == [AuthError.TOO_MANY_ATTEMPTS.value]
    async with app_client(limited, own_ip()) as elsewhere:
        assert (await _send(elsewhere, unique_phone()))["sent"]


async def test_an_invalid_phone_gets_no_code(gql):
    assert codes(await _send(gql, "12-34")) == [AuthError.INVALID_PHONE.value]


async def test_codes_expire(settings):
    short = settings.model_copy(update={"sms_code_ttl_seconds": 1})
    async with app_client(short, own_ip()) as gql:
        phone = unique_phone()
        code = await sms_code(gql, phone)
        await asyncio.sleep(1.5)
        assert await _register(gql, phone, code) == [AccountError.INVALID_SMS_CODE.value]


async def test_a_gateway_that_is_down_sends_nothing_and_allows_a_retry(settings):
    down = settings.model_copy(update={"sms_gateway_url": f"http://127.0.0.1:{free_port()}/sandbox/sms"})
    phone = unique_phone()
    async with app_client(down, own_ip()) as gql:
        assert codes(await _send(gql, phone)) == [AccountError.SMS_NOT_SENT.value]
    async with app_client(settings, own_ip()) as gql:
        assert (await _send(gql, phone))["sent"]                                # not throttled by the failure


async def test_the_registration_code_can_be_switched_off(settings):
    open_door = settings.model_copy(update={"registration_requires_sms_code": False})
    async with app_client(open_door, own_ip()) as gql:
        assert await _register(gql, unique_phone(), None) == []


async def test_the_sandbox_checks_both_signatures(gql, settings):
    phone = unique_phone()
    message = json.dumps({"phone": phone, "text": "hi", "template": "T"}).encode()
    async with httpx.AsyncClient() as http:
        forged = await http.post(settings.sms_url + "/v1/messages", content=message,
                                 headers=signed_headers("not-the-secret", message))
        assert forged.status_code == 401
        taken = await http.post(settings.sms_url + "/v1/messages", content=message,
                                headers=signed_headers(settings.sms_gateway_secret, message))
        assert taken.status_code == 200 and taken.json()["message_id"]
    inbox = json.dumps({"phone": phone}).encode()
    # the inbox is a control call: the sender's secret does not open it, the sandbox's does
    refused = await gql.http.post("/sandbox/sms/v1/inbox", content=inbox,
                                  headers=signed_headers(settings.sms_gateway_secret, inbox))
    assert refused.status_code == 401
    opened = await gql.http.post("/sandbox/sms/v1/inbox", content=inbox, headers=signed_headers(DEV_SANDBOX_SECRET,
                                                                                                inbox))
    assert [m["text"] for m in opened.json()["messages"]] == ["hi"]


async def test_buyer_sms_notifications_go_through_the_gateway_and_wait_when_it_is_down(gql, db, settings):
    from app.payments.gateway import http_client
    from tests.accounts.helpers import new_buyer
    from workers.orders import send_buyer_notifications
    buyer_id, _ = await new_buyer(db, settings)
    phone = await db.fetchval("SELECT phone FROM buyers WHERE id = $1", buyer_id)
    notice = await db.fetchval("INSERT INTO buyer_notifications (buyer_id, channel, template, payload)"
                               " VALUES ($1, 'SMS', 'ORDER_SHIPPED', '{}') RETURNING id", buyer_id)
    down = settings.model_copy(update={"sms_gateway_url": f"http://127.0.0.1:{free_port()}/sandbox/sms"})
    async with http_client() as http:
        await send_buyer_notifications({"db": db, "settings": down, "http": http})
        assert await db.fetchval("SELECT status FROM buyer_notifications WHERE id = $1", notice) == "PENDING"
        assert await sandbox_sms(gql.http, phone) == []
        await send_buyer_notifications({"db": db, "settings": settings, "http": http})
    assert await db.fetchval("SELECT status FROM buyer_notifications WHERE id = $1", notice) == "SENT"
    assert [m["template"] for m in await sandbox_sms(gql.http, phone)] == ["ORDER_SHIPPED"]
