"""Promotions and coupon templates on the one state machine (issue 8 §3.6): every change writes a
history row and an outbox event, the history is readable by who owns the row, and reviews are an
operator's field (roles on the field, ownership in the service)."""

import pathlib
import re

from app.ids import encode_id
from tests.cart.helpers import new_buyer
from tests.promotions.helpers import (
    CLAIMABLE,
    CREATE,
    CREATE_TEMPLATE,
    ENROL,
    REVIEW_PROMOTION,
    STATUS,
    TEMPLATE_PAYLOAD,
    TEMPLATE_STATUS,
    codes,
    coupon_input,
    nodes,
    promotion_input,
)

HISTORY = """query($id: ID!, $first: Int, $after: String) {
  promotionStatusHistory(id: $id, first: $first, after: $after) {
    edges { cursor node { fromStatus toStatus actor reason at } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
TEMPLATE_HISTORY = """query($id: ID!) { couponTemplateStatusHistory(id: $id) {
  edges { node { fromStatus toStatus actor reason } } } }"""
REVIEW_TEMPLATE = f"mutation($i: ReviewInput!) {{ reviewCouponTemplate(input: $i) {{ {TEMPLATE_PAYLOAD} }} }}"
PAGED_CLAIMABLE = """query($m: ID, $first: Int, $after: String) { claimableCoupons(merchantId: $m, first: $first,
  after: $after) { edges { cursor node { templateId } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


def _steps(connection: dict) -> list[tuple]:
    return [(n["fromStatus"], n["toStatus"], n["reason"]) for n in nodes(connection)]


async def test_every_status_change_of_a_promotion_has_history_and_an_event(gql, shop, db):
    p = (await gql.ok(CREATE, {"i": promotion_input()}, shop.token_a))["createPromotion"]["promotion"]
    pk = int(await db.fetchval("SELECT max(id) FROM promotions WHERE merchant_id = $1", shop.merchant_a))
    assert encode_id("Promotion", pk) == p["id"]
    before = await db.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    for action, note in (("PUBLISH", None), ("PAUSE", "库存盘点"), ("RESUME", None), ("END", None)):
        out = await gql.ok(STATUS, {"i": {"id": p["id"], "action": action, "note": note}}, shop.token_a)
        assert out["changePromotionStatus"]["userErrors"] == []
    history = (await gql.ok(HISTORY, {"id": p["id"]}, shop.token_a))["promotionStatusHistory"]
    assert _steps(history) == [(None, "DRAFT", None), ("DRAFT", "ACTIVE", None), ("ACTIVE", "PAUSED", "库存盘点"),
                               ("PAUSED", "ACTIVE", None), ("ACTIVE", "ENDED", None)]
    assert {n["actor"] for n in nodes(history)} == {await db.fetchval(
        "SELECT created_by FROM promotions WHERE id = $1", pk)}
    events = await db.fetch("SELECT event_type, merchant_id, payload FROM outbox WHERE id > $1 AND topic = 'promotion'"
                            " AND (payload->>'promotion_id')::bigint = $2 ORDER BY id", before, pk)
    assert [(e["event_type"], e["merchant_id"]) for e in events] == [
        ("PROMOTION_ACTIVE", shop.merchant_a), ("PROMOTION_PAUSED", shop.merchant_a),
        ("PROMOTION_ACTIVE", shop.merchant_a), ("PROMOTION_ENDED", shop.merchant_a)]
    refused = await gql.ok(STATUS, {"i": {"id": p["id"], "action": "RESUME"}}, shop.token_a)
    assert codes(refused["changePromotionStatus"]) == ["INVALID_TRANSITION"]
    assert len(nodes((await gql.ok(HISTORY, {"id": p["id"]}, shop.token_a))["promotionStatusHistory"])) == 5


async def test_history_pages_and_is_seen_only_by_its_owner_and_operators(gql, shop):
    p = (await gql.ok(CREATE, {"i": promotion_input()}, shop.token_a))["createPromotion"]["promotion"]
    for action in ("PUBLISH", "PAUSE", "RESUME"):
        await gql.ok(STATUS, {"i": {"id": p["id"], "action": action}}, shop.token_a)
    first = (await gql.ok(HISTORY, {"id": p["id"], "first": 2}, shop.admin))["promotionStatusHistory"]
    assert _steps(first) == [(None, "DRAFT", None), ("DRAFT", "ACTIVE", None)]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    rest = (await gql.ok(HISTORY, {"id": p["id"], "first": 2, "after": first["pageInfo"]["endCursor"]},
                         shop.admin))["promotionStatusHistory"]
    assert _steps(rest) == [("ACTIVE", "PAUSED", None), ("PAUSED", "ACTIVE", None)]
    assert not rest["pageInfo"]["hasNextPage"] and rest["pageInfo"]["hasPreviousPage"]
    foreign = await gql(HISTORY, {"id": p["id"]}, shop.token_b)
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = await gql(HISTORY, {"id": "nope"}, shop.token_a)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_reviews_are_an_operators_field_and_recorded(gql, shop, db, settings):
    p = (await gql.ok(CREATE, {"i": promotion_input(funding={"funder": "PLATFORM"})},
                      shop.token_a))["createPromotion"]["promotion"]
    await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}, shop.token_a)
    # the owner's field offers no review action at all
    approve_by_status = await gql(STATUS, {"i": {"id": p["id"], "action": "APPROVE"}}, shop.token_a)
    assert approve_by_status["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    _, buyer = await new_buyer(db, settings)
    assert (await gql(REVIEW_PROMOTION, {"i": {"id": p["id"], "approve": True}}, buyer)
            )["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    rejected = await gql.ok(REVIEW_PROMOTION, {"i": {"id": p["id"], "approve": False, "note": " 补贴过高 "}}, shop.admin)
    assert rejected["reviewPromotion"]["promotion"]["reviewNote"] == "补贴过高"
    again = await gql.ok(REVIEW_PROMOTION, {"i": {"id": p["id"], "approve": True}}, shop.admin)
    assert codes(again["reviewPromotion"]) == ["INVALID_TRANSITION"]
    history = (await gql.ok(HISTORY, {"id": p["id"]}, shop.token_a))["promotionStatusHistory"]
    assert _steps(history)[-2:] == [("DRAFT", "PENDING_REVIEW", None), ("PENDING_REVIEW", "DRAFT", "补贴过高")]
    assert nodes(history)[-1]["actor"].startswith("staff:")


async def test_coupon_templates_have_their_history_and_review(gql, shop):
    t = (await gql.ok(CREATE_TEMPLATE, {"i": coupon_input(funding={"funder": "SPLIT", "platformPercent": 40})},
                      shop.token_a))["createCouponTemplate"]["template"]
    published = await gql.ok(TEMPLATE_STATUS, {"i": {"id": t["id"], "action": "PUBLISH"}}, shop.token_a)
    assert published["changeCouponTemplateStatus"]["template"]["status"] == "PENDING_REVIEW"
    refused = await gql(REVIEW_TEMPLATE, {"i": {"id": t["id"], "approve": True}}, shop.token_a)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    approved = await gql.ok(REVIEW_TEMPLATE, {"i": {"id": t["id"], "approve": True}}, shop.admin)
    assert approved["reviewCouponTemplate"]["template"]["status"] == "ACTIVE"
    history = (await gql.ok(TEMPLATE_HISTORY, {"id": t["id"]}, shop.token_a))["couponTemplateStatusHistory"]
    assert _steps(history) == [(None, "DRAFT", None), ("DRAFT", "PENDING_REVIEW", None),
                               ("PENDING_REVIEW", "ACTIVE", None)]
    foreign = await gql(TEMPLATE_HISTORY, {"id": t["id"]}, shop.token_b)
    assert foreign["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_only_merchant_staff_enrol_skus(gql, shop):
    p = (await gql.ok(CREATE, {"i": promotion_input(scope={})}, shop.admin))["createPromotion"]["promotion"]
    await gql.ok(STATUS, {"i": {"id": p["id"], "action": "PUBLISH"}}, shop.admin)
    by_admin = await gql(ENROL, {"i": {"promotionId": p["id"], "skuIds": [shop.gid["plain"]]}}, shop.admin)
    assert by_admin["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_closed_shop_is_a_coded_user_error(gql, shop, db):
    closed = await db.fetchval("INSERT INTO merchants (name, kind, status) VALUES ($1, 'MARKETPLACE', 'CLOSED')"
                               " RETURNING id", f"closed-{shop.tag}")
    out = await gql.ok(CREATE, {"i": promotion_input(merchantId=encode_id("Merchant", closed))}, shop.admin)
    assert codes(out["createPromotion"]) == ["MERCHANT_NOT_OPEN"]


async def test_claimable_coupons_is_a_connection(gql, shop):
    ids = []
    for n in range(3):
        t = (await gql.ok(CREATE_TEMPLATE, {"i": coupon_input(name=f"第{n}张")}, shop.token_b))["createCouponTemplate"]
        await gql.ok(TEMPLATE_STATUS, {"i": {"id": t["template"]["id"], "action": "PUBLISH"}}, shop.token_b)
        ids.append(t["template"]["id"])
    m = encode_id("Merchant", shop.merchant_b)
    first = (await gql.ok(PAGED_CLAIMABLE, {"m": m, "first": 2}))["claimableCoupons"]
    assert [n["templateId"] for n in nodes(first)] == ids[:0:-1] and first["pageInfo"]["hasNextPage"]
    rest = (await gql.ok(PAGED_CLAIMABLE, {"m": m, "first": 2, "after": first["pageInfo"]["endCursor"]}
                         ))["claimableCoupons"]
    assert [n["templateId"] for n in nodes(rest)] == ids[:1] and not rest["pageInfo"]["hasNextPage"]
    assert rest["pageInfo"]["hasPreviousPage"]
    too_many = await gql(PAGED_CLAIMABLE, {"m": m, "first": 101})
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID_PAGE_SIZE"
    assert nodes((await gql.ok(CLAIMABLE, {"m": m}))["claimableCoupons"])


DOMAINS = ("app/promotions", "app/cart", "app/checkout", "app/auth")


def test_no_free_string_error_codes_are_left():
    """Codes are enum members (issue 8 §3.3): a literal such as DomainError.of("X", …) fails this."""
    root = pathlib.Path(__file__).resolve().parents[2]
    literal = re.compile(r'(?:\.of|Problem)\(\s*"[A-Z_]+"')
    found = [f"{path.relative_to(root)}:{n}" for domain in DOMAINS for path in sorted((root / domain).glob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if literal.search(line)]
    assert found == []
