"""Carriers' tracking events (DOMAIN §6 "logistics updates arrive by webhook"): recorded once per
(shipment, event id) on every parcel carrying the tracking number; SIGNED moves the parcel to
SIGNED and, once every parcel of the order is signed, the order's logistics sub-status
(app/orders/service.py `mark_signed`); the system status stays SHIPPED until the buyer confirms
receipt or the auto-confirm does. Merchant-shipped parcels are tracked the same way: their
carrier posts to the same webhook under the tracking number the merchant gave."""

from datetime import datetime

from app.db import Database
from app.events import emit_many
from app.fulfilment import shipments
from app.orders import service as orders

STATUSES = ("COLLECTED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "SIGNED", "EXCEPTION")


def parse(body: object) -> dict | None:
    """An event we can record: event_id, tracking_number, status, occurred_at (ISO 8601)."""
    if not isinstance(body, dict) or body.get("status") not in STATUSES:
        return None
    for name in ("event_id", "tracking_number"):
        if not isinstance(body.get(name), str) or not 1 <= len(body[name]) <= 128:
            return None
    try:
        occurred = datetime.fromisoformat(str(body.get("occurred_at")))
    except ValueError:
        return None
    if occurred.tzinfo is None:
        return None
    return {**body, "occurred_at": occurred, "description": str(body.get("description") or "")[:500],
            "location": str(body.get("location") or "")[:200]}


async def record(db: Database, carrier: str, event: dict, now: datetime) -> int | None:
    """Record the event on the carrier's parcels with that tracking number; how many parcels
    took it (0: a duplicate), None for a tracking number no shipped parcel has (yet: a carrier
    may be quicker than the partner's shipment notice, so the webhook asks it to resend)."""
    async with db.transaction() as conn:
        parcels = await conn.fetch(
            "SELECT id, order_id, merchant_id, after_sale_id FROM shipments WHERE tracking_number = $1"
            " AND lower(carrier) = lower($2) AND status IN ('SHIPPED', 'SIGNED') ORDER BY order_id, id",
            event["tracking_number"], carrier)
        if not parcels:
            return None
        for order_id in sorted({p["order_id"] for p in parcels}):
            await orders.lock_order(conn, order_id)
        took = {r["shipment_id"] for r in await conn.fetch(
            "INSERT INTO tracking_events (shipment_id, event_id, status, description, location, occurred_at)"
            " SELECT unnest($1::bigint[]), $2, $3, $4, $5, $6 ON CONFLICT (shipment_id, event_id) DO NOTHING"
            " RETURNING shipment_id", [p["id"] for p in parcels], event["event_id"], event["status"],
            event["description"], event["location"], event["occurred_at"])}
        await emit_many(conn, "fulfilment", [
            ("SHIPMENT_TRACKED", {"shipment_id": p["id"], "order_id": p["order_id"], "after_sale_id": p["after_sale_id"],
                                  "status": event["status"], "description": event["description"],
                                  "location": event["location"], "occurred_at": event["occurred_at"].isoformat()},
             p["merchant_id"]) for p in parcels if p["id"] in took])
        if took and event["status"] == "SIGNED":
            await shipments.sign(conn, sorted(took), now, f"carrier:{carrier}")
        return len(took)
