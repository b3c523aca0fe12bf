"""Placing orders through GraphQL: the price is the preview's, one order per merchant with the
engine's shares, coupons used, stock reserved; idempotency, PRICE_CHANGED, bad input, risk, and
cancellation giving everything back."""

import asyncio
from datetime import UTC, datetime

import pytest

from app.ids import decode_id
from app.orders import service
from app.risk.rules import address_key
from tests.cart.helpers import fill_cart, new_buyer, staff_token
from tests.checkout.helpers import PREVIEW, SHENZHEN_NANSHAN, fill_wallet, gid, lines_input, make_market
from tests.orders.helpers import ADDRESS, CANCEL, MY_ORDERS, ORDER, PLACE, key, place_input


@pytest.fixture(scope="module")
async def market(db):
    return await make_market(db)


async def place(gql, token, variables) -> dict:
    return (await gql.ok(PLACE, {"i": variables}, token))["placeOrder"]


async def reserved(db, sku: int) -> int:
    return await db.fetchval("SELECT coalesce(sum(reserved), 0) FROM stock WHERE sku_id = $1", sku)


async def test_an_order_costs_what_the_preview_said(gql, db, settings, market):
    buyer_id, buyer = await new_buyer(db, settings)
    wallet = await fill_wallet(db, market, buyer_id)
    lines = lines_input((market.sku["a1"], 1), (market.sku["a2"], 1), (market.sku["b1"], 3))
    preview = (await gql.ok(PREVIEW, {"i": {"lines": lines, "regionCode": SHENZHEN_NANSHAN}}, buyer))["checkoutPreview"]
    before = {s: await reserved(db, market.sku[s]) for s in ("a1", "a2", "b1")}

    payload = await place(gql, buyer, place_input(lines, expectedPayable=preview["payable"]))
    assert payload["userErrors"] == []
    po = payload["paymentOrder"]
    assert po["payable"] == preview["payable"]
    orders = {o["merchantId"]: o for o in po["orders"]}
    assert set(orders) == {gid("Merchant", market.a), gid("Merchant", market.b)}
    for group in preview["merchants"]:
        o = orders[group["merchantId"]]
        assert (o["goodsTotal"], o["discount"], o["shipping"]) == (group["subtotal"], group["discount"],
                                                                   group["shipping"])
        assert o["payable"] == group["paidAmount"] + group["shipping"]
        assert (o["status"], o["buyerStatus"], o["buyerStatusLabel"]) == ("PENDING_PAYMENT", "TO_PAY", "待支付")
        assert o["history"] == [{"fromStatus": None, "toStatus": "PENDING_PAYMENT", "actor": f"buyer:{buyer_id}",
                                 "reason": None}]
    assert sum(o["payable"] for o in po["orders"]) == po["payable"]
    priced = {line["skuId"]: line for line in preview["lines"]}
    for o in po["orders"]:
        for line in o["lines"]:
            p = priced[line["skuId"]]
            assert line["paidAmount"] == p["paidAmount"]
            assert sorted((s["level"], s["amount"]) for s in line["shares"]) == \
                sorted((s["level"], s["amount"]) for s in p["shares"] if s["amount"])
    # the engine's coupons are used, the others untouched
    used = {r["id"] for r in await db.fetch("SELECT id FROM buyer_coupons WHERE buyer_id = $1 AND status = 'USED'",
                                            buyer_id)}
    applied = {c["couponId"] for c in preview["applied"] if c["couponId"]}
    assert applied and {gid("Coupon", c) for c in used} == applied | {gid("Coupon", wallet["used"])}
    assert {s: await reserved(db, market.sku[s]) - before[s] for s in ("a1", "a2", "b1")} == {"a1": 1, "a2": 1,
                                                                                              "b1": 3}


async def test_the_same_key_returns_the_first_order_and_never_a_second(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    variables = place_input(lines_input((market.sku["a2"], 2)))
    first = await place(gql, buyer, variables)
    again = await place(gql, buyer, variables)
    assert again["replayed"] and again["paymentOrder"]["id"] == first["paymentOrder"]["id"]
    other = await place(gql, buyer, {**variables, "lines": lines_input((market.sku["a2"], 3))})
    assert [e["code"] for e in other["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await db.fetchval("SELECT count(*) FROM payment_orders WHERE idempotency_key = $1",
                             variables["idempotencyKey"]) == 1


async def test_retrying_a_cart_placement_replays_it_although_the_cart_is_empty_now(gql, db, settings, market):
    buyer_id, buyer = await new_buyer(db, settings)
    await fill_cart(db, "buyer_id", buyer_id, [market.sku["a2"], market.sku["b2"]])
    variables = {"idempotencyKey": key(), "fromCart": True, "address": ADDRESS}
    first = await place(gql, buyer, variables)
    assert first["userErrors"] == [] and not first["replayed"]
    assert await db.fetchval("SELECT count(*) FROM cart_lines l JOIN carts c ON c.id = l.cart_id"
                             " WHERE c.buyer_id = $1", buyer_id) == 0
    again = await place(gql, buyer, variables)
    assert again["userErrors"] == [] and again["replayed"]
    assert again["paymentOrder"]["id"] == first["paymentOrder"]["id"]
    empty = await place(gql, buyer, {**variables, "idempotencyKey": key()})
    assert [(e["code"], e["field"]) for e in empty["userErrors"]] == [("NO_LINES", ["input", "fromCart"])]


async def test_a_changed_price_is_refused_with_the_new_price(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    count = await db.fetchval("SELECT count(*) FROM payment_orders")
    payload = await place(gql, buyer, place_input(lines_input((market.sku["a2"], 1)), expectedPayable=1))
    assert [e["code"] for e in payload["userErrors"]] == ["PRICE_CHANGED"]
    assert payload["pricing"]["payable"] > 1 and payload["paymentOrder"] is None
    assert await db.fetchval("SELECT count(*) FROM payment_orders") == count


@pytest.mark.parametrize("change, code, field", [
    ({"idempotencyKey": "short"}, "INVALID_IDEMPOTENCY_KEY", ["input", "idempotencyKey"]),
    ({"address": None}, "ADDRESS_REQUIRED", ["input", "address"]),
    ({"address": {**ADDRESS, "phone": "call me"}}, "INVALID_ADDRESS", ["input", "address", "phone"]),
    ({"address": {**ADDRESS, "regionCode": "1100"}}, "UNKNOWN_REGION", ["input", "regionCode"]),
    ({"lines": [{"skuId": "bogus", "quantity": 1}]}, "INVALID_ID", ["input", "lines", "0", "skuId"]),
    ({"lines": [{"skuId": gid("Sku", 1), "quantity": -2}]}, "INVALID_QUANTITY", ["input", "lines", "0", "quantity"]),
    ({"lines": [{"skuId": gid("Sku", 987654321), "quantity": 1}]}, "NOT_FOUND", ["input", "lines", "0", "skuId"]),
    ({"couponIds": ["nope"]}, "INVALID_ID", ["input", "couponIds", "0"]),
])
async def test_bad_input_is_refused_and_writes_nothing(gql, db, settings, market, change, code, field):
    _, buyer = await new_buyer(db, settings)
    count = await db.fetchval("SELECT count(*) FROM payment_orders")
    payload = await place(gql, buyer, {**place_input(lines_input((market.sku["a2"], 1))), **change})
    assert (payload["userErrors"][0]["code"], payload["userErrors"][0]["field"]) == (code, field), payload
    assert await db.fetchval("SELECT count(*) FROM payment_orders") == count


async def test_out_of_stock_and_undeliverable(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    too_many = await place(gql, buyer, place_input(lines_input((market.sku["a_cheap"], 1001))))
    assert [(e["code"], e["field"]) for e in too_many["userErrors"]] == [
        ("OUT_OF_STOCK", ["input", "lines", "0", "skuId"])]
    tibet = {**ADDRESS, "regionCode": "540000"}
    undeliverable = await place(gql, buyer, place_input(lines_input((market.sku["b2"], 1)), address=tibet))
    assert undeliverable["userErrors"][0]["code"] == "ADDRESS_NOT_DELIVERABLE"


async def test_cancel_gives_back_stock_coupons_and_budget(gql, db, settings, market):
    buyer_id, buyer = await new_buyer(db, settings)
    await fill_wallet(db, market, buyer_id)
    card = market.promotion["bank_card"]
    await db.fetchval("UPDATE promotions SET budget = 1000000 WHERE id = $1 RETURNING 1", card)
    spent = await db.fetchval("SELECT spent FROM promotions WHERE id = $1", card)
    before = await reserved(db, market.sku["a1"])
    payload = await place(gql, buyer, place_input(lines_input((market.sku["a1"], 2)), paymentChannel="BANK_CARD"))
    po = payload["paymentOrder"]
    assert await reserved(db, market.sku["a1"]) == before + 2
    assert await db.fetchval("SELECT spent FROM promotions WHERE id = $1", card) == spent + 500
    used = await db.fetchval("SELECT count(*) FROM buyer_coupons WHERE buyer_id = $1 AND payment_order_id IS NOT NULL",
                             buyer_id)
    assert used >= 1

    order_id = po["orders"][0]["id"]
    cancelled = (await gql.ok(CANCEL, {"id": order_id}, buyer))["cancelOrder"]
    assert cancelled["userErrors"] == [] and cancelled["order"]["status"] == "CANCELLED"
    assert cancelled["order"]["cancelReason"] == "BUYER_CANCELLED"
    assert [h["toStatus"] for h in cancelled["order"]["history"]] == ["PENDING_PAYMENT", "CANCELLED"]
    assert await reserved(db, market.sku["a1"]) == before
    assert await db.fetchval("SELECT spent FROM promotions WHERE id = $1", card) == spent
    assert await db.fetchval("SELECT count(*) FROM promotion_usages u JOIN orders o USING (payment_order_id)"
                             " WHERE o.buyer_id = $1 AND NOT u.released", buyer_id) == 0
    assert await db.fetchval("SELECT count(*) FROM buyer_coupons WHERE buyer_id = $1 AND payment_order_id IS NOT NULL",
                             buyer_id) == 0
    again = (await gql.ok(CANCEL, {"id": order_id}, buyer))["cancelOrder"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]
    assert await reserved(db, market.sku["a1"]) == before


async def test_unpaid_orders_time_out_exactly_once(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    before = await reserved(db, market.sku["a2"])
    po = (await place(gql, buyer, place_input(lines_input((market.sku["a2"], 4)))))["paymentOrder"]
    po_pk = int(await db.fetchval("SELECT payment_order_id FROM orders WHERE id = $1", _pk(po["orders"][0]["id"])))
    await db.fetchval("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1 RETURNING 1",
                      po_pk)
    async with db.transaction() as conn:
        assert await service.cancel_one_due(conn, datetime.now(UTC))
    async with db.transaction() as conn:
        assert not await service.cancel_one_due(conn, datetime.now(UTC))
    order = (await gql.ok(ORDER, {"id": po["orders"][0]["id"]}, buyer))["order"]
    assert order["status"] == "CANCELLED" and order["cancelReason"] == "PAYMENT_TIMEOUT"
    assert order["history"][-1]["actor"] == "system:timeout"
    assert await reserved(db, market.sku["a2"]) == before


def _pk(order_gid: str) -> int:
    return decode_id("Order", order_gid)


async def test_orders_are_visible_only_to_whom_they_belong(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    _, stranger = await new_buyer(db, settings)
    po = (await place(gql, buyer, place_input(lines_input((market.sku["a2"], 1), (market.sku["b2"], 1)))))
    orders = {o["merchantId"]: o["id"] for o in po["paymentOrder"]["orders"]}
    order_a = orders[gid("Merchant", market.a)]
    for token in (stranger, await staff_token(db, settings, market.b)):
        body = await gql(ORDER, {"id": order_a}, token)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    cancel = (await gql.ok(CANCEL, {"id": order_a}, stranger))["cancelOrder"]
    assert [e["code"] for e in cancel["userErrors"]] == ["NOT_FOUND"]
    staff_a = await staff_token(db, settings, market.a)
    assert (await gql.ok(ORDER, {"id": order_a}, staff_a))["order"]["id"] == order_a
    mine = await gql.ok(MY_ORDERS, {"tab": "TO_PAY"}, buyer)
    assert {e["node"]["id"] for e in mine["myOrders"]["edges"]} == set(orders.values())
    assert mine["myOrderCounts"]["toPay"] == 2
    theirs = await gql.ok(MY_ORDERS, {"tab": None}, stranger)
    assert theirs["myOrders"]["edges"] == []


async def test_blacklisted_buyers_are_refused_and_the_rule_is_logged(gql, db, settings, market):
    buyer_id, buyer = await new_buyer(db, settings)
    await db.fetchval("INSERT INTO risk_blacklist (kind, value, reason) VALUES ('BUYER', $1, 'fraud') RETURNING 1",
                      str(buyer_id))
    payload = await place(gql, buyer, place_input(lines_input((market.sku["a2"], 1))))
    assert [e["code"] for e in payload["userErrors"]] == ["ORDER_REFUSED"]
    assert "blacklist" not in payload["userErrors"][0]["message"].lower()
    decision = await db.fetchrow("SELECT decision, rule FROM risk_decisions WHERE buyer_id = $1", buyer_id)
    assert (decision["decision"], decision["rule"]) == ("DENY", "BLACKLIST_BUYER")
    _, other = await new_buyer(db, settings)
    await db.fetchval("INSERT INTO risk_blacklist (kind, value) VALUES ('ADDRESS', $1) RETURNING 1",
                      address_key("440000", "黑名单路 9 号"))
    blocked = await place(gql, other, place_input(lines_input((market.sku["a2"], 1)),
                                                  address={**ADDRESS, "detail": "黑名单路9号"}))
    assert [e["code"] for e in blocked["userErrors"]] == ["ORDER_REFUSED"]


async def test_the_same_coupon_cannot_pay_for_two_orders(gql, db, settings, market):
    buyer_id, buyer = await new_buyer(db, settings)
    wallet = await fill_wallet(db, market, buyer_id)
    lines = lines_input((market.sku["a1"], 2))
    pick = {"couponIds": [gid("Coupon", wallet["shop_a"])]}
    first, second = await asyncio.gather(place(gql, buyer, place_input(lines, **pick, expectedPayable=None)),
                                         place(gql, buyer, place_input(lines, **pick)))
    uses = [p for p in (first, second) if p["paymentOrder"]]
    assert await db.fetchval("SELECT count(*) FROM buyer_coupons WHERE id = $1 AND status = 'USED'",
                             wallet["shop_a"]) == 1
    discounts = sorted(sum(s["amount"] for o in p["paymentOrder"]["orders"] for line in o["lines"]
                           for s in line["shares"] if s["level"] == "SHOP_COUPON") for p in uses)
    assert discounts[-1] == 2000 and (len(uses) == 1 or discounts[0] == 0)


async def _scarce_sku(db, market, on_hand: int) -> int:
    """A new SKU of merchant A's product, `on_hand` units in A's warehouse."""
    async with db.transaction() as c:
        like = await c.fetchrow("SELECT product_id, merchant_id, price FROM skus WHERE id = $1", market.sku["a2"])
        sku = await c.fetchval("INSERT INTO skus (product_id, merchant_id, code, spec_value_ids, price)"
                               " VALUES ($1, $2, $3, $4, $5) RETURNING id", like["product_id"], like["merchant_id"],
                               f"scarce-{key()}", [900 + on_hand], like["price"])
        warehouse = await c.fetchval("SELECT warehouse_id FROM stock WHERE sku_id = $1", market.sku["a2"])
        await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, $3)",
                        sku, warehouse, on_hand)
    return sku


async def _stock_events(db, sku: int) -> list[str]:
    return [r["state"] for r in await db.fetch(
        "SELECT payload->>'stock_state' AS state FROM outbox WHERE topic = 'product'"
        " AND event_type = 'STOCK_STATE_CHANGED' AND (payload->>'sku_id')::bigint = $1 ORDER BY id", sku)]


async def test_selling_out_and_coming_back_emit_a_product_event(gql, db, settings, market):
    """The anonymous response cache listens to topic "product": a sell-out must reach it."""
    sku = await _scarce_sku(db, market, on_hand=3)
    _, buyer = await new_buyer(db, settings)
    first = await place(gql, buyer, place_input(lines_input((sku, 1))))
    assert first["userErrors"] == [] and await _stock_events(db, sku) == []     # 2 left: no change of state
    last = await place(gql, buyer, place_input(lines_input((sku, 2))))
    assert last["userErrors"] == [] and await _stock_events(db, sku) == ["OUT_OF_STOCK"]
    cancelled = (await gql.ok(CANCEL, {"id": first["paymentOrder"]["orders"][0]["id"]}, buyer))["cancelOrder"]
    assert cancelled["userErrors"] == []
    assert await _stock_events(db, sku) == ["OUT_OF_STOCK", "IN_STOCK"]
    cancelled = (await gql.ok(CANCEL, {"id": last["paymentOrder"]["orders"][0]["id"]}, buyer))["cancelOrder"]
    assert cancelled["userErrors"] == [] and await _stock_events(db, sku) == ["OUT_OF_STOCK", "IN_STOCK"]
