"""Account deletion (注销): refused while an order is open, otherwise personal data goes, orders
and money records stay, every session ends, and the phone can register again."""

import pytest

from app.accounts.errors import AccountError
from app.auth.errors import AuthError
from tests.accounts.helpers import merchant, order
from tests.auth.helpers import LOGIN, PASSWORD, REFRESH, me_code, register

DELETE = """mutation($p: String!) { deleteAccount(input: {password: $p}) { deleted userErrors { field code message } } }"""
ADD = """mutation($i: AddAddressInput!) { addAddress(input: $i) { address { id } userErrors { code } } }"""
HOME = {"receiver": "李四", "phone": "13912345678", "regionCode": "110105", "detail": "朝阳区建国路 1 号"}
SNAPSHOT = {"receiver": "李四", "phone": "13912345678", "region_code": "110105", "detail": "朝阳区建国路 1 号"}


async def _buyer(gql, db):
    phone, session = await register(gql)
    buyer_id = await db.fetchval("SELECT id FROM buyers WHERE phone = $1", phone)
    return phone, session, buyer_id


async def _delete(gql, token, password=PASSWORD) -> list[str]:
    return [e["code"] for e in (await gql.ok(DELETE, {"p": password}, token))["deleteAccount"]["userErrors"]]


@pytest.mark.parametrize(("status", "aftersale"), [
    ("PENDING_PAYMENT", "NONE"), ("PAID", "NONE"), ("SHIPPED", "NONE"), ("RECEIVED", "NONE"),
    ("COMPLETED", "IN_PROGRESS")])
async def test_refused_while_an_order_or_after_sale_is_open(gql, db, status, aftersale):
    phone, session, buyer_id = await _buyer(gql, db)
    await order(db, buyer_id, await merchant(db), 1000, status=status, aftersale=aftersale)
    assert await _delete(gql, session["accessToken"]) == [AccountError.OPEN_ORDERS.value]
    assert await db.fetchval("SELECT status FROM buyers WHERE id = $1", buyer_id) == "ACTIVE"
    assert await me_code(gql, session["accessToken"]) == "OK"


async def test_the_password_is_required(gql, db):
    _, session, buyer_id = await _buyer(gql, db)
    assert await _delete(gql, session["accessToken"], "wrong-pass-1") == [AccountError.WRONG_PASSWORD.value]
    assert await db.fetchval("SELECT status FROM buyers WHERE id = $1", buyer_id) == "ACTIVE"


async def test_deletion_anonymises_keeps_orders_and_ends_every_session(gql, db, redis):
    phone, session, buyer_id = await _buyer(gql, db)
    token = session["accessToken"]
    other_login = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": PASSWORD}}))["buyerLogin"]
    assert (await gql.ok(ADD, {"i": HOME}, token))["addAddress"]["userErrors"] == []
    shop = await merchant(db)
    done = await order(db, buyer_id, shop, 12_300, status="COMPLETED", address=SNAPSHOT)
    closed = await order(db, buyer_id, shop, 500, status="CLOSED", address=SNAPSHOT)

    assert await _delete(gql, token) == []
    buyer = await db.fetchrow("SELECT * FROM buyers WHERE id = $1", buyer_id)
    assert (buyer["phone"], buyer["nickname"], buyer["status"]) == (None, "", "DELETED")
    assert buyer["deleted_at"] is not None
    assert await db.fetchval("SELECT count(*) FROM buyer_addresses WHERE buyer_id = $1", buyer_id) == 0
    orders = {r["id"]: r for r in await db.fetch("SELECT id, payable, status, address FROM orders"
                                                  " WHERE buyer_id = $1", buyer_id)}
    assert set(orders) == {done, closed} and orders[done]["payable"] == 12_300      # kept, money intact
    assert orders[done]["address"] == {"receiver": "*", "phone": "*" * 11, "region_code": "110105", "detail": "*"}
    event = await db.fetchrow("SELECT payload FROM outbox WHERE topic = 'account' AND event_type = 'ACCOUNT_DELETED'"
                              " AND (payload->>'buyer_id')::bigint = $1", buyer_id)
    assert event["payload"]["orders_masked"] == 2

    # neither session works any more, nor can the account sign in or refresh
    assert await me_code(gql, token) == "UNAUTHENTICATED"
    assert await me_code(gql, other_login["accessToken"]) == "UNAUTHENTICATED"
    refreshed = (await gql.ok(REFRESH, {"t": session["refreshToken"]}))["refreshSession"]
    assert [e["code"] for e in refreshed["userErrors"]] == [AuthError.INVALID_REFRESH_TOKEN.value]
    login = (await gql.ok(LOGIN, {"i": {"phone": phone, "password": PASSWORD}}))["buyerLogin"]
    assert [e["code"] for e in login["userErrors"]] == [AuthError.INVALID_CREDENTIALS.value]

    # the phone registers again, as a new account (once the resend minute is over)
    await redis.delete(f"sms:sent:REGISTER:{phone}")
    again_phone, again = await register(gql, phone=phone)
    assert again["userErrors"] == [] and again_phone == phone
    assert await db.fetchval("SELECT id FROM buyers WHERE phone = $1", phone) != buyer_id


async def test_a_buyer_with_only_finished_orders_and_nothing_else_may_delete(gql, db):
    _, session, buyer_id = await _buyer(gql, db)
    await order(db, buyer_id, await merchant(db), 1000, status="CANCELLED")
    assert await _delete(gql, session["accessToken"]) == []
