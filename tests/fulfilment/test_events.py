"""Live fulfilment events: a merchant's console (merchantFulfilmentEvents) sees its own parcels'
SHIPMENT_<STATUS> events as they happen, with the order and the after-sale; another merchant's
console does not."""

from datetime import UTC, datetime

from app.fulfilment import shipments
from app.ids import encode_id
from tests.cart.helpers import staff_token
from tests.e2e.conftest import Subscriber
from tests.fulfilment.helpers import make_partners, new_buyer_id, paid_order, parcels

EVENTS = "subscription { merchantFulfilmentEvents { type shipmentId orderId afterSaleId merchantId status payload } }"


async def test_the_console_sees_its_own_shipment_events(server, db, settings, redis):
    mine = await make_partners(db, settings.sandbox_partner_secret)
    theirs = await make_partners(db, settings.sandbox_partner_secret)
    order = await paid_order(db, mine, await new_buyer_id(db), {"shirt": 1})
    shipment_id = (await parcels(db, order.id))["MERCHANT"]["id"]
    mine_token, theirs_token = await staff_token(db, settings, mine.merchant), await staff_token(db, settings,
                                                                                               theirs.merchant)
    async with Subscriber.open(settings.port, mine_token, EVENTS, "merchantFulfilmentEvents", "fulfilment") as console, \
            Subscriber.open(settings.port, theirs_token, EVENTS, "merchantFulfilmentEvents", "fulfilment") as other:
        await console.ready(redis, mine.merchant)
        await other.ready(redis, theirs.merchant)
        async with db.transaction() as conn:
            await conn.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", order.id)
            await shipments.ship(conn, [shipment_id], "SF", "SF77", datetime.now(UTC), "test")
        event = await console.event(lambda e: e["type"] == "SHIPMENT_SHIPPED")
        assert event["payload"]["carrier"] == "SF" and {k: v for k, v in event.items() if k != "payload"} == {"type": "SHIPMENT_SHIPPED", "shipmentId": encode_id("Shipment", shipment_id),
                         "orderId": encode_id("Order", order.id), "afterSaleId": None,
                         "merchantId": encode_id("Merchant", mine.merchant), "status": "SHIPPED"}
        await other.ready(redis, theirs.merchant)     # events reach subscribers in order: it would be here
        assert not [e for e in other.received if e["type"].startswith("SHIPMENT_")]
