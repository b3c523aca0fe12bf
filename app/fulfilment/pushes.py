"""Pushing shipments to partner systems (DOMAIN §6): WAREHOUSE to the warehouse's system,
DROPSHIP to the supplier's. One push = claim (a short transaction: the shipment still PENDING,
one more attempt counted), the HTTP call with no transaction held, then the answer recorded:
ACCEPTED with the partner's reference, or the error kept and a retry after backoff, or after
`fulfilment_push_max_attempts` tries the DEAD_LETTER the back office sees and re-pushes.

The partner dedupes on the shipment's idempotency key, so every repeat — arq's at-least-once
delivery, a worker killed after the partner answered, the sweeper, a re-push — ends in one parcel.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import structlog

from app.auth.principal import Principal
from app.config import Settings
from app.db import Database
from app.events import emit
from app.fulfilment import partners, shipments
from app.fulfilment.partners import PartnerUnavailable
from app.fulfilment.status import PUSHED_KINDS, SHIPMENT_MACHINE, ShipmentEvent, ShipmentStatus

log = structlog.get_logger(__name__)
MAX_BACKOFF_SECONDS = 60.0
IN_FLIGHT_GRACE = timedelta(seconds=5)


@dataclass(frozen=True)
class PushOutcome:
    status: str                         # ACCEPTED, SKIPPED, INTERCEPTED, RETRY, DEAD_LETTER
    retry_in: float | None = None       # seconds, for RETRY


def backoff(settings: Settings, attempt: int) -> float:
    return min(settings.fulfilment_push_backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


async def push_shipment(db: Database, settings: Settings, http: httpx.AsyncClient, shipment_id: int,
                        now: datetime) -> PushOutcome:
    """One push of the shipment (`now`: when it starts); what came of it."""
    claimed = await _claim(db, settings, shipment_id, now)
    if claimed is None:
        return PushOutcome("SKIPPED")
    shipment, order, partner = claimed
    try:
        if partner is None:
            raise PartnerUnavailable("the warehouse has no partner system configured (endpoint_url, secret)")
        answer = await partners.push(settings, http, partner, order)
    except PartnerUnavailable as exc:
        return await _failed(db, settings, shipment, str(exc), datetime.now(UTC))
    if answer["status"] == "CANCELLED":          # intercepted before it arrived: withdraw_units decides
        return PushOutcome("INTERCEPTED")
    async with db.transaction() as conn:
        await shipments.move(conn, [shipment_id], ShipmentEvent.ACCEPT, f"partner:{partner.warehouse_id}",
                             sets="partner_ref = $4, accepted_at = $5, last_error = NULL, next_push_at = NULL",
                             args=(answer["partner_ref"], datetime.now(UTC)))
    return PushOutcome("ACCEPTED")


async def _claim(db: Database, settings: Settings, shipment_id: int, now: datetime):
    """The shipment (still PENDING, a pushed kind) with one more attempt counted and the sweeper
    kept off it while the call is in flight; what to send; where. None: nothing to push. One
    statement (it runs for every push)."""
    row = await db.fetchrow(
        "WITH claimed AS (UPDATE shipments SET push_attempts = push_attempts + 1, pushed_at = $2, next_push_at = $3"
        "   WHERE id = $1 AND status = 'PENDING' AND kind = ANY($4::text[]) RETURNING *)"
        " SELECT c.*, o.address, coalesce(w.endpoint_url, s.endpoint_url) AS endpoint_url,"
        "   coalesce(w.secret, s.secret) AS partner_secret,"
        "   (SELECT jsonb_agg(jsonb_build_object('order_line_id', ol.id::text, 'sku_id', ol.sku_id::text,"
        "      'sku_code', k.code, 'title', ol.title, 'spec', ol.spec_label, 'quantity', l.quantity)"
        "      ORDER BY ol.position, ol.id)"
        "    FROM shipment_lines l JOIN order_lines ol ON ol.id = l.order_line_id JOIN skus k ON k.id = ol.sku_id"
        "    WHERE l.shipment_id = c.id) AS lines"
        " FROM claimed c JOIN orders o ON o.id = c.order_id JOIN warehouses w ON w.id = c.warehouse_id"
        " LEFT JOIN suppliers s ON s.id = w.supplier_id",
        shipment_id, now, now + timedelta(seconds=settings.fulfilment_push_timeout_seconds) + IN_FLIGHT_GRACE,
        list(PUSHED_KINDS))
    if row is None:
        return None
    order = {"idempotency_key": partners.idempotency_key(shipment_id), "shipment_id": str(shipment_id),
             "order_id": str(row["order_id"]), "kind": row["kind"], "address": row["address"],
             "lines": row["lines"] or []}
    partner = (None if row["endpoint_url"] is None or row["partner_secret"] is None
               else partners.Partner(row["warehouse_id"], row["endpoint_url"], row["partner_secret"]))
    return row, order, partner


async def _failed(db: Database, settings: Settings, shipment: asyncpg.Record, error: str,
                  now: datetime) -> PushOutcome:
    attempt = shipment["push_attempts"]
    log.info("shipment push failed", shipment_id=shipment["id"], attempt=attempt, error=error)
    async with db.transaction() as conn:
        if attempt >= settings.fulfilment_push_max_attempts:
            await shipments.move(conn, [shipment["id"]], ShipmentEvent.GIVE_UP, "system:push", reason=error[:500],
                                 sets="last_error = $4, next_push_at = NULL", args=(error[:2000],),
                                 extra={"last_error": error[:500], "push_attempts": attempt})
            return PushOutcome("DEAD_LETTER")
        delay = backoff(settings, attempt)
        await conn.execute("UPDATE shipments SET last_error = $2, next_push_at = $3 WHERE id = $1 AND status = 'PENDING'",
                           shipment["id"], error[:2000], now + timedelta(seconds=delay))
    return PushOutcome("RETRY", delay)


async def due_pushes(conn: asyncpg.Connection, now: datetime, settings: Settings,
                     limit: int) -> list[asyncpg.Record]:
    """PENDING pushed-kind shipments no job is pushing (a lost enqueue, a killed worker, an arq
    job out of tries): the sweeper pushes them again."""
    return await conn.fetch(
        "SELECT id, generation, push_attempts FROM shipments WHERE status = 'PENDING' AND kind <> 'MERCHANT'"
        " AND coalesce(next_push_at, created_at) < $1 ORDER BY id LIMIT $2",
        now - timedelta(seconds=settings.fulfilment_sweep_after_seconds), limit)


async def repush(conn: asyncpg.Connection, principal: Principal, shipment_id: int, now: datetime) -> int:
    """The back office sends a dead-lettered shipment again: PENDING, its attempts counted from
    zero, a new generation (its SHIPMENT_PENDING event starts a new push job). Returns the
    generation."""
    parcel = await shipments.owned(conn, principal, shipment_id)
    generation = parcel["generation"] + 1
    if not await shipments.move(conn, [shipment_id], ShipmentEvent.REPUSH, principal.subject, reason="REPUSH",
                                sets="generation = $4, push_attempts = 0, next_push_at = NULL", args=(generation,),
                                extra={"generation": generation}):
        SHIPMENT_MACHINE.target(ShipmentStatus(parcel["status"]), ShipmentEvent.REPUSH)   # INVALID_TRANSITION
    return generation


async def intercept_cancelled(db: Database, settings: Settings, http: httpx.AsyncClient, shipment_id: int) -> str:
    """A shipment cancelled with its order's refund that a partner may hold: tell the partner. A
    partner that shipped it anyway (TOO_LATE) is flagged for the back office."""
    async with db.connection() as conn:
        parcel = await conn.fetchrow("SELECT * FROM shipments WHERE id = $1", shipment_id)
        partner = await partners.partner_of(conn, parcel["warehouse_id"])
    answer = await partners.cancel_at_partner(settings, http, partner, shipment_id)
    if answer == "TOO_LATE":
        async with db.transaction() as conn:
            await conn.execute("UPDATE shipments SET last_error = 'TOO_LATE: the partner shipped it after the refund'"
                               " WHERE id = $1", shipment_id)
            await emit(conn, "fulfilment", "SHIPMENT_INTERCEPT_FAILED",
                       {"shipment_id": shipment_id, "order_id": parcel["order_id"]}, merchant_id=parcel["merchant_id"])
    return answer
