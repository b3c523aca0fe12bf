"""Freight templates through GraphQL: a merchant sets its own, never another's; bad fees and
unknown regions are refused."""

import pytest

from app.ids import encode_id
from tests.cart.helpers import make_shop, staff_token
from tests.promotions.helpers import codes

SET = """mutation($i: FreightTemplateInput!) { setFreightTemplate(input: $i) {
  template { merchantId defaultFee freeThreshold regions { regionCode fee } } userErrors { field code message } } }"""
GET = "query($m: ID!) { freightTemplate(merchantId: $m) { defaultFee freeThreshold regions { regionCode fee } } }"


@pytest.fixture(scope="module")
async def shop(db, settings):
    s = await make_shop(db)
    s.token_a = await staff_token(db, settings, s.merchant_a)
    s.token_b = await staff_token(db, settings, s.merchant_b)
    s.gid_a, s.gid_b = encode_id("Merchant", s.merchant_a), encode_id("Merchant", s.merchant_b)
    return s


async def test_a_merchant_sets_and_replaces_its_template(gql, shop):
    assert (await gql.ok(GET, {"m": shop.gid_a}, shop.token_a))["freightTemplate"] is None
    first = {"merchantId": shop.gid_a, "defaultFee": 1000, "freeThreshold": 9900,
             "regions": [{"regionCode": "650000", "fee": 2500}, {"regionCode": "540000", "fee": 3000}]}
    payload = (await gql.ok(SET, {"i": first}, shop.token_a))["setFreightTemplate"]
    assert payload["userErrors"] == [] and payload["template"]["defaultFee"] == 1000
    second = {"merchantId": shop.gid_a, "defaultFee": 800, "regions": [{"regionCode": "650000", "fee": 2000}]}
    await gql.ok(SET, {"i": second}, shop.token_a)
    stored = (await gql.ok(GET, {"m": shop.gid_a}, shop.token_a))["freightTemplate"]
    assert stored == {"defaultFee": 800, "freeThreshold": None, "regions": [{"regionCode": "650000", "fee": 2000}]}


async def test_another_merchants_template_is_not_found(gql, shop, db):
    payload = (await gql.ok(SET, {"i": {"merchantId": shop.gid_a, "defaultFee": 1}}, shop.token_b))
    assert codes(payload["setFreightTemplate"]) == ["NOT_FOUND"]
    read = await gql(GET, {"m": shop.gid_a}, shop.token_b)
    assert read["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await db.fetchval("SELECT default_fee FROM freight_templates WHERE merchant_id = $1",
                             shop.merchant_a) != 1


@pytest.mark.parametrize("fields, code, field", [
    ({"defaultFee": -1}, "INVALID_AMOUNT", ["input", "defaultFee"]),
    ({"freeThreshold": -5}, "INVALID_AMOUNT", ["input", "freeThreshold"]),
    ({"regions": [{"regionCode": "999999", "fee": 10}]}, "UNKNOWN_REGION", ["input", "regions", "0", "regionCode"]),
    ({"regions": [{"regionCode": "650000", "fee": 10}, {"regionCode": "650000", "fee": 20}]}, "DUPLICATE_VALUE",
     ["input", "regions", "1", "regionCode"]),
    ({"regions": [{"regionCode": "650000", "fee": -10}]}, "INVALID_AMOUNT", ["input", "regions", "0", "fee"]),
])
async def test_bad_templates_are_refused(gql, shop, fields, code, field):
    payload = (await gql.ok(SET, {"i": {"merchantId": shop.gid_b, "defaultFee": 500, **fields}}, shop.token_b))
    errors = payload["setFreightTemplate"]["userErrors"]
    assert (errors[0]["code"], errors[0]["field"]) == (code, field)
