"""Scenario 1 end to end (DOMAIN §0): a self-operated phone from the platform's partner-run
warehouse and a dropship item from its supplier in one checkout, over real HTTP through the
payment sandbox, the partner sandboxes and the carrier, with real arq burst workers: placed,
paid, two shipments pushed, acknowledged, shipped, the order SHIPPED, signed, confirmed by the
buyer (RECEIVED) and COMPLETED by the completion job (review window 0)."""


from app.ids import decode_id
from tests.cart.helpers import staff_token
from tests.fulfilment.helpers import fulfilment_worker, make_partners, new_buyer_id, paid_order
from tests.jobs import wait_for
from tests.orders.helpers import key
from tests.payments.helpers import new_buyer
from workers import payments as payment_jobs
from workers.orders import complete_received_orders

PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  paymentOrder { id payable orders { id } } userErrors { code field message } } }"""
PAY = """mutation($i: CreatePaymentInput!) { createPayment(input: $i) {
  payment { id } instructions { payUrl } userErrors { code } } }"""
ORDER = """query($id: ID!) { order(id: $id) { id status logisticsStatus carrier trackingNumber
  shipments { id kind status carrier trackingNumber pushAttempts lines { title quantity }
    tracking { status description location occurredAt } } } }"""
RECEIVE = "mutation($id: ID!) { confirmReceipt(input: {orderId: $id}) { order { status } userErrors { code } } }"
SHIP_ONE = """mutation($i: ShipShipmentInput!) { shipShipment(input: $i) { shipment { id status } userErrors { code } } }"""
LIST = "query { shipments(first: 50) { edges { node { id orderId kind } } } }"
ADDRESS = {"receiver": "李四", "phone": "13800138001", "regionCode": "310104", "detail": "漕溪北路 88 号"}


async def _run(workers) -> None:
    for make in workers:
        worker = make()
        try:
            await worker.run_check()
        finally:
            await worker.close()


async def test_warehouse_and_dropship_from_placement_to_completed(api, http, db, settings):
    shop = await make_partners(db, settings.sandbox_partner_secret, "SELF_OPERATED")
    buyer = await new_buyer(db, settings)
    lines = [{"skuId": _gid("Sku", shop.phone.sku), "quantity": 1}, {"skuId": _gid("Sku", shop.gadget.sku), "quantity": 2}]
    placed = (await api.ok(PLACE, {"i": {"idempotencyKey": key(), "lines": lines, "address": ADDRESS,
                                         "paymentChannel": "WECHAT"}}, buyer.token))["placeOrder"]
    assert placed["userErrors"] == [], placed
    [order] = placed["paymentOrder"]["orders"]
    opened = (await api.ok(PAY, {"i": {"paymentOrderId": placed["paymentOrder"]["id"], "channel": "WECHAT"}},
                           buyer.token))["createPayment"]
    paid = await http.post(opened["instructions"]["payUrl"], data={"password": "123456"})
    assert paid.status_code == 200, paid.text

    workers = (lambda: fulfilment_worker(settings, db, payment_jobs),)

    async def state(wanted: str, field: str = "status"):
        await _run(workers)
        seen = (await api.ok(ORDER, {"id": order["id"]}, buyer.token))["order"]
        return seen if seen[field] == wanted else None
    shipped = await wait_for(lambda: state("SHIPPED"), "the order to ship")
    parcels = {s["kind"]: s for s in shipped["shipments"]}
    assert set(parcels) == {"WAREHOUSE", "DROPSHIP"}
    assert [(x["title"], x["quantity"]) for x in parcels["DROPSHIP"]["lines"]] == [(f"gadget {shop.tag}", 2)]
    assert all(p["carrier"] == "SBX" and p["pushAttempts"] is None for p in parcels.values())   # buyers: no push details
    first = min(shipped["shipments"], key=lambda s: s["id"])
    assert shipped["trackingNumber"] in {p["trackingNumber"] for p in parcels.values()} and first

    async def signed_with_timelines():      # a carrier's events may arrive in any order
        seen = await state("SIGNED", "logisticsStatus")
        return seen if seen and all(len(p["tracking"]) == 4 for p in seen["shipments"]) else None
    signed = await wait_for(signed_with_timelines, "every parcel to be signed")
    assert signed["status"] == "SHIPPED"
    for parcel in signed["shipments"]:
        assert parcel["status"] == "SIGNED"
        assert [t["status"] for t in parcel["tracking"]] == ["COLLECTED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "SIGNED"]

    received = (await api.ok(RECEIVE, {"id": order["id"]}, buyer.token))["confirmReceipt"]
    assert received["userErrors"] == [] and received["order"]["status"] == "RECEIVED"
    assert await complete_received_orders({"db": db, "settings": settings}) >= 1
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", decode_id("Order", order["id"])) == "COMPLETED"
    events = {r["event_type"] for r in await db.fetch(
        "SELECT event_type FROM outbox WHERE topic = 'fulfilment' AND (payload->>'order_id')::bigint = $1",
        decode_id("Order", order["id"]))}
    assert {"SHIPMENT_ACCEPTED", "SHIPMENT_SHIPPED", "SHIPMENT_SIGNED", "SHIPMENT_TRACKED"} <= events


async def test_a_merchant_sees_and_ships_only_its_own_shipments(api, db, settings):
    mine = await make_partners(db, settings.sandbox_partner_secret)
    theirs = await make_partners(db, settings.sandbox_partner_secret)
    order = await paid_order(db, mine, await new_buyer_id(db), {"shirt": 1, "phone": 1})
    parcels = {r["kind"]: r["id"] for r in await db.fetch("SELECT id, kind FROM shipments WHERE order_id = $1",
                                                          order.id)}
    owner, stranger = await staff_token(db, settings, mine.merchant), await staff_token(db, settings, theirs.merchant)
    ship = {"i": {"shipmentId": _gid("Shipment", parcels["MERCHANT"]), "carrier": "SF", "trackingNumber": "SF9"}}
    refused = (await api.ok(SHIP_ONE, ship, stranger))["shipShipment"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]
    assert {e["node"]["orderId"] for e in (await api.ok(LIST, None, stranger))["shipments"]["edges"]} == set()
    listed = (await api.ok(LIST, None, owner))["shipments"]["edges"]
    assert {decode_id("Shipment", e["node"]["id"]) for e in listed} == set(parcels.values())
    partner = {"i": {**ship["i"], "shipmentId": _gid("Shipment", parcels["WAREHOUSE"])}}
    assert [e["code"] for e in (await api.ok(SHIP_ONE, partner, owner))["shipShipment"]["userErrors"]] == [
        "NOT_MERCHANT_SHIPPED"]
    shipped = (await api.ok(SHIP_ONE, ship, owner))["shipShipment"]
    assert shipped["userErrors"] == [] and shipped["shipment"]["status"] == "SHIPPED"
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "PAID"   # the phone is still out
    again = (await api.ok(SHIP_ONE, ship, owner))["shipShipment"]
    assert [e["code"] for e in again["userErrors"]] == ["INVALID_TRANSITION"]


def _gid(kind: str, pk: int) -> str:
    from app.ids import encode_id
    return encode_id(kind, pk)
