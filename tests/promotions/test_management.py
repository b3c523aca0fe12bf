"""Promotions through GraphQL: merchants manage their own, operators the platform's, the status
machine, enrolment (报名) and every refusal for bad input or foreign objects."""

import pytest

from app.ids import encode_id
from tests.promotions.helpers import (
    CREATE,
    ENROL,
    LIST,
    REVIEW,
    REVIEW_PROMOTION,
    STATUS,
    UPDATE,
    at,
    codes,
    nodes,
    promotion_input,
)


async def create(gql, token, **fields) -> dict:
    data = await gql.ok(CREATE, {"i": promotion_input(**fields)}, token)
    return data["createPromotion"]


async def test_merchant_creates_and_publishes_a_shop_promotion(gql, shop):
    payload = await create(gql, shop.token_a, scope={"skuIds": [shop.gid["plain"], shop.gid["limited"]]},
                           priority=5, stackableWithCoupons=False)
    assert payload["userErrors"] == []
    p = payload["promotion"]
    assert p["status"] == "DRAFT" and p["merchantId"] == encode_id("Merchant", shop.merchant_a)
    assert p["rule"]["tiers"] == [{"threshold": 30000, "amount": 3000}, {"threshold": 50000, "amount": 6000}]
    assert sorted(p["scope"]["skuIds"]) == sorted([shop.gid["plain"], shop.gid["limited"]])
    assert p["funding"] is None and p["priority"] == 5 and not p["stackableWithCoupons"]

    published = (await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}, shop.token_a))
    assert published["changePromotionStatus"]["promotion"]["status"] == "ACTIVE"
    paused = await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PAUSE"}}, shop.admin)
    assert paused["changePromotionStatus"]["promotion"]["status"] == "PAUSED"
    again = await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PAUSE"}}, shop.token_a)
    assert codes(again["changePromotionStatus"]) == ["INVALID_TRANSITION"]
    ended = await gql.ok(STATUS, {"i": {"id": p["id"], "action": "END"}}, shop.token_a)
    assert ended["changePromotionStatus"]["promotion"]["status"] == "ENDED"
    resumed = await gql.ok(STATUS, {"i": {"id": p["id"], "action": "RESUME"}}, shop.token_a)
    assert codes(resumed["changePromotionStatus"]) == ["INVALID_TRANSITION"]


async def test_only_drafts_change_and_edits_replace_the_content(gql, shop):
    p = (await create(gql, shop.token_a))["promotion"]
    changed = await gql.ok(UPDATE, {"i": {"id": p["id"], "promotion": promotion_input(
        name="每满300减30", rule={"perEvery": {"step": 30000, "amount": 3000, "cap": 9000}},
        scope={"skuIds": [shop.gid["plain"]]})}}, shop.token_a)
    q = changed["updatePromotion"]["promotion"]
    assert q["name"] == "每满300减30" and q["rule"]["tiers"] == []
    assert q["rule"]["perEvery"] == {"step": 30000, "amount": 3000, "cap": 9000}
    assert q["scope"] == {"whole": False, "categoryIds": [], "skuIds": [shop.gid["plain"]]}
    await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}, shop.token_a)
    late = await gql.ok(UPDATE, {"i": {"id": p["id"], "promotion": promotion_input()}}, shop.token_a)
    assert codes(late["updatePromotion"]) == ["NOT_EDITABLE"]
    other_kind = (await create(gql, shop.token_a))["promotion"]
    kind = await gql.ok(UPDATE, {"i": {"id": other_kind["id"], "promotion": promotion_input(
        "FULL_DISCOUNT", rule={"rate": 90, "thresholdItems": 3})}}, shop.token_a)
    assert codes(kind["updatePromotion"]) == ["NOT_EDITABLE"]


async def test_a_merchant_cannot_touch_another_merchants_promotion(gql, shop, db):
    p = (await create(gql, shop.token_a))["promotion"]
    before = await db.fetchrow("SELECT * FROM promotions WHERE id = $1", int(_pk(p["id"])))
    for query, variables in [
        (UPDATE, {"i": {"id": p["id"], "promotion": promotion_input(name="hijacked")}}),
        (STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}),
        (STATUS, {"i": {"id": p["id"], "action": "END"}}),
    ]:
        data = await gql.ok(query, variables, shop.token_b)
        payload = next(iter(data.values()))
        assert codes(payload) == ["NOT_FOUND"] and payload["promotion"] is None
    assert await db.fetchrow("SELECT * FROM promotions WHERE id = $1", int(_pk(p["id"]))) == before
    read = await gql("query($id: ID!) { promotion(id: $id) { id } }", {"id": p["id"]}, shop.token_b)
    assert read["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    listed = await gql.ok(LIST, {"f": None, "first": 100}, shop.token_b)
    assert p["id"] not in {x["id"] for x in nodes(listed["promotions"])}
    # naming the other merchant, or its SKUs, is refused as not found
    foreign = await gql.ok(CREATE, {"i": promotion_input(merchantId=encode_id("Merchant", shop.merchant_a))},
                           shop.token_b)
    assert codes(foreign["createPromotion"]) == ["NOT_FOUND"]
    skus = await gql.ok(CREATE, {"i": promotion_input(scope={"skuIds": [shop.gid["plain"]]})}, shop.token_b)
    assert codes(skus["createPromotion"]) == ["NOT_FOUND"]
    assert skus["createPromotion"]["userErrors"][0]["field"] == ["input", "scope", "skuIds", "0"]


def _pk(gid: str) -> int:
    from app.ids import decode_id
    return decode_id("Promotion", gid)


@pytest.mark.parametrize("fields, code, field", [
    ({"rule": {"tiers": [{"threshold": 30000, "amount": -5}]}}, "INVALID_AMOUNT", ["input", "rule", "tiers.0.amount"]),
    ({"rule": {"tiers": [{"threshold": 30000, "amount": 3000}], "perEvery": {"step": 100, "amount": 10}}},
     "INVALID_RULE", ["input", "rule", "tiers"]),
    ({"rule": {"tiers": [{"threshold": 30000, "amount": 3000}, {"threshold": 50000, "amount": 2000}]}},
     "INVALID_RULE", ["input", "rule", "tiers"]),
    ({"rule": {"tiers": [{"threshold": 30000, "amount": 3000}], "rate": 90}}, "NOT_ALLOWED", ["input", "rule", "rate"]),
    ({"kind": "FULL_DISCOUNT", "rule": {"rate": 100, "thresholdItems": 2}}, "INVALID_RATE", ["input", "rule", "rate"]),
    ({"kind": "DIRECT", "rule": {}}, "INVALID_RULE", ["input", "rule", "unit_amount_off"]),
    ({"kind": "PAYMENT", "rule": {"channel": "BANK_CARD", "amount": 500}, "scope": {}}, "PLATFORM_ONLY",
     ["input", "merchantId"]),
    ({"endsAt": at(days=-2)}, "INVALID_WINDOW", ["input", "endsAt"]),
    ({"name": " "}, "INVALID_NAME", ["input", "name"]),
    ({"priority": -1}, "INVALID_PRIORITY", ["input", "priority"]),
    ({"budget": 0}, "INVALID_AMOUNT", ["input", "budget"]),
    ({"scope": {}}, "SCOPE_REQUIRED", ["input", "scope"]),
    ({"scope": {"skuIds": ["not-an-id"]}}, "INVALID_ID", ["input", "scope", "skuIds", "0"]),
    ({"scope": {"categoryIds": [encode_id("Category", 987654321)]}}, "NOT_FOUND",
     ["input", "scope", "categoryIds", "0"]),
    ({"funding": {"funder": "SPLIT", "platformPercent": 120}}, "INVALID_FUNDING",
     ["input", "funding", "platformPercent"]),
])
async def test_bad_promotion_input_is_refused_with_its_field(gql, shop, db, fields, code, field):
    count = await db.fetchval("SELECT count(*) FROM promotions")
    data = await gql.ok(CREATE, {"i": promotion_input(**fields)}, shop.token_a)
    errors = data["createPromotion"]["userErrors"]
    assert (errors[0]["code"], errors[0]["field"]) == (code, field), errors
    assert data["createPromotion"]["promotion"] is None
    assert await db.fetchval("SELECT count(*) FROM promotions") == count


async def test_bundle_and_gift_name_only_the_merchants_own_skus(gql, shop):
    bundle = await create(gql, shop.token_a, kind="BUNDLE", scope={},
                          rule={"bundleItems": [{"skuId": shop.gid["plain"], "quantity": 1},
                                                {"skuId": shop.gid["case"], "quantity": 1}], "bundlePrice": 3500})
    assert codes(bundle) == ["NOT_FOUND"]
    assert bundle["userErrors"][0]["field"] == ["input", "rule", "bundleItems", "1", "skuId"]
    ok = await create(gql, shop.token_a, kind="BUNDLE", scope={},
                      rule={"bundleItems": [{"skuId": shop.gid["plain"], "quantity": 1},
                                            {"skuId": shop.gid["limited"], "quantity": 2}], "bundlePrice": 5000})
    assert ok["userErrors"] == [] and ok["promotion"]["rule"]["bundlePrice"] == 5000
    gift = await create(gql, shop.token_b, kind="GIFT", scope={"whole": True},
                        rule={"thresholdAmount": 10000, "giftSkuId": shop.gid["plain"]})
    assert codes(gift) == ["NOT_FOUND"]


async def test_platform_promotions_are_run_by_operators(gql, shop):
    merchant_platform = await gql.ok(CREATE, {"i": promotion_input(
        "PAYMENT", rule={"channel": "BANK_CARD", "amount": 500, "thresholdAmount": 5000}, scope={})}, shop.token_a)
    assert codes(merchant_platform["createPromotion"]) == ["PLATFORM_ONLY"]
    payment = await create(gql, shop.admin, kind="PAYMENT", scope={}, budget=100000,
                           rule={"channel": "BANK_CARD", "amount": 500, "thresholdAmount": 5000})
    assert payment["userErrors"] == [] and payment["promotion"]["merchantId"] is None
    assert payment["promotion"]["scope"]["whole"] is True and payment["promotion"]["budget"] == 100000
    bad_channel = await create(gql, shop.admin, kind="PAYMENT", scope={}, rule={"channel": "CASH", "amount": 5})
    assert codes(bad_channel) == ["INVALID_CHANNEL"]
    gift = await create(gql, shop.admin, kind="GIFT", scope={"whole": True},
                        rule={"thresholdAmount": 1000, "giftSkuId": shop.gid["plain"]})
    assert codes(gift) == ["MERCHANT_REQUIRED"]


async def test_platform_funding_of_a_shop_promotion_needs_review(gql, shop):
    p = (await create(gql, shop.token_a, funding={"funder": "SPLIT", "platformPercent": 30}))["promotion"]
    submitted = await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}, shop.token_a)
    assert submitted["changePromotionStatus"]["promotion"]["status"] == "PENDING_REVIEW"
    # the review is an operator's field: a merchant is refused by the field's role
    self_approve = await gql(REVIEW_PROMOTION, {"i": {"id": p["id"], "approve": True}}, shop.token_a)
    assert self_approve["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    no_note = await gql.ok(REVIEW_PROMOTION, {"i": {"id": p["id"], "approve": False}}, shop.admin)
    assert codes(no_note["reviewPromotion"]) == ["NOTE_REQUIRED"]
    rejected = await gql.ok(REVIEW_PROMOTION, {"i": {"id": p["id"], "approve": False, "note": "比例太高"}}, shop.admin)
    assert rejected["reviewPromotion"]["promotion"]["status"] == "DRAFT"
    assert rejected["reviewPromotion"]["promotion"]["reviewNote"] == "比例太高"
    await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}, shop.token_a)
    approved = await gql.ok(REVIEW_PROMOTION, {"i": {"id": p["id"], "approve": True}}, shop.admin)
    assert approved["reviewPromotion"]["promotion"]["status"] == "ACTIVE"


async def test_enrolment_in_a_platform_promotion(gql, shop, db):
    p = (await create(gql, shop.admin, scope={}, rule={"tiers": [{"threshold": 20000, "amount": 2000}]}))["promotion"]
    draft = await gql.ok(ENROL, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["plain"]]}}, shop.token_a)
    assert codes(draft["enrolSkus"]) == ["NOT_OPEN_FOR_ENROLMENT"]
    await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}, shop.admin)
    listed = await gql.ok(LIST, {"f": {"platform": True}, "first": 100}, shop.token_b)
    assert p["id"] in {x["id"] for x in nodes(listed["promotions"])}

    foreign = await gql.ok(ENROL, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["case"]]}}, shop.token_a)
    assert codes(foreign["enrolSkus"]) == ["NOT_FOUND"]
    a = await gql.ok(ENROL, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["plain"], shop.gid["limited"]]}},
                     shop.token_a)
    assert {e["status"] for e in a["enrolSkus"]["enrolments"]} == {"PENDING"}
    b = await gql.ok(ENROL, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["case"]]}}, shop.token_b)
    assert [e["skuId"] for e in b["enrolSkus"]["enrolments"]] == [shop.gid["case"]]

    by_b = await gql.ok("query($p: ID!) { promotionEnrolments(promotionId: $p) { skuId } }",
                        {"p": p["id"]}, shop.token_b)
    assert [e["skuId"] for e in by_b["promotionEnrolments"]] == [shop.gid["case"]]
    merchant_review = await gql("mutation($i: ReviewEnrolmentsInput!) { reviewEnrolments(input: $i) "
                                "{ userErrors { code } } }",
                                {"i": {"promotionId": p["id"], "skuIds": [shop.gid["case"]], "approve": True}},
                                shop.token_b)
    assert merchant_review["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    approved = await gql.ok(REVIEW, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["plain"], shop.gid["case"]],
                                           "approve": True}}, shop.admin)
    assert {e["status"] for e in approved["reviewEnrolments"]["enrolments"]} == {"APPROVED"}
    rejected = await gql.ok(REVIEW, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["limited"]],
                                           "approve": False, "note": "价格不符"}}, shop.admin)
    assert rejected["reviewEnrolments"]["enrolments"][0]["status"] == "REJECTED"
    read = await gql.ok("query($id: ID!) { promotion(id: $id) { scope { skuIds } } }", {"id": p["id"]}, shop.admin)
    assert sorted(read["promotion"]["scope"]["skuIds"]) == sorted([shop.gid["plain"], shop.gid["case"]])
    # a rejected SKU may be put forward again; an approved one stays approved
    again = await gql.ok(ENROL, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["limited"], shop.gid["plain"]]}},
                         shop.token_a)
    assert {e["skuId"]: e["status"] for e in again["enrolSkus"]["enrolments"]} == {
        shop.gid["limited"]: "PENDING", shop.gid["plain"]: "APPROVED"}


async def test_staff_only_and_buyers_are_refused(gql, shop, tokens):
    body = await gql(CREATE, {"i": promotion_input()}, tokens["buyer"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await gql(LIST, {"f": None, "first": 10})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql(LIST, {"f": None, "first": 1000}, shop.token_a)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"


async def test_listing_pages_newest_first(gql, shop):
    ids = [(await create(gql, shop.token_b, scope={"skuIds": [shop.gid["case"]]}))["promotion"]["id"]
           for _ in range(3)]
    first = await gql.ok(LIST, {"f": {"status": "DRAFT"}, "first": 2}, shop.token_b)
    page = first["promotions"]
    assert [x["id"] for x in nodes(page)] == ids[::-1][:2] and page["pageInfo"]["hasNextPage"]
    rest = await gql.ok(LIST, {"f": {"status": "DRAFT"}, "first": 2, "after": page["pageInfo"]["endCursor"]},
                        shop.token_b)
    assert nodes(rest["promotions"])[0]["id"] == ids[0]
