"""Live order events: a merchant console subscribed to `merchantOrderEvents` sees its own new
and changed orders as they happen and never another merchant's; the back office sees all."""

from datetime import UTC, datetime

from app.ids import decode_id
from app.orders import service
from tests.cart.helpers import new_buyer, staff_token
from tests.checkout.helpers import gid, lines_input, make_market
from tests.e2e.conftest import Subscriber
from tests.orders.helpers import PLACE, SHIP, place_input

ORDER_EVENTS = "subscription { merchantOrderEvents { eventId type orderId merchantId status payable payload } }"


def subscribe(port: int, token: str):
    return Subscriber.open(port, token, ORDER_EVENTS, "merchantOrderEvents", "order")


async def test_each_console_sees_its_own_orders_live(server, http, db, settings, tokens, redis):
    market = await make_market(db)
    staff_a = await staff_token(db, settings, market.a)
    staff_b = await staff_token(db, settings, market.b)
    _, buyer = await new_buyer(db, settings)
    async with subscribe(server, staff_a) as console_a, subscribe(server, staff_b) as console_b, \
            subscribe(server, tokens["admin"]) as back_office:
        await console_a.ready(redis, market.a)
        await console_b.ready(redis, market.b)
        await back_office.ready(redis, market.a)

        placed = (await http.ok(PLACE, {"i": place_input(lines_input((market.sku["a2"], 1)))},
                                token=buyer))["placeOrder"]["paymentOrder"]
        order_id = placed["orders"][0]["id"]
        created = await console_a.event(lambda e: e["orderId"] == order_id)
        assert (created["type"], created["status"], created["merchantId"]) == \
            ("ORDER_CREATED", "PENDING_PAYMENT", gid("Merchant", market.a))
        assert created["payable"] == placed["payable"]

        async with db.transaction() as conn:
            await service.mark_paid(conn, decode_id("PaymentOrder", placed["id"]), datetime.now(UTC), "provider:test")
        paid = await console_a.event(lambda e: e["orderId"] == order_id and e["type"] == "ORDER_PAID")
        assert paid["status"] == "PAID"
        await http.ok(SHIP, {"id": order_id}, token=staff_a)
        await console_a.event(lambda e: e["orderId"] == order_id and e["type"] == "ORDER_SHIPPED")
        await back_office.event(lambda e: e["orderId"] == order_id and e["type"] == "ORDER_SHIPPED")

        # merchant B's own later order arrives; merchant A's earlier events never did
        other = (await http.ok(PLACE, {"i": place_input(lines_input((market.sku["b2"], 1)))},
                               token=buyer))["placeOrder"]["paymentOrder"]["orders"][0]["id"]
        await console_b.event(lambda e: e["orderId"] == other)
        assert all(e["orderId"] != order_id for e in console_b.received)
        assert {e["merchantId"] for e in console_b.received if e["type"] != "TEST_PROBE"} == \
            {gid("Merchant", market.b)}
