"""Cart lines through the real app: add/update/remove/select/clear, caps with warnings, refusals
with userErrors that write nothing, stock states, grouping by merchant, and who may see a cart."""

import pytest

from app.ids import encode_id
from tests.cart.helpers import (
    ADD,
    BULK_SKUS,
    CART,
    CLEAR,
    REMOVE,
    SELECT,
    UPDATE,
    codes,
    device,
    device_token,
    fill_cart,
    lines,
    make_shop,
    new_buyer,
    ok,
    sku_gid,
    staff_token,
)


@pytest.fixture(scope="module")
async def shop(db):
    return await make_shop(db)


@pytest.fixture
async def buyer(db, settings):
    return await new_buyer(db, settings)


async def add(gql, token, sku, quantity=1, headers=None):
    out = await ok(gql, ADD, {"i": {"skuId": sku, "quantity": quantity}}, token=token, headers=headers)
    return out["addCartLine"]


async def cart_of(gql, token=None, headers=None):
    body = await gql(CART, token=token, headers=headers)
    assert "errors" not in body, body["errors"]
    return body["data"]["cart"]


async def test_empty_cart(gql, buyer):
    assert await cart_of(gql, buyer[1]) == {"lineCount": 0, "selectedQuantity": 0, "selectedTotal": 0, "groups": []}


async def test_adding_the_same_sku_adds_to_its_line(gql, shop, buyer):
    _, token = buyer
    first = await add(gql, token, shop.gid["plain"], 2)
    assert first["userErrors"] == [] and first["warnings"] == []
    await add(gql, token, shop.gid["case"])
    again = await add(gql, token, shop.gid["plain"], 3)
    cart = again["cart"]
    assert cart["lineCount"] == 2
    plain, case = lines(cart)
    assert (plain["sku"]["id"], plain["quantity"], plain["position"]) == (shop.gid["plain"], 5, 1)
    assert (case["sku"]["id"], case["quantity"], case["position"]) == (shop.gid["case"], 1, 2)
    assert plain["unitPrice"] == 1000 and plain["amount"] == 5000 and plain["sku"]["memberPrice"] == 900
    assert plain["stockState"] == "IN_STOCK" and plain["selected"] is True
    assert plain["product"]["title"] == f"手机 {shop.tag}"
    assert plain["imageUrl"] == f"https://img.example.com/{shop.phone}.jpg"   # the product's main image
    assert case["imageUrl"] == "https://img.example.com/case.jpg"              # the SKU's own image
    assert cart["selectedQuantity"] == 6 and cart["selectedTotal"] == 5000 + 3000


async def test_lines_are_grouped_by_merchant_in_cart_order(gql, shop, buyer):
    _, token = buyer
    for sku in ("case", "plain", "limited"):
        await add(gql, token, shop.gid[sku])
    cart = await cart_of(gql, token)
    assert [(g["merchantId"], g["merchantName"]) for g in cart["groups"]] == [
        (encode_id("Merchant", shop.merchant_b), shop.name_b), (encode_id("Merchant", shop.merchant_a), shop.name_a)]
    assert [[line["sku"]["id"] for line in g["lines"]] for g in cart["groups"]] == [
        [shop.gid["case"]], [shop.gid["plain"], shop.gid["limited"]]]
    assert [g["selectedTotal"] for g in cart["groups"]] == [3000, 1000 + 2500]


@pytest.mark.parametrize("sku, quantity, code, field", [
    ("not-an-id", 1, "INVALID_ID", ["input", "skuId"]),
    (encode_id("Product", 1), 1, "INVALID_ID", ["input", "skuId"]),
    (sku_gid(2**62), 1, "NOT_FOUND", ["input", "skuId"]),
    ("plain", 0, "INVALID_QUANTITY", ["input", "quantity"]),
    ("plain", -3, "INVALID_QUANTITY", ["input", "quantity"]),
    ("plain", 1000, "INVALID_QUANTITY", ["input", "quantity"]),
    ("plain", 2_000_000_000, "INVALID_QUANTITY", ["input", "quantity"]),
    ("disabled", 1, "NOT_AVAILABLE", ["input", "skuId"]),
    ("delisted", 1, "NOT_AVAILABLE", ["input", "skuId"]),
    ("out", 1, "OUT_OF_STOCK", ["input", "skuId"]),
])
async def test_bad_adds_are_refused_and_write_nothing(gql, db, shop, buyer, sku, quantity, code, field):
    buyer_id, token = buyer
    out = await add(gql, token, shop.gid.get(sku, sku), quantity)
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [(code, field)]
    assert out["cart"] is None
    assert await db.fetchval("SELECT count(*) FROM carts WHERE buyer_id = $1", buyer_id) == 0


async def test_purchase_limit_caps_with_a_warning(gql, shop, buyer):
    _, token = buyer
    out = await add(gql, token, shop.gid["limited"], 5)
    assert out["userErrors"] == []
    assert [(w["skuId"], w["code"], w["requestedQuantity"], w["quantity"]) for w in out["warnings"]] == [
        (shop.gid["limited"], "PURCHASE_LIMIT", 5, 3)]
    assert lines(out["cart"])[0]["quantity"] == 3
    more = await add(gql, token, shop.gid["limited"], 1)
    assert [(w["code"], w["requestedQuantity"], w["quantity"]) for w in more["warnings"]] == [("PURCHASE_LIMIT", 4, 3)]
    assert lines(more["cart"])[0]["quantity"] == 3


async def test_available_stock_caps_with_a_warning(gql, shop, buyer):
    _, token = buyer
    out = await add(gql, token, shop.gid["low"], 5)
    assert [(w["code"], w["requestedQuantity"], w["quantity"]) for w in out["warnings"]] == [
        ("INSUFFICIENT_STOCK", 5, 2)]
    assert lines(out["cart"])[0]["quantity"] == 2 and lines(out["cart"])[0]["stockState"] == "IN_STOCK"


async def test_line_quantity_is_capped_at_the_cart_maximum(gql, shop, buyer, db):
    _, token = buyer
    await db.pool.execute("UPDATE stock SET on_hand = 5000 WHERE sku_id = $1", shop.bulk[0])
    await add(gql, token, sku_gid(shop.bulk[0]), 999)
    out = await add(gql, token, sku_gid(shop.bulk[0]), 1)
    assert [(w["code"], w["quantity"]) for w in out["warnings"]] == [("MAX_QUANTITY", 999)]


async def test_update_sets_the_quantity(gql, shop, buyer):
    _, token = buyer
    await add(gql, token, shop.gid["plain"], 2)
    await add(gql, token, shop.gid["limited"], 1)
    out = (await ok(gql, UPDATE, {"i": {"skuId": shop.gid["plain"], "quantity": 7}}, token=token))["updateCartLine"]
    assert out["userErrors"] == [] and out["warnings"] == []
    assert [line["quantity"] for line in lines(out["cart"])] == [7, 1]
    down = (await ok(gql, UPDATE, {"i": {"skuId": shop.gid["plain"], "quantity": 1}}, token=token))["updateCartLine"]
    assert [line["quantity"] for line in lines(down["cart"])] == [1, 1]
    capped = (await ok(gql, UPDATE, {"i": {"skuId": shop.gid["limited"], "quantity": 10}},
                           token=token))["updateCartLine"]
    assert [(w["code"], w["quantity"]) for w in capped["warnings"]] == [("PURCHASE_LIMIT", 3)]
    assert [line["quantity"] for line in lines(capped["cart"])] == [1, 3]


@pytest.mark.parametrize("sku, quantity, code", [
    ("case", 1, "NOT_FOUND"),          # not in this cart
    ("plain", 0, "INVALID_QUANTITY"),
    ("plain", 1000, "INVALID_QUANTITY"),
    ("bad", 1, "INVALID_ID"),
    ("disabled", 1, "NOT_AVAILABLE"),
])
async def test_bad_updates_are_refused(gql, shop, buyer, sku, quantity, code):
    _, token = buyer
    await add(gql, token, shop.gid["plain"], 2)
    out = (await ok(gql, UPDATE, {"i": {"skuId": shop.gid.get(sku, sku), "quantity": quantity}},
                        token=token))["updateCartLine"]
    assert codes(out) == [code] and out["cart"] is None
    assert [line["quantity"] for line in lines(await cart_of(gql, token))] == [2]


async def test_remove_select_and_clear(gql, shop, buyer):
    _, token = buyer
    for sku in ("plain", "limited", "case"):
        await add(gql, token, shop.gid[sku])
    unselect = (await ok(gql, SELECT, {"i": {"skuIds": [shop.gid["plain"], shop.gid["case"]], "selected": False}},
                             token=token))["selectCartLines"]
    assert [line["selected"] for line in lines(unselect["cart"])] == [False, True, False]
    assert unselect["cart"]["selectedQuantity"] == 1 and unselect["cart"]["selectedTotal"] == 2500
    everything = (await ok(gql, SELECT, {"i": {"selected": True}}, token=token))["selectCartLines"]
    assert everything["cart"]["selectedTotal"] == 1000 + 2500 + 3000
    removed = (await ok(gql, REMOVE, {"i": {"skuIds": [shop.gid["limited"], shop.gid["low"]]}},
                            token=token))["removeCartLines"]
    assert removed["userErrors"] == []     # "low" was not in the cart: ignored
    assert [line["sku"]["id"] for line in lines(removed["cart"])] == [shop.gid["plain"], shop.gid["case"]]
    cleared = (await ok(gql, CLEAR, token=token))["clearCart"]
    assert cleared["userErrors"] == [] and cleared["cart"]["lineCount"] == 0


async def test_bad_id_lists_are_refused(gql, shop, buyer):
    _, token = buyer
    await add(gql, token, shop.gid["plain"])
    bad = (await ok(gql, REMOVE, {"i": {"skuIds": [shop.gid["plain"], "junk"]}}, token=token))["removeCartLines"]
    assert [(e["code"], e["field"]) for e in bad["userErrors"]] == [("INVALID_ID", ["input", "skuIds", "1"])]
    huge = (await ok(gql, SELECT, {"i": {"skuIds": [shop.gid["plain"]] * 10_000, "selected": False}},
                         token=token))["selectCartLines"]
    assert codes(huge) == ["TOO_MANY"]
    assert lines(await cart_of(gql, token))[0]["selected"] is True


async def test_stock_state_follows_the_catalog(gql, db, shop, buyer):
    _, token = buyer
    for sku in ("plain", "limited", "case"):
        await add(gql, token, shop.gid[sku], 2)
    async with db.transaction() as c:
        await c.execute("UPDATE stock SET on_hand = 1 WHERE sku_id = $1", shop.pk["plain"])
        await c.execute("UPDATE skus SET status = 'DISABLED' WHERE id = $1", shop.pk["limited"])
    try:
        cart = await cart_of(gql, token)
        assert [line["stockState"] for line in lines(cart)] == ["INSUFFICIENT", "DELISTED", "IN_STOCK"]
        # A line that cannot be bought leaves the selected totals; one short of stock stays in them.
        assert cart["selectedQuantity"] == 4 and cart["selectedTotal"] == 2 * 1000 + 2 * 3000
    finally:
        async with db.transaction() as c:
            await c.execute("UPDATE stock SET on_hand = 100 WHERE sku_id = $1", shop.pk["plain"])
            await c.execute("UPDATE skus SET status = 'ACTIVE' WHERE id = $1", shop.pk["limited"])


async def test_delisted_product_shows_as_delisted(gql, db, shop, buyer):
    _, token = buyer
    await add(gql, token, shop.gid["case"])
    case_product = await db.fetchval("SELECT product_id FROM skus WHERE id = $1", shop.pk["case"])
    await db.pool.execute("UPDATE products SET status = 'DELISTED' WHERE id = $1", case_product)
    try:
        cart = await cart_of(gql, token)
        assert lines(cart)[0]["stockState"] == "DELISTED" and cart["selectedTotal"] == 0
    finally:
        await db.pool.execute("UPDATE products SET status = 'LISTED' WHERE id = $1", case_product)


async def test_a_cart_holds_at_most_200_lines(gql, db, shop, buyer):
    buyer_id, token = buyer
    await fill_cart(db, "buyer_id", buyer_id, shop.bulk[:200])
    full = await add(gql, token, shop.gid["plain"])
    assert codes(full) == ["CART_FULL"]
    more_of_a_line = await add(gql, token, sku_gid(shop.bulk[0]), 2)
    assert more_of_a_line["userErrors"] == [] and more_of_a_line["cart"]["lineCount"] == 200
    assert BULK_SKUS > 200


# ---------------------------------------------------------------- who sees which cart


async def test_anonymous_cart_by_device_token(gql, shop):
    mine, other = device(device_token()), device(device_token())
    out = await add(gql, None, shop.gid["plain"], 2, headers=mine)
    assert out["userErrors"] == [] and lines(out["cart"])[0]["quantity"] == 2
    assert (await cart_of(gql, headers=mine))["lineCount"] == 1
    assert (await cart_of(gql, headers=other))["lineCount"] == 0


async def test_a_device_token_never_reaches_a_buyers_cart(gql, shop, buyer):
    _, token = buyer
    header = device(device_token())
    await add(gql, token, shop.gid["plain"], headers=header)     # signed in: the buyer's cart
    assert (await cart_of(gql, headers=header))["lineCount"] == 0
    assert (await cart_of(gql, token))["lineCount"] == 1
    assert (await cart_of(gql, token, headers=header))["lineCount"] == 1


async def test_each_buyer_sees_only_their_cart(gql, db, settings, shop, buyer):
    _, token = buyer
    _, other = await new_buyer(db, settings)
    await add(gql, token, shop.gid["plain"])
    assert (await cart_of(gql, other))["lineCount"] == 0


def _error_code(body: dict) -> str:
    assert body["data"] is None or all(v is None for v in body["data"].values()), body
    return body["errors"][0]["extensions"]["code"]


async def test_who_may_have_a_cart(gql, db, settings, shop):
    staff = await staff_token(db, settings, shop.merchant_a)
    assert _error_code(await gql(CART, token=staff)) == "FORBIDDEN"
    assert _error_code(await gql(ADD, {"i": {"skuId": shop.gid["plain"]}}, token=staff)) == "FORBIDDEN"
    assert _error_code(await gql(CART)) == "UNAUTHENTICATED"
    assert _error_code(await gql(CLEAR)) == "UNAUTHENTICATED"
    for bad in ("short", "x" * 65, "has space in it 123", "ünïcödé-token-1234"):
        assert _error_code(await gql(CART, headers={"x-device-token": bad.encode()})) == "INVALID_DEVICE_TOKEN"
    # An expired or forged bearer token never falls back to the device's cart.
    assert _error_code(await gql(CART, token="forged", headers=device(device_token()))) == "UNAUTHENTICATED"
