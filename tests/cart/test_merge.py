"""An anonymous device's cart merges into the buyer's at sign-in (buyerLogin, registerBuyer with
X-Device-Token) or through mergeCart: same SKU adds up capped by the purchase limit, new SKUs
are appended in their order, the device's cart is emptied, and merging again changes nothing."""

import pytest

from app.auth.tokens import decode_access_token
from tests.auth.helpers import register_input
from tests.cart.helpers import (
    ADD,
    CART,
    MERGE,
    SELECT,
    codes,
    device,
    device_token,
    fill_cart,
    lines,
    make_shop,
    ok,
    sku_gid,
    staff_token,
)
from tests.conftest import unique_phone

REGISTER = """mutation($i: RegisterBuyerInput!) { registerBuyer(input: $i) { accessToken userErrors { code } } }"""
LOGIN = """mutation($i: BuyerLoginInput!) { buyerLogin(input: $i) { accessToken userErrors { code } } }"""
PASSWORD = "secret-pass-1"


@pytest.fixture(scope="module")
async def shop(db):
    return await make_shop(db)


async def add(gql, sku, quantity=1, token=None, headers=None):
    out = (await ok(gql, ADD, {"i": {"skuId": sku, "quantity": quantity}}, token, headers))["addCartLine"]
    assert out["userErrors"] == []


async def cart(gql, token=None, headers=None) -> list[tuple[str, int, int, bool]]:
    data = (await ok(gql, CART, token=token, headers=headers))["cart"]
    return [(line["sku"]["id"], line["quantity"], line["position"], line["selected"]) for line in lines(data)]


async def sign_in(gql, phone, headers=None) -> str:
    out = (await ok(gql, LOGIN, {"i": {"phone": phone, "password": PASSWORD}}, headers=headers))["buyerLogin"]
    assert out["userErrors"] == []
    return out["accessToken"]


async def registered(gql) -> tuple[str, str]:
    phone = unique_phone()
    out = (await ok(gql, REGISTER, {"i": await register_input(gql, phone, PASSWORD)}))["registerBuyer"]
    return phone, out["accessToken"]


async def anonymous_cart(gql, shop) -> dict:
    """limited ×2, plain ×2, case ×1 (unselected), low ×1 in a new device's cart."""
    headers = device(device_token())
    for sku, quantity in (("limited", 2), ("plain", 2), ("case", 1), ("low", 1)):
        await add(gql, shop.gid[sku], quantity, headers=headers)
    await ok(gql, SELECT, {"i": {"skuIds": [shop.gid["case"]], "selected": False}}, headers=headers)
    return headers


async def test_login_merges_the_device_cart_once(gql, shop):
    phone, token = await registered(gql)
    await add(gql, shop.gid["plain"], 1, token)
    await add(gql, shop.gid["limited"], 2, token)
    headers = await anonymous_cart(gql, shop)

    token = await sign_in(gql, phone, headers)
    merged = [(shop.gid["plain"], 3, 1, True), (shop.gid["limited"], 3, 2, True),   # capped at its limit of 3
              (shop.gid["case"], 1, 3, False), (shop.gid["low"], 1, 4, True)]      # appended in device order
    assert await cart(gql, token) == merged
    assert await cart(gql, headers=headers) == []            # the device's cart is empty now

    token = await sign_in(gql, phone, headers)               # idempotent
    assert await cart(gql, token) == merged


async def test_registration_takes_the_device_cart_along(gql, shop):
    headers = await anonymous_cart(gql, shop)
    out = (await ok(gql, REGISTER, {"i": await register_input(gql, unique_phone(), PASSWORD)}, headers=headers))
    token = out["registerBuyer"]["accessToken"]
    assert [(sku, quantity) for sku, quantity, _, _ in await cart(gql, token)] == [
        (shop.gid["limited"], 2), (shop.gid["plain"], 2), (shop.gid["case"], 1), (shop.gid["low"], 1)]
    assert await cart(gql, headers=headers) == []


async def test_a_failed_or_odd_login_merges_nothing(gql, shop):
    phone, _ = await registered(gql)
    headers = await anonymous_cart(gql, shop)
    wrong = (await ok(gql, LOGIN, {"i": {"phone": phone, "password": "wrong-pass-1"}}, headers=headers))["buyerLogin"]
    assert codes(wrong) == ["INVALID_CREDENTIALS"]
    assert len(await cart(gql, headers=headers)) == 4
    token = await sign_in(gql, phone, {"x-device-token": "bad token"})   # malformed: ignored, login works
    assert await cart(gql, token) == []


async def test_merge_cart_mutation(gql, shop):
    _, token = await registered(gql)
    await add(gql, shop.gid["limited"], 3, token)
    headers = await anonymous_cart(gql, shop)
    variables = {"i": {"deviceToken": headers["x-device-token"]}}
    out = (await ok(gql, MERGE, variables, token))["mergeCart"]
    assert out["userErrors"] == []
    assert [(w["skuId"], w["code"], w["requestedQuantity"], w["quantity"]) for w in out["warnings"]] == [
        (shop.gid["limited"], "PURCHASE_LIMIT", 5, 3)]
    assert out["cart"]["lineCount"] == 4
    again = (await ok(gql, MERGE, variables, token))["mergeCart"]
    assert again["warnings"] == [] and again["cart"] == out["cart"]


async def test_merge_cart_bad_input_and_callers(gql, db, settings, shop):
    _, token = await registered(gql)
    bad = (await ok(gql, MERGE, {"i": {"deviceToken": "nope"}}, token))["mergeCart"]
    assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [("INVALID_DEVICE_TOKEN", ["input", "deviceToken"])]
    unknown = (await ok(gql, MERGE, {"i": {"deviceToken": device_token()}}, token))["mergeCart"]
    assert unknown["userErrors"] == [] and unknown["cart"]["lineCount"] == 0
    anonymous = await gql(MERGE, {"i": {"deviceToken": device_token()}}, headers=device(device_token()))
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    staff = await gql(MERGE, {"i": {"deviceToken": device_token()}}, await staff_token(db, settings, shop.merchant_a))
    assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_merge_stops_at_a_full_cart(gql, db, settings, shop):
    _, token = await registered(gql)
    buyer_id = decode_access_token(token, settings.jwt_secret).id
    await fill_cart(db, "buyer_id", buyer_id, shop.bulk[:199])
    anonymous = device_token()
    await fill_cart(db, "device_token", anonymous, [shop.bulk[0], *shop.bulk[199:202]])
    out = (await ok(gql, MERGE, {"i": {"deviceToken": anonymous}}, token))["mergeCart"]
    assert [(w["skuId"], w["code"], w["quantity"]) for w in out["warnings"]] == [
        (sku_gid(shop.bulk[200]), "CART_FULL", 0), (sku_gid(shop.bulk[201]), "CART_FULL", 0)]
    merged = lines(out["cart"])
    assert len(merged) == 200 and merged[0]["quantity"] == 2
    assert (merged[-1]["sku"]["id"], merged[-1]["position"]) == (sku_gid(shop.bulk[199]), 200)
