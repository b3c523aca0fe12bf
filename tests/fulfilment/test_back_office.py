"""The back office: dead-lettered shipments listed and re-pushed over GraphQL (admins only), and
the demo's platform warehouses run by sandbox partners."""

from datetime import UTC, datetime

import httpx

from app.demo import PARTNER_WAREHOUSES, PLATFORM
from app.fulfilment import pushes
from app.ids import encode_id
from tests.fulfilment.helpers import control, make_partners, new_buyer_id, paid_order, parcels

DEAD = "query { deadLetterShipments(first: 50) { edges { node { id status pushAttempts lastError } } } }"
REPUSH = """mutation($id: ID!) { repushShipment(input: {shipmentId: $id}) {
  shipment { id status pushAttempts lastError } userErrors { code } } }"""


async def test_dead_letters_are_listed_and_re_pushed_by_admins(api, http, db, settings, tokens):
    goods = await make_partners(db, settings.sandbox_partner_secret)
    await control(http, settings.sandbox_partner_secret, goods.wh_code, fail_next=100)
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    async with httpx.AsyncClient() as client:
        outcomes = [(await pushes.push_shipment(db, settings, client, shipment_id, datetime.now(UTC))).status
                    for _ in range(settings.fulfilment_push_max_attempts)]
    assert outcomes == ["RETRY"] * (settings.fulfilment_push_max_attempts - 1) + ["DEAD_LETTER"]

    listed = {e["node"]["id"]: e["node"] for e in (await api.ok(DEAD, None, tokens["admin"]))["deadLetterShipments"]["edges"]}
    dead = listed[encode_id("Shipment", shipment_id)]
    assert dead["status"] == "DEAD_LETTER" and "503" in dead["lastError"]
    refused = await api(DEAD, None, tokens["acme"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api(REPUSH, {"id": dead["id"]}, tokens["acme"]))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    again = (await api.ok(REPUSH, {"id": dead["id"]}, tokens["admin"]))["repushShipment"]
    assert again["userErrors"] == [] and (again["shipment"]["status"], again["shipment"]["pushAttempts"]) == (
        "PENDING", 0)
    twice = (await api.ok(REPUSH, {"id": dead["id"]}, tokens["admin"]))["repushShipment"]
    assert [e["code"] for e in twice["userErrors"]] == ["INVALID_TRANSITION"]


async def test_demo_platform_warehouses_are_sandbox_partners(db, settings, tokens):
    rows = await db.fetch("SELECT name, endpoint_url, secret, partner_code FROM warehouses WHERE merchant_id = $1"
                          " AND endpoint_url IS NOT NULL AND supplier_id IS NULL", PLATFORM)  # not the dropship supplier's
    assert {r["name"]: (r["endpoint_url"], r["partner_code"]) for r in rows} == {
        name: (f"sandbox://fulfilment/{code}", code) for name, code in PARTNER_WAREHOUSES.items()}
    assert {r["secret"] for r in rows} == {settings.sandbox_partner_secret}
