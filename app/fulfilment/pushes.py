"""Pushing shipments to partner systems (DOMAIN §6): WAREHOUSE to the warehouse's system,
DROPSHIP to the supplier's. A push of a batch of shipments (`push_shipments`; one shipment is a
batch of one) = claim them all in one statement (the ones still PENDING, one more attempt
counted each), the HTTP calls — one signed request per shipment, concurrently over the shared
client, no transaction held — then all the answers recorded in one transaction: ACCEPTED with
the partner's reference, or the error kept and a retry after backoff, or after
`fulfilment_push_max_attempts` tries the DEAD_LETTER the back office sees and re-pushes.

The partner dedupes on the shipment's idempotency key, so every repeat — arq's at-least-once
delivery, a worker killed after the partner answered, the sweeper, a re-push, a retried batch —
ends in one parcel.
"""

import asyncio
import weakref
from collections.abc import Sequence
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
from app.payments.gateway import MAX_CONNECTIONS

log = structlog.get_logger(__name__)
MAX_BACKOFF_SECONDS = 60.0
IN_FLIGHT_GRACE = timedelta(seconds=5)


@dataclass(frozen=True)
class PushOutcome:
    status: str                         # ACCEPTED, SKIPPED, INTERCEPTED, RETRY, DEAD_LETTER
    retry_in: float | None = None       # seconds, for RETRY


@dataclass(frozen=True)
class _Claimed:
    shipment: asyncpg.Record             # the row as claimed (its attempts counted)
    order: dict                          # what the partner is sent
    partner: partners.Partner | None


def backoff(settings: Settings, attempt: int) -> float:
    return min(settings.fulfilment_push_backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


# Requests in flight per HTTP client, i.e. per process: every push job of the worker shares its
# client's pool, so they queue here rather than in httpx, whose pool timeout would fail a push
# that only waited for a connection (100 jobs × a batch of 100 is far more than its 100).
_slots: "weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


def _slots_of(http: httpx.AsyncClient) -> asyncio.Semaphore:
    slots = _slots.get(http)
    if slots is None:
        slots = _slots[http] = asyncio.Semaphore(MAX_CONNECTIONS)
    return slots


async def push_shipment(db: Database, settings: Settings, http: httpx.AsyncClient, shipment_id: int,
                        now: datetime) -> PushOutcome:
    """One push of the shipment (`now`: when it starts); what came of it."""
    return (await push_shipments(db, settings, http, [shipment_id], now))[shipment_id]


async def push_shipments(db: Database, settings: Settings, http: httpx.AsyncClient, shipment_ids: Sequence[int],
                         now: datetime) -> dict[int, PushOutcome]:
    """One push of each of the shipments still PENDING (`now`: when it starts), concurrently;
    what came of each (SKIPPED: nothing to push — accepted, dead-lettered or cancelled already)."""
    claimed = await _claim(db, settings, shipment_ids, now)
    answers = await asyncio.gather(*(_push_one(settings, http, c) for c in claimed), return_exceptions=True)
    outcomes = {sid: PushOutcome("SKIPPED") for sid in shipment_ids}
    accepted: dict[int, list[tuple[int, str]]] = {}      # warehouse → (shipment, partner_ref)
    failed: list[tuple[asyncpg.Record, str]] = []
    bug: BaseException | None = None
    for c, answer in zip(claimed, answers, strict=True):
        sid = c.shipment["id"]
        if isinstance(answer, PartnerUnavailable):
            failed.append((c.shipment, str(answer)))
        elif isinstance(answer, BaseException):            # not the partner's doing: recorded as a failure,
            bug = bug or answer                            # raised once the others are recorded
            failed.append((c.shipment, f"push failed: {type(answer).__name__}"))
        elif answer["status"] == "CANCELLED":               # intercepted before it arrived: withdraw_units decides
            outcomes[sid] = PushOutcome("INTERCEPTED")
        else:
            accepted.setdefault(c.shipment["warehouse_id"], []).append((sid, answer["partner_ref"]))
            outcomes[sid] = PushOutcome("ACCEPTED")
    if accepted or failed:
        outcomes |= await _record(db, settings, accepted, failed, datetime.now(UTC))
    if bug is not None:
        raise bug
    return outcomes


async def _push_one(settings: Settings, http: httpx.AsyncClient, claimed: _Claimed) -> dict:
    if claimed.partner is None:
        raise PartnerUnavailable("the warehouse has no partner system configured (endpoint_url, secret)")
    async with _slots_of(http):
        return await partners.push(settings, http, claimed.partner, claimed.order)


async def _claim(db: Database, settings: Settings, shipment_ids: Sequence[int], now: datetime) -> list[_Claimed]:
    """The shipments still PENDING (of a pushed kind), each with one more attempt counted and the
    sweeper kept off it while its call is in flight; what to send each; where. One statement
    whatever their number (it runs for every push); rows locked in id order, so two claims of
    overlapping batches wait for each other rather than deadlock."""
    rows = await db.fetch(
        "WITH locked AS (SELECT id FROM shipments WHERE id = ANY($1::bigint[]) AND status = 'PENDING'"
        "   AND kind = ANY($4::text[]) ORDER BY id FOR UPDATE),"
        " claimed AS (UPDATE shipments s SET push_attempts = s.push_attempts + 1, pushed_at = $2, next_push_at = $3"
        "   FROM locked WHERE s.id = locked.id RETURNING s.*)"
        " SELECT c.*, o.address, coalesce(w.endpoint_url, sp.endpoint_url) AS endpoint_url,"
        "   coalesce(w.secret, sp.secret) AS partner_secret,"
        "   (SELECT jsonb_agg(jsonb_build_object('order_line_id', ol.id::text, 'sku_id', ol.sku_id::text,"
        "      'sku_code', k.code, 'title', ol.title, 'spec', ol.spec_label, 'quantity', l.quantity)"
        "      ORDER BY ol.position, ol.id)"
        "    FROM shipment_lines l JOIN order_lines ol ON ol.id = l.order_line_id JOIN skus k ON k.id = ol.sku_id"
        "    WHERE l.shipment_id = c.id) AS lines"
        " FROM claimed c JOIN orders o ON o.id = c.order_id JOIN warehouses w ON w.id = c.warehouse_id"
        " LEFT JOIN suppliers sp ON sp.id = w.supplier_id ORDER BY c.id",
        list(shipment_ids), now, now + timedelta(seconds=settings.fulfilment_push_timeout_seconds) + IN_FLIGHT_GRACE,
        list(PUSHED_KINDS))
    return [_Claimed(
        row,
        {"idempotency_key": partners.idempotency_key(row["id"]), "shipment_id": str(row["id"]),
         "order_id": str(row["order_id"]), "kind": row["kind"], "address": row["address"], "lines": row["lines"] or []},
        None if row["endpoint_url"] is None or row["partner_secret"] is None
        else partners.Partner(row["warehouse_id"], row["endpoint_url"], row["partner_secret"]))
        for row in rows]


async def _record(db: Database, settings: Settings, accepted: dict[int, list[tuple[int, str]]],
                  failed: list[tuple[asyncpg.Record, str]], now: datetime) -> dict[int, PushOutcome]:
    """The partners' answers, in one transaction: the accepted shipments ACCEPTED with their
    references (one guarded move per partner: the actor names it), the failed ones retried after
    backoff (one statement) or, out of attempts, dead-lettered (rare: one move each). Outcomes of
    the failed ones."""
    outcomes: dict[int, PushOutcome] = {}
    retry: list[tuple[int, str, datetime]] = []
    async with db.transaction() as conn:
        for warehouse_id, refs in sorted(accepted.items()):
            await shipments.move(conn, [sid for sid, _ in refs], ShipmentEvent.ACCEPT, f"partner:{warehouse_id}",
                                 sets="partner_ref = ($4::text[])[array_position($5::bigint[], t.id)],"
                                      " accepted_at = $6, last_error = NULL, next_push_at = NULL",
                                 args=([ref for _, ref in refs], [sid for sid, _ in refs], now))
        for shipment, error in failed:
            attempt = shipment["push_attempts"]
            log.info("shipment push failed", shipment_id=shipment["id"], attempt=attempt, error=error)
            if attempt >= settings.fulfilment_push_max_attempts:
                await shipments.move(conn, [shipment["id"]], ShipmentEvent.GIVE_UP, "system:push", reason=error[:500],
                                     sets="last_error = $4, next_push_at = NULL", args=(error[:2000],),
                                     extra={"last_error": error[:500], "push_attempts": attempt})
                outcomes[shipment["id"]] = PushOutcome("DEAD_LETTER")
            else:
                delay = backoff(settings, attempt)
                retry.append((shipment["id"], error[:2000], now + timedelta(seconds=delay)))
                outcomes[shipment["id"]] = PushOutcome("RETRY", delay)
        if retry:
            await conn.execute(
                "UPDATE shipments s SET last_error = t.error, next_push_at = t.next_push_at"
                " FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS t(id, error, next_push_at)"
                " WHERE s.id = t.id AND s.status = 'PENDING'",
                [r[0] for r in retry], [r[1] for r in retry], [r[2] for r in retry])
    return outcomes


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
