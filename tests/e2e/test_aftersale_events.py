"""Live after-sale events: a merchant console subscribed to `merchantAfterSaleEvents` sees its own
after-sales move as they happen (its queue updates live) and never another merchant's; the back
office sees all."""

from datetime import UTC, datetime

from app.orders import service as orders
from tests.aftersale.helpers import ship_and_receive
from tests.aftersale.test_flows import APPROVE, REQUEST, staff_token
from tests.e2e.conftest import Subscriber
from tests.payments.helpers import gid, make_goods, new_buyer, place

EVENTS = "subscription { merchantAfterSaleEvents { eventId type afterSaleId orderId merchantId status payload } }"


def subscribe(port: int, token: str):
    return Subscriber.open(port, token, EVENTS, "merchantAfterSaleEvents", "aftersale")


async def test_each_console_sees_its_own_after_sales_live(server, http, db, settings, tokens, redis):
    goods = await make_goods(db)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [1, 1])
        await orders.mark_paid(conn, po, datetime.now(UTC), "provider:test")
    order_a, order_b = [r["id"] for r in await db.fetch("SELECT id FROM orders WHERE payment_order_id = $1"
                                                        " ORDER BY merchant_id", po)]
    for order in (order_a, order_b):
        await ship_and_receive(db, order)
    line_a = await db.fetchval("SELECT id FROM order_lines WHERE order_id = $1", order_a)
    staff_a = await staff_token(db, settings, goods.shops[0].merchant)
    staff_b = await staff_token(db, settings, goods.shops[1].merchant)
    async with subscribe(server, staff_a) as console_a, subscribe(server, staff_b) as console_b, \
            subscribe(server, tokens["admin"]) as back_office:
        await console_a.ready(redis, goods.shops[0].merchant)
        await console_b.ready(redis, goods.shops[1].merchant)
        await back_office.ready(redis, goods.shops[0].merchant)

        asked = (await http.ok(REQUEST, {"i": {
            "orderId": gid("Order", order_a), "kind": "RETURN_REFUND", "reason": "DAMAGED",
            "lines": [{"orderLineId": gid("OrderLine", line_a), "quantity": 1}]}}, token=buyer.token))
        case = asked["requestAfterSale"]["afterSale"]["id"]
        requested = await console_a.event(lambda e: e["afterSaleId"] == case)
        assert (requested["type"], requested["status"], requested["orderId"]) == \
            ("AFTER_SALE_REQUESTED", "REQUESTED", gid("Order", order_a))
        await http.ok(APPROVE, {"i": {"afterSaleId": case}}, token=staff_a)
        approved = await console_a.event(lambda e: e["afterSaleId"] == case and e["type"] == "AFTER_SALE_APPROVED")
        assert approved["merchantId"] == gid("Merchant", goods.shops[0].merchant)
        await back_office.event(lambda e: e["afterSaleId"] == case and e["type"] == "AFTER_SALE_APPROVED")

        # merchant B's own probe arrives after A's events, which never reached B
        await console_b.ready(redis, goods.shops[1].merchant)
        assert all(e["afterSaleId"] != case for e in console_b.received)
