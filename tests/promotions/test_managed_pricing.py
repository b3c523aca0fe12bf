"""What staff manage through the API is what the trial pricing applies: a shop promotion and a
shop coupon published by a merchant, a coupon claimed by the buyer, a payment discount run by an
operator, and the merchant's freight template — then paused or ended, and gone from the price."""

from app.ids import encode_id
from tests.cart.helpers import make_shop, new_buyer, staff_token
from tests.checkout.helpers import PREVIEW
from tests.promotions.helpers import (
    CLAIM,
    CREATE,
    CREATE_TEMPLATE,
    STATUS,
    TEMPLATE_STATUS,
    coupon_input,
    promotion_input,
)

FREIGHT = """mutation($i: FreightTemplateInput!) { setFreightTemplate(input: $i) { userErrors { code } } }"""


async def publish(gql, token, create_query, status_query, variables) -> str:
    data = await gql.ok(create_query, variables, token)
    payload = next(iter(data.values()))
    assert payload["userErrors"] == [], payload
    thing = payload.get("promotion") or payload.get("template")
    data = await gql.ok(status_query, {"i": {"id": thing["id"], "action": "PUBLISH"}}, token)
    assert next(iter(data.values()))["userErrors"] == []
    return thing["id"]


async def test_managed_promotions_and_coupons_price_a_checkout(gql, db, settings, tokens):
    shop = await make_shop(db)
    merchant = await staff_token(db, settings, shop.merchant_a)
    admin = tokens["admin"]
    _, buyer = await new_buyer(db, settings)

    reduction = await publish(gql, merchant, CREATE, STATUS, {"i": promotion_input(
        scope={"skuIds": [shop.gid["plain"], shop.gid["limited"]]},
        rule={"tiers": [{"threshold": 5000, "amount": 500}, {"threshold": 10000, "amount": 1200}]})})
    template = await publish(gql, merchant, CREATE_TEMPLATE, TEMPLATE_STATUS,
                             {"i": coupon_input(threshold=8000, amount=800)})
    payment = await publish(gql, admin, CREATE, STATUS, {"i": promotion_input(
        "PAYMENT", scope={}, rule={"channel": "WECHAT", "amount": 300, "thresholdAmount": 1000}, budget=100000)})
    assert (await gql.ok(FREIGHT, {"i": {"merchantId": encode_id("Merchant", shop.merchant_a), "defaultFee": 600,
                                         "freeThreshold": 100000}}, merchant))["setFreightTemplate"]["userErrors"] == []
    coupon = (await gql.ok(CLAIM, {"t": template}, buyer))["claimCoupon"]["coupon"]["id"]

    variables = {"i": {"lines": [{"skuId": shop.gid["plain"], "quantity": 2},      # 2 × 1000
                                 {"skuId": shop.gid["limited"], "quantity": 3}],   # 3 × 2500
                       "paymentChannel": "WECHAT"}}
    priced = (await gql.ok(PREVIEW, variables, buyer))["checkoutPreview"]
    applied = {(a["promotionId"] or a["couponId"]): a["discount"] for a in priced["applied"]}
    # 9500 ≥ 5000 → −500 (the 10000 tier is not met); coupon needs 8000 after it: 9000 → −800;
    # WECHAT −300 after coupons; shipping 600 (free only from 100000)
    assert applied == {reduction: 500, coupon: 800, payment: 300}
    assert (priced["goodsTotal"], priced["totalDiscount"], priced["shippingTotal"], priced["payable"]) == \
        (9500, 1600, 600, 8500)

    await gql.ok(STATUS, {"i": {"id": reduction, "action": "PAUSE"}}, merchant)
    await gql.ok(STATUS, {"i": {"id": payment, "action": "END"}}, admin)
    again = (await gql.ok(PREVIEW, variables, buyer))["checkoutPreview"]
    assert {(a["promotionId"] or a["couponId"]): a["discount"] for a in again["applied"]} == {coupon: 800}
    assert again["payable"] == 9500 - 800 + 600
