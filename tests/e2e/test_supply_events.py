"""Live supply events: the back office subscribed to `supplyEvents` sees a purchase order's
moves and receipts as they happen; merchant staff may not subscribe."""

from tests.e2e.conftest import Subscriber
from tests.supply.helpers import CREATE_PO, RECEIVE_PO, SUBMIT_PO, gid, platform_skus, stock_supplier_with, warehouse_id

SUPPLY_EVENTS = "subscription { supplyEvents { eventId type purchaseOrderId supplierId payload } }"


async def test_the_back_office_sees_purchase_orders_live(server, http, db, tokens, redis):
    sku = (await platform_skus(db, "WAREHOUSE"))[0]
    supplier = await stock_supplier_with(http, tokens, {sku: 500})
    async with Subscriber.open(server, tokens["admin"], SUPPLY_EVENTS, "supplyEvents", "supply") as back_office:
        await back_office.ready(redis, 1)
        po = (await http.ok(CREATE_PO, {"i": {"supplierId": supplier["id"], "lines": [{"skuId": gid("Sku", sku),
                                                                                       "quantity": 3}],
                                              "warehouseId": gid("Warehouse", await warehouse_id(db, "上海仓"))}},
                            tokens["admin"]))["createPurchaseOrder"]["purchaseOrder"]
        await http.ok(SUBMIT_PO, {"i": {"purchaseOrderId": po["id"]}}, tokens["admin"])
        await http.ok(RECEIVE_PO, {"i": {"purchaseOrderId": po["id"], "lines": [{"skuId": gid("Sku", sku),
                                                                                 "quantity": 3}]}}, tokens["admin"])
        seen = []
        for expected in ("PURCHASE_ORDER_CREATED", "PURCHASE_ORDER_ORDERED", "INBOUND_RECEIVED",
                         "PURCHASE_ORDER_RECEIVED"):
            event = await back_office.event(lambda e, t=expected: e["purchaseOrderId"] == po["id"] and e["type"] == t)
            seen.append((event["type"], event["supplierId"]))
        assert seen == [(t, supplier["id"]) for t in ("PURCHASE_ORDER_CREATED", "PURCHASE_ORDER_ORDERED",
                                                      "INBOUND_RECEIVED", "PURCHASE_ORDER_RECEIVED")]
    async with Subscriber.open(server, tokens["acme"], SUPPLY_EVENTS, "supplyEvents", "supply") as console:
        refused = await console.next_message()
        assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "FORBIDDEN", refused
