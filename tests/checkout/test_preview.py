"""`checkoutPreview` and the cart's `preview` through the real app: the engine's breakdown for a
direct buy and for the cart over two merchants, payment and shipping rules, the buyer's coupon
picks (unknown, foreign, expired, used), and bad input refused with one coded error."""

import pytest

from tests.cart.helpers import device, device_token, fill_cart, new_buyer, staff_token
from tests.checkout.helpers import (
    BEIJING,
    CART_PREVIEW,
    GUANGDONG,
    PREVIEW,
    SHENZHEN_NANSHAN,
    TIBET,
    error_of,
    fill_wallet,
    gid,
    lines_input,
    make_market,
)


@pytest.fixture(scope="module")
async def market(db):
    return await make_market(db)


@pytest.fixture
async def buyer(db, settings, market):
    buyer_id, token = await new_buyer(db, settings)
    return buyer_id, token, await fill_wallet(db, market, buyer_id)


async def preview(gql, token, headers=None, **i):
    body = await gql(PREVIEW, {"i": i}, token, headers)
    assert "errors" not in body, body["errors"]
    return body["data"]["checkoutPreview"]


def three_lines(m):
    return lines_input((m.sku["a1"], 1), (m.sku["a2"], 1), (m.sku["b1"], 1))


def by_coupon(result):
    return {c["couponId"]: (c["usable"], c["applied"], c["reason"]) for c in result["coupons"]}


async def test_direct_buy_over_two_merchants(gql, market, buyer):
    """Docs worked example: A 200.00 + 150.00 under A's ≥300 −30, A's shop coupon ≥300 −20 after it,
    the platform coupon −10 over both merchants, BANK_CARD −5; B ships to Guangdong for 6.00."""
    _, token, wallet = buyer
    m = market
    r = await preview(gql, token, lines=three_lines(m), paymentChannel="BANK_CARD", regionCode=SHENZHEN_NANSHAN)
    assert (r["goodsTotal"], r["totalDiscount"], r["shippingTotal"], r["payable"]) == (45001, 6500, 600, 39101)
    assert r["approximate"] is False
    applied = {(a["kind"], a["level"]): (a["discount"], a["base"]) for a in r["applied"]}
    assert applied == {("FULL_REDUCTION", "SHOP"): (3000, 35000), ("SHOP", "SHOP_COUPON"): (2000, 32000),
                       ("PLATFORM", "PLATFORM_COUPON"): (1000, 40001), ("PAYMENT", "PAYMENT"): (500, 39001)}
    a1, a2, b1 = r["lines"]
    assert a1["skuId"] == gid("Sku", m.sku["a1"]) and a1["unitPrice"] == 20000   # no member level
    # shop reduction split 1714 / 1286 (largest remainder), coupon 1143 / 857, platform 429 / 321 / 250
    assert [s["amount"] for s in a1["shares"][:3]] == [1714, 1143, 429]
    assert [s["amount"] for s in a2["shares"][:3]] == [1286, 857, 321]
    assert [s["level"] for s in b1["shares"]] == ["PLATFORM_COUPON", "PAYMENT"]
    assert b1["shares"][0]["amount"] == 250 and b1["shares"][0]["funder"] == "PLATFORM"
    assert a1["shares"][0]["funder"] == "MERCHANT" and a1["shares"][0]["promotionId"] == gid(
        "Promotion", m.promotion["a_reduction"])
    for line in r["lines"]:  # every share of a line adds up to its paid amount
        assert line["paidAmount"] == line["goodsAmount"] - line["itemDiscount"] - sum(s["amount"] for s in line["shares"])
    ma, mb = r["merchants"]
    assert (ma["merchantId"], ma["freeShipping"], ma["shipping"]) == (gid("Merchant", m.a), True, 0)
    assert (mb["merchantId"], mb["freeShipping"], mb["shipping"]) == (gid("Merchant", m.b), False, 600)
    assert by_coupon(r) == {gid("Coupon", wallet["shop_a"]): (True, True, None),
                            gid("Coupon", wallet["platform"]): (True, True, None),
                            gid("Coupon", wallet["shop_b"]): (False, False, "BELOW_THRESHOLD")}
    assert {p["promotionId"]: p["reason"] for p in r["promotionsNotApplied"]} == {
        gid("Promotion", m.promotion["b_discount"]): "THRESHOLD_NOT_MET"}


async def test_hints_name_the_next_threshold(gql, market, buyer):
    r = await preview(gql, buyer[1], lines=three_lines(market))
    hints = {h["promotionId"]: h for h in r["hints"]}
    reduction = hints[gid("Promotion", market.promotion["a_reduction"])]
    assert (reduction["current"], reduction["threshold"], reduction["missing"], reduction["isItemCount"],
            reduction["currentDiscount"], reduction["nextDiscount"]) == (35000, 50000, 15000, False, 3000, 6000)
    items = hints[gid("Promotion", market.promotion["b_discount"])]
    assert (items["current"], items["threshold"], items["missing"], items["isItemCount"]) == (1, 3, 2, True)


async def test_payment_discount_only_for_its_channel(gql, market, buyer):
    bank_card = gid("Promotion", market.promotion["bank_card"])
    for channel in ("WECHAT", None):
        r = await preview(gql, buyer[1], lines=three_lines(market), paymentChannel=channel)
        assert r["totalDiscount"] == 6000 and all(a["kind"] != "PAYMENT" for a in r["applied"])
        assert {"promotionId": bank_card, "reason": "CHANNEL_MISMATCH"} in r["promotionsNotApplied"]
        assert all(m["paymentDiscount"] == 0 for m in r["merchants"])
    r = await preview(gql, buyer[1], lines=three_lines(market), paymentChannel="BANK_CARD")
    assert r["totalDiscount"] == 6500 and sum(m["paymentDiscount"] for m in r["merchants"]) == 500


@pytest.mark.parametrize("region, fee", [(TIBET, 2000), (GUANGDONG, 800), (None, 800)])
async def test_shipping_by_region_below_the_free_threshold(gql, market, buyer, region, fee):
    r = await preview(gql, buyer[1], lines=lines_input((market.sku["a_cheap"], 1)), regionCode=region)
    assert (r["shippingTotal"], r["payable"], r["merchants"][0]["freeShipping"]) == (fee, 5000 + fee, False)


async def test_shipping_free_from_the_threshold_and_by_merchant(gql, market, buyer):
    r = await preview(gql, buyer[1], lines=lines_input((market.sku["a_cheap"], 2), (market.sku["b2"], 1)),
                      regionCode=BEIJING)
    assert [(m["shipping"], m["freeShipping"]) for m in r["merchants"]] == [(0, True), (1000, False)]
    assert r["payable"] == 10000 + 5000 + 1000


async def test_member_price_for_a_member(gql, db, market, buyer):
    buyer_id, token, _ = buyer
    await db.fetch("UPDATE buyers SET member_level = 1 WHERE id = $1", buyer_id)
    r = await preview(gql, token, lines=lines_input((market.sku["a1"], 1)), couponIds=[])
    assert (r["lines"][0]["unitPrice"], r["lines"][0]["memberPriceApplied"], r["goodsTotal"]) == (18000, True, 18000)


async def test_undeliverable_address_names_the_line(gql, market, buyer):
    body = await gql(PREVIEW, {"i": {"lines": three_lines(market), "regionCode": TIBET}}, buyer[1])
    error = error_of(body)
    assert error["extensions"]["code"] == "ADDRESS_NOT_DELIVERABLE"
    assert error["extensions"]["field"] == ["input", "lines", "2", "skuId"]
    assert error["extensions"]["problems"] == [{
        "code": "ADDRESS_NOT_DELIVERABLE", "message": "this item cannot be delivered to the address",
        "field": ["input", "lines", "2", "skuId"], "skuId": gid("Sku", market.sku["b1"])}]


async def test_cart_preview_prices_the_selected_lines(gql, db, market, buyer):
    buyer_id, token, wallet = buyer
    await fill_cart(db, "buyer_id", buyer_id, [market.sku["a1"], market.sku["a2"], market.sku["b2"], market.sku["b1"]])
    await db.fetch("UPDATE cart_lines SET selected = false WHERE sku_id = $1", market.sku["b2"])
    direct = await preview(gql, token, lines=three_lines(market), paymentChannel="BANK_CARD", regionCode=GUANGDONG)
    from_cart = await preview(gql, token, fromCart=True, paymentChannel="BANK_CARD", regionCode=GUANGDONG)
    assert from_cart == direct and from_cart["payable"] == 39101
    body = await gql(CART_PREVIEW, {"p": "BANK_CARD", "r": GUANGDONG}, token)
    assert "errors" not in body, body
    assert body["data"]["cart"]["lineCount"] == 4 and body["data"]["cart"]["preview"] == direct
    # the buyer's pick in the cart: only the platform coupon
    picked = (await gql(CART_PREVIEW, {"c": [gid("Coupon", wallet["platform"])]}, token))["data"]["cart"]["preview"]
    assert by_coupon(picked)[gid("Coupon", wallet["shop_a"])] == (True, False, "NOT_PICKED")
    assert picked["totalDiscount"] == 3000 + 1000


async def test_cart_preview_is_null_without_selected_lines_and_errors_name_cart_lines(gql, db, market, settings):
    buyer_id, token = await new_buyer(db, settings)
    body = await gql(CART_PREVIEW, {}, token)
    assert body["data"]["cart"] == {"lineCount": 0, "preview": None} and "errors" not in body
    error = error_of(await gql(PREVIEW, {"i": {"fromCart": True}}, token))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("NO_LINES", ["input", "fromCart"])

    await fill_cart(db, "buyer_id", buyer_id, [market.sku["a1"], market.sku["b1"]])
    error = error_of(await gql(PREVIEW, {"i": {"fromCart": True, "regionCode": TIBET}}, token))
    assert error["extensions"]["code"] == "ADDRESS_NOT_DELIVERABLE"
    assert error["extensions"]["problems"][0]["field"] == ["input", "fromCart"]
    assert error["extensions"]["problems"][0]["skuId"] == gid("Sku", market.sku["b1"])
    body = await gql(CART_PREVIEW, {"r": TIBET}, token)     # the cart itself still answers
    assert body["data"]["cart"] == {"lineCount": 2, "preview": None}
    (error,) = body["errors"]
    assert error["path"] == ["cart", "preview"] and error["extensions"]["code"] == "ADDRESS_NOT_DELIVERABLE"
    assert error["extensions"]["field"] is None and error["extensions"]["problems"][0]["skuId"] == gid(
        "Sku", market.sku["b1"])
    error = (await gql(CART_PREVIEW, {"c": ["nope"]}, token))["errors"][0]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_ID", ["couponIds", "0"])


async def test_anonymous_device_cart_preview(gql, db, market):
    token = device_token()
    await fill_cart(db, "device_token", token, [market.sku["a1"], market.sku["b1"]])
    body = await gql(PREVIEW, {"i": {"fromCart": True, "regionCode": GUANGDONG}}, headers=device(token))
    assert "errors" not in body, body
    r = body["data"]["checkoutPreview"]
    assert [line["skuId"] for line in r["lines"]] == [gid("Sku", market.sku["a1"]), gid("Sku", market.sku["b1"])]
    assert r["coupons"] == [] and r["lines"][0]["unitPrice"] == 20000
    assert (r["goodsTotal"], r["totalDiscount"], r["shippingTotal"], r["payable"]) == (30001, 0, 600, 30601)
    cart = (await gql(CART_PREVIEW, {}, headers=device(token)))["data"]["cart"]
    assert (cart["preview"]["shippingTotal"], cart["preview"]["payable"]) == (1000, 31001)  # no address: default fee
    # a device has no wallet: any picked coupon is unknown
    r = await preview(gql, None, headers=device(token), fromCart=True, couponIds=[gid("Coupon", 1)])
    assert by_coupon(r) == {gid("Coupon", 1): (False, False, "UNKNOWN_COUPON")}


@pytest.mark.parametrize("who", ["nobody", "bad-device", "staff"])
async def test_anyone_previews_a_direct_buy_but_only_owners_their_cart(gql, db, settings, market, who):
    """A product page shows the price after promotions to anyone; nobody's wallet is used for
    callers who are not buyers. The cart's preview stays the cart owner's."""
    lines = lines_input((market.sku["a1"], 1))
    token, headers = None, None
    if who == "bad-device":
        headers = device("short")
    elif who == "staff":
        token = await staff_token(db, settings, market.a)
    priced = await gql(PREVIEW, {"i": {"lines": lines}}, token, headers)
    assert "errors" not in priced and priced["data"]["checkoutPreview"]["goodsTotal"] == 20000
    assert priced["data"]["checkoutPreview"]["coupons"] == []
    error = error_of(await gql(PREVIEW, {"i": {"fromCart": True}}, token, headers))
    assert error["extensions"]["code"] == {"nobody": "UNAUTHENTICATED", "bad-device": "INVALID_DEVICE_TOKEN",
                                           "staff": "FORBIDDEN"}[who]


async def test_a_refused_token_is_never_previewed_as_nobody(gql, market):
    error = error_of(await gql(PREVIEW, {"i": {"lines": lines_input((market.sku["a1"], 1))}}, "not.a.token"))
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_and_foreign_coupons_look_the_same(gql, db, settings, market, buyer):
    _, token, _ = buyer
    other_id, _ = await new_buyer(db, settings)
    foreign = gid("Coupon", (await fill_wallet(db, market, other_id))["platform"])
    missing = gid("Coupon", 2**62)

    async def pick(coupon):
        r = await preview(gql, token, lines=three_lines(market), couponIds=[coupon])
        assert by_coupon(r)[coupon] == (False, False, "UNKNOWN_COUPON")
        assert all(a["couponId"] is None for a in r["applied"]) and r["totalDiscount"] == 3000
        return str(r).replace(coupon, "<picked>")

    assert await pick(foreign) == await pick(missing)


async def test_expired_and_used_coupons_give_their_reasons(gql, market, buyer):
    _, token, wallet = buyer
    expired, used = gid("Coupon", wallet["expired"]), gid("Coupon", wallet["used"])
    r = await preview(gql, token, lines=three_lines(market), couponIds=[expired, used])
    outcomes = by_coupon(r)
    assert outcomes[expired] == (False, False, "EXPIRED") and outcomes[used] == (False, False, "USED")
    assert outcomes[gid("Coupon", wallet["shop_a"])] == (True, False, "NOT_PICKED")
    r = await preview(gql, token, lines=three_lines(market))      # the engine chooses: neither is offered
    assert expired not in by_coupon(r) and used not in by_coupon(r)


@pytest.mark.parametrize("quantity", [-1, 0, 10000])
async def test_quantity_out_of_range(gql, market, buyer, quantity):
    lines = lines_input((market.sku["a1"], 1), (market.sku["a2"], quantity))
    error = error_of(await gql(PREVIEW, {"i": {"lines": lines}}, buyer[1]))
    assert error["message"] == "quantity must be 1 to 9999"
    assert error["extensions"]["code"] == "INVALID_QUANTITY"
    assert error["extensions"]["field"] == ["input", "lines", "1", "quantity"]


async def test_every_problem_is_listed_first_one_is_the_error(gql, market, buyer):
    lines = [{"skuId": gid("Sku", market.sku["a1"]), "quantity": -5},
             {"skuId": gid("Sku", market.sku["a1"]), "quantity": 1}]
    error = error_of(await gql(PREVIEW, {"i": {"lines": lines}}, buyer[1]))
    assert error["extensions"]["code"] == "INVALID_QUANTITY"
    assert [(p["code"], p["field"]) for p in error["extensions"]["problems"]] == [
        ("INVALID_QUANTITY", ["input", "lines", "0", "quantity"]), ("DUPLICATE_VALUE", ["input", "lines", "1", "skuId"])]


@pytest.mark.parametrize("case, code, field", [
    ("sku", "INVALID_ID", ["input", "lines", "1", "skuId"]),
    ("sku_as_coupon", "INVALID_ID", ["input", "couponIds", "0"]),
    ("garbage_coupon", "INVALID_ID", ["input", "couponIds", "1"]),
    ("unknown_sku", "NOT_FOUND", ["input", "lines", "0", "skuId"]),
    ("both", "INVALID_VALUE", ["input"]),
    ("neither", "INVALID_VALUE", ["input"]),
    ("empty", "NO_LINES", ["input", "lines"]),
    ("region", "UNKNOWN_REGION", ["input", "regionCode"]),
    ("201_lines", "TOO_MANY", ["input", "lines"]),
    ("21_coupons", "TOO_MANY", ["input", "couponIds"]),
])
async def test_bad_input(gql, market, buyer, case, code, field):
    a1 = gid("Sku", market.sku["a1"])
    i = {"lines": [{"skuId": a1, "quantity": 1}]}
    if case == "sku":
        i["lines"].append({"skuId": "not-an-id", "quantity": 1})
    elif case == "sku_as_coupon":
        i["couponIds"] = [a1]
    elif case == "garbage_coupon":
        i["couponIds"] = [gid("Coupon", 1), "%%%"]
    elif case == "unknown_sku":
        i["lines"] = lines_input((2**62, 1))
    elif case == "both":
        i["fromCart"] = True
    elif case == "neither":
        del i["lines"]
    elif case == "empty":
        i["lines"] = []
    elif case == "region":
        i["regionCode"] = "44"
    elif case == "201_lines":
        i["lines"] = [{"skuId": a1, "quantity": 1}] * 201
    elif case == "21_coupons":
        i["couponIds"] = [gid("Coupon", n) for n in range(1, 22)]
    error = error_of(await gql(PREVIEW, {"i": i}, buyer[1]))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == (code, field), error
    assert error["message"] and error["message"] != "Unexpected error."


async def test_ten_thousand_lines_are_refused_before_any_sql(gql, buyer):
    """The smallest 10,000-line body fits the 256 KiB limit: the count check refuses it before
    decoding an id or sending a statement."""
    lines = [{"skuId": "", "quantity": 1}] * 10_000
    error = error_of(await gql(PREVIEW, {"i": {"lines": lines}}, buyer[1]))
    assert error["extensions"]["code"] == "TOO_MANY" and error["message"] == "at most 200 lines per checkout"
    assert gql.last_response.headers["x-sql-statements"] == "0"


async def test_ten_thousand_real_lines_hit_the_body_limit(gql, market, buyer):
    lines = lines_input(*[(market.sku["a1"], 1)] * 10_000)
    response = await gql.http.post("/graphql", json={"query": PREVIEW, "variables": {"i": {"lines": lines}}},
                                   headers={"authorization": f"Bearer {buyer[1]}"})
    assert (response.status_code, response.text) == (413, "request body too large")


async def test_ten_thousand_inline_lines_hit_the_token_limit(gql, buyer):
    lines = ",".join(['{skuId:"",quantity:1}'] * 10_000)
    body = await gql(f"{{ checkoutPreview(input: {{lines: [{lines}]}}) {{ payable }} }}", token=buyer[1])
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST" and "token" in error["message"].lower()
