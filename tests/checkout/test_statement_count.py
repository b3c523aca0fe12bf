"""A preview costs the same SQL statements for 2 lines as for 50 under many promotions and
coupons (issue 3 "never per line"): every input is read in one batch statement."""

import pytest

from tests.cart.helpers import fill_cart, new_buyer
from tests.checkout.helpers import (
    GUANGDONG,
    PREVIEW,
    fill_wallet,
    give_coupon,
    insert_promotion,
    insert_template,
    lines_input,
    make_market,
)

# selected cart lines, engine lines (SKUs, categories, delivery), buyer, promotions, wallet, freight, gift stock
CART_STATEMENTS = 7


@pytest.fixture(scope="module")
async def market(db):
    m = await make_market(db, bulk=24)
    async with db.transaction() as c:
        for n, sku in enumerate(m.bulk_a[:8] + m.bulk_b[:8]):            # one DIRECT per SKU
            await insert_promotion(c, "DIRECT", m.a if sku in m.bulk_a else m.b, {"unit_amount_off": 10 + n},
                                   sku_ids=[sku])
        await insert_promotion(c, "BUNDLE", m.a, {"bundle_items": [{"sku_id": m.bulk_a[10], "quantity": 1},
                                                                  {"sku_id": m.bulk_a[11], "quantity": 1}],
                                                 "bundle_price": 150}, sku_ids=[m.bulk_a[10], m.bulk_a[11]])
        await insert_promotion(c, "GIFT", m.a, {"threshold_amount": 100, "gift_sku_id": m.sku["a_cheap"]},
                               whole_scope=True)
        await insert_promotion(c, "FULL_REDUCTION", None, {"per_every": {"step": 1000, "amount": 50, "cap": 500}},
                               category_ids=[m.category])
        await insert_promotion(c, "FULL_DISCOUNT", m.b, {"rate": 95, "threshold_amount": 500},
                               sku_ids=m.bulk_b[12:20], stackable=False)
        await insert_promotion(c, "PAYMENT", None, {"channel": "WECHAT", "amount": 100, "threshold_amount": 1000},
                               whole_scope=True, budget=10_000)
        m.platform_percent = await insert_template(c, "PLATFORM", None, rate=95, cap=300, category_ids=[m.category])
    return m


async def statements(gql, token, variables) -> tuple[int, dict]:
    body = await gql(PREVIEW, {"i": variables}, token)
    assert "errors" not in body, body["errors"]
    return int(gql.last_response.headers["x-sql-statements"]), body["data"]["checkoutPreview"]


async def buyer_with_cart(db, settings, market, skus):
    buyer_id, token = await new_buyer(db, settings)
    await fill_wallet(db, market, buyer_id)
    async with db.transaction() as c:
        await give_coupon(c, market.platform_percent, buyer_id)
    await fill_cart(db, "buyer_id", buyer_id, skus)
    return token


async def test_cart_preview_statements_do_not_grow_with_its_lines(gql, db, settings, market):
    m = market
    small = await buyer_with_cart(db, settings, m, [m.sku["a1"], m.sku["b1"]])
    large = await buyer_with_cart(db, settings, m, [m.sku["a1"], m.sku["b1"], *m.bulk_a[:24], *m.bulk_b[:24]])
    options = {"fromCart": True, "paymentChannel": "WECHAT", "regionCode": GUANGDONG}
    small_count, small_result = await statements(gql, small, options)
    large_count, large_result = await statements(gql, large, options)
    assert len(small_result["lines"]) == 2 and len(large_result["lines"]) == 50
    # the promotions really were in play for the big cart
    assert {a["kind"] for a in large_result["applied"]} >= {"DIRECT", "BUNDLE", "FULL_REDUCTION", "PAYMENT"}
    assert large_result["merchants"][0]["gifts"]
    assert small_count == large_count == CART_STATEMENTS


async def test_direct_buy_costs_one_statement_less(gql, db, settings, market):
    m = market
    token = await buyer_with_cart(db, settings, m, [])
    few, _ = await statements(gql, token, {"lines": lines_input((m.sku["a1"], 1), (m.sku["b1"], 2)),
                                           "regionCode": GUANGDONG})
    many, _ = await statements(gql, token, {"lines": lines_input(*[(s, 3) for s in [*m.bulk_a, *m.bulk_b]]),
                                            "regionCode": GUANGDONG})
    assert few == many == CART_STATEMENTS - 1
    # no region: one more, the buyer's default address (docs/accounts.md), whatever the lines
    few, _ = await statements(gql, token, {"lines": lines_input((m.sku["a1"], 1), (m.sku["b1"], 2))})
    many, _ = await statements(gql, token, {"lines": lines_input(*[(s, 3) for s in [*m.bulk_a, *m.bulk_b]])})
    assert few == many == CART_STATEMENTS
