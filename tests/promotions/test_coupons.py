"""Coupons through GraphQL: issuing (merchants SHOP, operators PLATFORM/NEW_USER), claiming with
stock and per-buyer limits under concurrency, the wallet, and refusals."""

import asyncio

import pytest

from app.ids import encode_id
from tests.cart.helpers import new_buyer
from tests.promotions.helpers import (
    CLAIM,
    CLAIMABLE,
    CREATE_TEMPLATE,
    TEMPLATE_STATUS,
    UPDATE_TEMPLATE,
    WALLET,
    at,
    codes,
    coupon_input,
    nodes,
)


async def issue(gql, token, publish=True, **fields) -> dict:
    data = await gql.ok(CREATE_TEMPLATE, {"i": coupon_input(**fields)}, token)
    payload = data["createCouponTemplate"]
    assert payload["userErrors"] == [], payload["userErrors"]
    if publish:
        data = await gql.ok(TEMPLATE_STATUS, {"i": {"id": payload["template"]["id"], "action": "PUBLISH"}}, token)
        payload = data["changeCouponTemplateStatus"]
        assert payload["template"]["status"] == "ACTIVE", payload
    return payload["template"]


async def test_merchant_issues_a_shop_coupon_and_a_buyer_claims_it(gql, shop, db, settings):
    t = await issue(gql, shop.token_a, name="满100减10", perBuyerLimit=2)
    assert t["terms"] == {"kind": "SHOP", "name": "满100减10", "merchantId": encode_id("Merchant", shop.merchant_a),
                          "threshold": 10000, "amount": 1000, "rate": None, "cap": None, "categoryIds": []}
    _, buyer = await new_buyer(db, settings)
    claimable = await gql.ok(CLAIMABLE, {"m": encode_id("Merchant", shop.merchant_a)}, buyer)
    [offer] = [c for c in nodes(claimable["claimableCoupons"]) if c["templateId"] == t["id"]]
    assert offer["claimed"] == 0 and offer["remaining"] == 100

    first = (await gql.ok(CLAIM, {"t": t["id"]}, buyer))["claimCoupon"]
    assert first["userErrors"] == [] and first["coupon"]["status"] == "UNUSED"
    assert first["coupon"]["templateId"] == t["id"]
    second = (await gql.ok(CLAIM, {"t": t["id"]}, buyer))["claimCoupon"]
    assert second["coupon"]["id"] != first["coupon"]["id"]
    third = (await gql.ok(CLAIM, {"t": t["id"]}, buyer))["claimCoupon"]
    assert codes(third) == ["CLAIM_LIMIT_REACHED"] and third["coupon"] is None
    assert await db.fetchval("SELECT issued FROM coupon_templates WHERE id = (SELECT template_id FROM buyer_coupons"
                             " WHERE id = $1)", _coupon_pk(first["coupon"]["id"])) == 2
    claimable = await gql.ok(CLAIMABLE, {"m": encode_id("Merchant", shop.merchant_a)}, buyer)
    assert next(c for c in nodes(claimable["claimableCoupons"]) if c["templateId"] == t["id"])["claimed"] == 2


def _coupon_pk(gid: str) -> int:
    from app.ids import decode_id
    return decode_id("Coupon", gid)


async def test_200_simultaneous_claims_of_50_coupons_issue_exactly_50(gql, shop, db, settings):
    t = await issue(gql, shop.admin, kind="PLATFORM", totalStock=50, name="限量50")
    buyers = [(await new_buyer(db, settings))[1] for _ in range(200)]
    answers = await asyncio.gather(*(gql.ok(CLAIM, {"t": t["id"]}, b) for b in buyers))
    won = [a["claimCoupon"] for a in answers if a["claimCoupon"]["coupon"]]
    lost = [a["claimCoupon"] for a in answers if not a["claimCoupon"]["coupon"]]
    assert len(won) == 50 and len(lost) == 150
    assert {tuple(codes(x)) for x in lost} == {("OUT_OF_STOCK",)}
    pk = await db.fetchval("SELECT template_id FROM buyer_coupons WHERE id = $1", _coupon_pk(won[0]["coupon"]["id"]))
    assert await db.fetchval("SELECT issued FROM coupon_templates WHERE id = $1", pk) == 50
    assert await db.fetchval("SELECT count(*) FROM buyer_coupons WHERE template_id = $1", pk) == 50


async def test_one_buyers_parallel_claims_never_pass_the_limit(gql, shop, db, settings):
    t = await issue(gql, shop.token_b, perBuyerLimit=3, totalStock=1000)
    buyer_id, buyer = await new_buyer(db, settings)
    answers = await asyncio.gather(*(gql.ok(CLAIM, {"t": t["id"]}, buyer) for _ in range(30)))
    assert sum(1 for a in answers if a["claimCoupon"]["coupon"]) == 3
    assert await db.fetchval("SELECT count(*) FROM buyer_coupons WHERE buyer_id = $1", buyer_id) == 3
    assert await db.fetchval("SELECT issued FROM coupon_templates t JOIN buyer_coupons b ON b.template_id = t.id"
                             " WHERE b.buyer_id = $1 LIMIT 1", buyer_id) == 3


async def test_claim_refusals(gql, shop, db, settings):
    _, buyer = await new_buyer(db, settings)
    draft = await issue(gql, shop.token_a, publish=False)
    assert codes((await gql.ok(CLAIM, {"t": draft["id"]}, buyer))["claimCoupon"]) == ["NOT_FOUND"]
    later = await issue(gql, shop.token_a, claimStartsAt=at(days=1), claimEndsAt=at(days=2))
    assert codes((await gql.ok(CLAIM, {"t": later["id"]}, buyer))["claimCoupon"]) == ["CLAIM_NOT_STARTED"]
    paused = await issue(gql, shop.token_a)
    await gql.ok(TEMPLATE_STATUS, {"i": {"id": paused["id"], "action": "PAUSE"}}, shop.token_a)
    assert codes((await gql.ok(CLAIM, {"t": paused["id"]}, buyer))["claimCoupon"]) == ["NOT_CLAIMABLE"]
    unknown = encode_id("CouponTemplate", 987654321)
    assert codes((await gql.ok(CLAIM, {"t": unknown}, buyer))["claimCoupon"]) == ["NOT_FOUND"]
    assert codes((await gql.ok(CLAIM, {"t": "garbage"}, buyer))["claimCoupon"]) == ["INVALID_ID"]
    staff = await gql(CLAIM, {"t": paused["id"]}, shop.token_a)
    assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await gql(CLAIM, {"t": paused["id"]})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_wallet_states_and_pages(gql, shop, db, settings):
    buyer_id, buyer = await new_buyer(db, settings)
    t = await issue(gql, shop.token_a, perBuyerLimit=5, validUntil=at(days=3), validDays=None)
    ids = [(await gql.ok(CLAIM, {"t": t["id"]}, buyer))["claimCoupon"]["coupon"]["id"] for _ in range(4)]
    await db.fetchval("UPDATE buyer_coupons SET status = 'USED', used_at = now() WHERE id = $1", _coupon_pk(ids[0]))
    await db.fetchval("UPDATE buyer_coupons SET expires_at = now() - interval '1 minute' WHERE id = $1",
                     _coupon_pk(ids[1]))
    unused = (await gql.ok(WALLET, {"s": "UNUSED", "first": 1}, buyer))["myCoupons"]
    assert unused["counts"] == {"unused": 2, "used": 1, "expired": 1}
    assert [c["id"] for c in nodes(unused)] == [ids[3]] and unused["pageInfo"]["hasNextPage"]
    rest = (await gql.ok(WALLET, {"s": "UNUSED", "first": 1, "after": unused["pageInfo"]["endCursor"]},
                         buyer))["myCoupons"]
    assert [c["id"] for c in nodes(rest)] == [ids[2]] and not rest["pageInfo"]["hasNextPage"]
    used = nodes((await gql.ok(WALLET, {"s": "USED"}, buyer))["myCoupons"])
    assert [(c["id"], c["status"]) for c in used] == [(ids[0], "USED")] and used[0]["usedAt"]
    expired = nodes((await gql.ok(WALLET, {"s": "EXPIRED"}, buyer))["myCoupons"])
    assert [(c["id"], c["status"]) for c in expired] == [(ids[1], "EXPIRED")]
    _, other = await new_buyer(db, settings)
    assert nodes((await gql.ok(WALLET, {"s": "UNUSED"}, other))["myCoupons"]) == []
    bad = await gql(WALLET, {"s": "UNUSED", "after": "x'; drop"}, buyer)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_only_operators_issue_platform_and_new_user_coupons(gql, shop, db, settings):
    refused = await gql.ok(CREATE_TEMPLATE, {"i": coupon_input("PLATFORM")}, shop.token_a)
    assert codes(refused["createCouponTemplate"]) == ["FORBIDDEN"]
    category = await db.fetchval("SELECT id FROM backend_categories ORDER BY id LIMIT 1")
    t = await issue(gql, shop.admin, kind="NEW_USER", rate=90, cap=2000, amount=None, threshold=0,
                    categoryIds=[encode_id("Category", category)])
    assert t["terms"]["merchantId"] is None and t["terms"]["rate"] == 90 and t["terms"]["cap"] == 2000
    _, buyer = await new_buyer(db, settings)
    claimed = (await gql.ok(CLAIM, {"t": t["id"]}, buyer))["claimCoupon"]
    assert claimed["userErrors"] == [] and claimed["coupon"]["terms"]["kind"] == "NEW_USER"
    shop_for_platform = await gql.ok(CREATE_TEMPLATE, {"i": coupon_input("SHOP")}, shop.admin)
    assert codes(shop_for_platform["createCouponTemplate"]) == ["MERCHANT_REQUIRED"]


@pytest.mark.parametrize("fields, code", [
    ({"amount": None}, "INVALID_RULE"),
    ({"rate": 90}, "INVALID_RULE"),
    ({"amount": -100}, "INVALID_AMOUNT"),
    ({"amount": 20000}, "INVALID_AMOUNT"),
    ({"amount": None, "rate": 0}, "INVALID_RATE"),
    ({"cap": 500}, "INVALID_AMOUNT"),
    ({"totalStock": 0}, "INVALID_QUANTITY"),
    ({"perBuyerLimit": 0}, "INVALID_QUANTITY"),
    ({"validDays": None}, "INVALID_VALIDITY"),
    ({"validUntil": at(days=3)}, "INVALID_VALIDITY"),
    ({"claimEndsAt": at(days=-3)}, "INVALID_WINDOW"),
    ({"categoryIds": [encode_id("Category", 987654321)]}, "NOT_FOUND"),
])
async def test_bad_coupon_input_is_refused(gql, shop, db, fields, code):
    count = await db.fetchval("SELECT count(*) FROM coupon_templates")
    data = await gql.ok(CREATE_TEMPLATE, {"i": coupon_input(**fields)}, shop.token_a)
    assert codes(data["createCouponTemplate"])[0] == code, data
    assert await db.fetchval("SELECT count(*) FROM coupon_templates") == count


async def test_a_merchant_cannot_touch_another_merchants_coupon(gql, shop):
    t = await issue(gql, shop.token_a, publish=False)
    for query, variables, key in [
        (UPDATE_TEMPLATE, {"i": {"id": t["id"], "template": coupon_input(name="hijack")}}, "updateCouponTemplate"),
        (TEMPLATE_STATUS, {"i": {"id": t["id"], "action": "PUBLISH"}}, "changeCouponTemplateStatus"),
    ]:
        assert codes((await gql.ok(query, variables, shop.token_b))[key]) == ["NOT_FOUND"]
    read = await gql("query($id: ID!) { couponTemplate(id: $id) { id } }", {"id": t["id"]}, shop.token_b)
    assert read["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    mine = await gql.ok(UPDATE_TEMPLATE, {"i": {"id": t["id"], "template": coupon_input(name="改名")}}, shop.token_a)
    assert mine["updateCouponTemplate"]["template"]["terms"]["name"] == "改名"
