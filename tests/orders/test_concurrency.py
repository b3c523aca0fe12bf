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
