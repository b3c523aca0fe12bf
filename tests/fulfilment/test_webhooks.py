"""The partners' and carriers' webhooks: a bad or missing signature is refused (401) and nothing
is stored; an unknown partner is 404, a malformed notice 400; a carrier event for a tracking
number no parcel has yet is refused (404) so the carrier sends it again; a page of orders with
their shipments, lines and tracking costs the same statements whatever its size."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from app.fulfilment import shipments
from app.signing import signed_headers
from tests.fulfilment.helpers import make_partners, new_buyer_id, paid_order, parcels
from tests.jobs import wait_for
from tests.payments.helpers import new_buyer

MY_ORDERS = """query($n: Int!) { myOrders(first: $n) { edges { node { id
  shipments { id status carrier lines { title quantity } tracking { status occurredAt } } } } } }"""


@pytest.fixture(scope="module")
async def goods(db, settings):
    return await make_partners(db, settings.sandbox_partner_secret)


def _notice(shipment_id: int, kind: str = "SHIPPED", notice_id: str | None = None) -> dict:
    return {"notice_id": notice_id or uuid.uuid4().hex, "type": kind, "idempotency_key": f"shipment-{shipment_id}",
            "partner_ref": "ref-1", "carrier": "SF", "tracking_number": f"SF{uuid.uuid4().int % 10**10}"}


async def _post(http, path: str, secret: str, body: dict, **headers):
    raw = json.dumps(body).encode()
    return await http.post(path, content=raw, headers={**signed_headers(secret, raw), **headers})


async def test_partner_notices_need_the_partner_signature(http, db, settings, goods):
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    path = f"/webhooks/fulfilment/{goods.wh_code}"
    notice = _notice(shipment_id)
    assert (await _post(http, path, "not-the-secret", notice)).status_code == 401
    raw = json.dumps(notice).encode()
    assert (await http.post(path, content=raw, headers={"content-type": "application/json"})).status_code == 401
    stale = signed_headers(settings.sandbox_partner_secret, raw, timestamp=1_000_000_000)
    assert (await http.post(path, content=raw, headers=stale)).status_code == 401
    assert await db.fetchval("SELECT count(*) FROM fulfilment_notices WHERE shipment_id = $1", shipment_id) == 0
    assert (await parcels(db, order.id))["WAREHOUSE"]["status"] == "PENDING"

    assert (await _post(http, "/webhooks/fulfilment/nobody-here", settings.sandbox_partner_secret,
                        notice)).status_code == 404
    assert (await _post(http, path, settings.sandbox_partner_secret, {"type": "SHIPPED"})).status_code == 400
    # another partner's shipment is not this one's to ship
    other = await _post(http, f"/webhooks/fulfilment/{goods.sup_code}", settings.sandbox_partner_secret, notice)
    assert other.json()["status"] == "IGNORED"
    assert (await parcels(db, order.id))["WAREHOUSE"]["status"] == "PENDING"

    first = await _post(http, path, settings.sandbox_partner_secret, notice)
    again = await _post(http, path, settings.sandbox_partner_secret, notice)
    assert (first.json()["status"], again.json()["status"]) == ("APPLIED", "DUPLICATE")
    shipped = (await parcels(db, order.id))["WAREHOUSE"]
    assert (shipped["status"], shipped["tracking_number"]) == ("SHIPPED", notice["tracking_number"])
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order.id) == "SHIPPED"


async def test_tracking_events_need_the_logistics_signature(http, db, settings, goods):
    order = await paid_order(db, goods, await new_buyer_id(db), {"phone": 1})
    shipment_id = (await parcels(db, order.id))["WAREHOUSE"]["id"]
    notice = _notice(shipment_id)
    event = {"event_id": "e1", "tracking_number": notice["tracking_number"], "status": "SIGNED",
             "description": "签收", "location": "上海", "occurred_at": "2026-12-01T10:00:00+00:00"}
    path = "/webhooks/logistics/SF"
    assert (await _post(http, path, settings.logistics_webhook_secret, event)).status_code == 404   # not shipped yet
    assert (await _post(http, f"/webhooks/fulfilment/{goods.wh_code}", settings.sandbox_partner_secret,
                        notice)).status_code == 200
    assert (await _post(http, path, settings.sandbox_partner_secret, event)).status_code == 401
    assert await db.fetchval("SELECT count(*) FROM tracking_events WHERE shipment_id = $1", shipment_id) == 0
    assert (await _post(http, path, settings.logistics_webhook_secret, {**event, "status": "LOST"})).status_code == 400
    first = await _post(http, path, settings.logistics_webhook_secret, event)
    again = await _post(http, path, settings.logistics_webhook_secret, event)
    assert (first.json()["recorded"], again.json()["recorded"]) == (1, 0)
    assert (await parcels(db, order.id))["WAREHOUSE"]["status"] == "SIGNED"
    row = await db.fetchrow("SELECT status, logistics_status FROM orders WHERE id = $1", order.id)
    assert tuple(row) == ("SHIPPED", "SIGNED")
    notices = await db.fetch("SELECT template FROM buyer_notifications WHERE order_id = $1 ORDER BY id", order.id)
    assert [n["template"] for n in notices] == ["ORDER_PAID", "ORDER_SHIPPED", "ORDER_SIGNED"]


async def test_a_page_of_orders_with_shipments_costs_constant_statements(api, db, settings, goods):
    buyer = await new_buyer(db, settings)
    for _ in range(6):
        await paid_order(db, goods, buyer.id, {"phone": 1, "shirt": 1})

    async def statements(n: int) -> int:
        page = await api(MY_ORDERS, {"n": n}, buyer.token)
        assert "errors" not in page, page
        assert len(page["data"]["myOrders"]["edges"]) == n
        return int(api.last_response.headers["x-sql-statements"])
    assert await statements(2) == await statements(6)


async def test_a_merchant_parcel_is_tracked_once_its_carrier_knows_it(http, db, settings, goods):
    order = await paid_order(db, goods, await new_buyer_id(db), {"shirt": 1})
    shipment_id = (await parcels(db, order.id))["MERCHANT"]["id"]
    number = f"YT{uuid.uuid4().int % 10**10}"
    async with db.transaction() as conn:
        await conn.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", order.id)
        await shipments.ship(conn, [shipment_id], "YTO", number, datetime.now(UTC), "staff:1")
    body = {"tracking_number": number, "step_ms": 20}
    assert (await _post(http, "/sandbox/logistics/YTO/parcels", "wrong", body)).status_code == 401
    told = await _post(http, "/sandbox/logistics/YTO/parcels", settings.sandbox_partner_secret, body)
    assert told.status_code == 200, told.text

    async def timeline():      # the carrier's events may arrive in any order
        return await db.fetchval("SELECT count(*) FROM tracking_events WHERE shipment_id = $1", shipment_id) == 4
    await wait_for(timeline, "the merchant's parcel's timeline")
    assert await db.fetchval("SELECT logistics_status FROM orders WHERE id = $1", order.id) == "SIGNED"
