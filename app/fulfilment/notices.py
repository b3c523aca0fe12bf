"""Partner notices (DOMAIN §6): a warehouse's or supplier's acknowledgement of a push and, later,
its shipment notice (carrier, tracking number). Stored raw and once — unique on the partner's
notice id — and applied in the same transaction, inline in the webhook: applying is a few
statements on rows of one order, so there is no backlog to queue and no sweeper needed.

A duplicate is answered and changes nothing; a late notice (the acknowledgement arriving after
the shipment notice) is stored IGNORED: SHIPPED is reached from PENDING, ACCEPTED from a shipment
still waiting. Locks: the order first, then the shipment (app/fulfilment/shipments.py).
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.db import Database
from app.errors import DomainError
from app.fulfilment import shipments
from app.fulfilment.partners import Partner, shipment_of_key
from app.fulfilment.status import ShipmentEvent
from app.orders import service as orders

KINDS = ("ACCEPTED", "SHIPPED")


@dataclass(frozen=True)
class NoticeOutcome:
    status: str        # APPLIED, IGNORED, DUPLICATE
    outcome: str = ""


def parse(body: object) -> dict | None:
    """A notice we can store: notice_id, type and the shipment's idempotency key."""
    if not isinstance(body, dict) or body.get("type") not in KINDS:
        return None
    notice_id = body.get("notice_id")
    if not isinstance(notice_id, str) or not 1 <= len(notice_id) <= 128:
        return None
    return body


async def receive(db: Database, partner: Partner, body: dict, now: datetime) -> NoticeOutcome:
    async with db.transaction() as conn:
        shipment = await _shipment(conn, partner, body)
        stored = await conn.fetchval(
            "INSERT INTO fulfilment_notices (warehouse_id, notice_id, kind, shipment_id, body, status, received_at)"
            " VALUES ($1, $2, $3, $4, $5, 'IGNORED', $6) ON CONFLICT (warehouse_id, notice_id) DO NOTHING RETURNING id",
            partner.warehouse_id, body["notice_id"], body["type"], shipment and shipment["id"], body, now)
        if stored is None:
            return NoticeOutcome("DUPLICATE")
        outcome = (await _apply(conn, partner, shipment, body, now) if shipment is not None
                   else NoticeOutcome("IGNORED", "UNKNOWN_SHIPMENT: not a shipment of this partner"))
        await conn.execute("UPDATE fulfilment_notices SET status = $2, outcome = $3 WHERE id = $1",
                           stored, outcome.status, outcome.outcome)
        return outcome


async def _shipment(conn: asyncpg.Connection, partner: Partner, body: dict) -> asyncpg.Record | None:
    shipment_id = shipment_of_key(body.get("idempotency_key"))
    if shipment_id is None:
        return None
    return await conn.fetchrow("SELECT id, order_id FROM shipments WHERE id = $1 AND warehouse_id = $2",
                               shipment_id, partner.warehouse_id)


async def _apply(conn: asyncpg.Connection, partner: Partner, shipment: asyncpg.Record, body: dict,
                 now: datetime) -> NoticeOutcome:
    actor = f"partner:{partner.warehouse_id}"
    partner_ref = body.get("partner_ref") if isinstance(body.get("partner_ref"), str) else None
    await orders.lock_order(conn, shipment["order_id"])
    if body["type"] == "ACCEPTED":
        moved = await shipments.move(conn, [shipment["id"]], ShipmentEvent.ACCEPT, actor,
                                     sets="partner_ref = coalesce(t.partner_ref, $4), accepted_at = $5,"
                                          " last_error = NULL, next_push_at = NULL", args=(partner_ref, now))
    else:
        try:
            carrier, tracking = shipments.check_tracking(str(body.get("carrier") or ""),
                                                         str(body.get("tracking_number") or ""))
        except DomainError as exc:
            return NoticeOutcome("IGNORED", f"INVALID_TRACKING: {exc}")
        moved = await shipments.ship(conn, [shipment["id"]], carrier, tracking, now, actor, partner_ref)
    if moved:
        return NoticeOutcome("APPLIED", body["type"])
    status = await conn.fetchval("SELECT status FROM shipments WHERE id = $1", shipment["id"])
    return NoticeOutcome("IGNORED", f"LATE: the shipment is {status}")
