"""500 buyers race for a SKU with 100 units: exactly 100 orders reserve it, nothing goes negative,
everyone else gets a clear OUT_OF_STOCK; the same for a coupon template's stock when claiming."""

import asyncio

from tests.cart.helpers import new_buyer
from tests.checkout.helpers import lines_input, make_market
from tests.orders.helpers import PLACE, place_input


async def test_500_buyers_race_for_100_units(gql, db, settings):
    market = await make_market(db)
    sku = market.sku["a_cheap"]
    await db.fetchval("UPDATE stock SET on_hand = 100, reserved = 0 WHERE sku_id = $1 RETURNING 1", sku)
    buyers = [(await new_buyer(db, settings))[1] for _ in range(500)]
    answers = await asyncio.gather(*(gql.ok(PLACE, {"i": place_input(lines_input((sku, 1)))}, b) for b in buyers))
    placed = [a["placeOrder"] for a in answers if a["placeOrder"]["paymentOrder"]]
    refused = [a["placeOrder"] for a in answers if not a["placeOrder"]["paymentOrder"]]
    assert len(placed) == 100 and len(refused) == 400
    assert {tuple(e["code"] for e in r["userErrors"]) for r in refused} <= {("OUT_OF_STOCK",)}
    row = await db.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku_id = $1", sku)
    assert (row["on_hand"], row["reserved"]) == (100, 100)
    assert await db.fetchval("SELECT sum(quantity) FROM stock_reservations WHERE sku_id = $1 AND status = 'RESERVED'",
                             sku) == 100
    assert await db.fetchval("SELECT count(*) FROM order_lines WHERE sku_id = $1", sku) == 100
    assert await db.fetchval("SELECT count(*) FROM stock WHERE reserved > on_hand OR on_hand < 0") == 0


async def test_a_payment_discount_budget_is_never_overspent(gql, db, settings):
    """A BANK_CARD discount of 5.00 with a budget for 10 uses; 60 buyers check out at once with the
    payable they were shown: 10 get it, the others are told the price changed (or pay full)."""
    market = await make_market(db)
    await db.fetchval("UPDATE promotions SET budget = 5000 WHERE id = $1 RETURNING 1", market.promotion["bank_card"])
    await db.fetch("UPDATE promotions SET status = 'ENDED' WHERE kind = 'PAYMENT' AND id <> $1",
                   market.promotion["bank_card"])   # other markets' card discounts in this database
    buyers = [(await new_buyer(db, settings))[1] for _ in range(60)]
    lines = lines_input((market.sku["a_cheap"], 1))
    shown = 5000 + 800 - 500          # 50.00 + shipping 8.00 − 5.00 by bank card
    answers = await asyncio.gather(*(gql.ok(PLACE, {"i": place_input(lines, paymentChannel="BANK_CARD",
                                                                      expectedPayable=shown)}, b) for b in buyers))
    placed = [a["placeOrder"]["paymentOrder"] for a in answers if a["placeOrder"]["paymentOrder"]]
    changed = [a["placeOrder"] for a in answers if not a["placeOrder"]["paymentOrder"]]
    assert len(placed) == 10 and all(p["payable"] == shown for p in placed)
    assert all([e["code"] for e in c["userErrors"]] == ["PRICE_CHANGED"] and c["pricing"]["payable"] == shown + 500
               for c in changed)
    assert await db.fetchval("SELECT spent FROM promotions WHERE id = $1", market.promotion["bank_card"]) == 5000
