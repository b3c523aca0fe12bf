"""Shipments (拆包裹, DOMAIN §6): one per (order, warehouse, fulfilment kind), made from the lines'
stock reservations when the order is paid; how they leave (a partner's shipment notice, the
merchant's console), what that does to stock and to the order, and what an after-sale takes out
of them (`withdraw_units`) or adds (`create_reship`).

Locks go order → shipment (`orders.lock_order` first), so two parcels of one order shipping at
once never both miss that the other one left: the second sees the first and moves the order.
Reships (after_sale_id set) leave the order's status alone; their events carry the after-sale.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg
import httpx

from app.auth.principal import Principal
from app.catalog import reservations
from app.catalog.warehouses import province_code
from app.config import Settings
from app.db import Database
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.fulfilment import partners
from app.fulfilment.errors import FulfilmentError
from app.fulfilment.status import LEFT, SHIPMENT_MACHINE, UNSHIPPED, ShipmentEvent, ShipmentStatus
from app.orders import service as orders

S = ShipmentStatus


def _payload(extra: dict | None = None):
    """What every SHIPMENT_<status> event says besides the move itself."""
    return lambda r: {"order_id": r["order_id"], "kind": r["kind"], "after_sale_id": r["after_sale_id"],
                      "carrier": r["carrier"], "tracking_number": r["tracking_number"],
                      "generation": r["generation"], "push_attempts": r["push_attempts"], **(extra or {})}


async def move(conn: asyncpg.Connection, ids: Sequence[int], event: ShipmentEvent, actor: str, *,
               reason: str | None = None, sets: str = "", args: tuple = (),
               extra: dict | None = None) -> list[asyncpg.Record]:
    return await SHIPMENT_MACHINE.move(conn, ids, event, actor=actor, reason=reason, sets=sets, args=args,
                                       payload=_payload(extra))


# ---------------------------------------------------------------- creation


async def create_for_orders(conn: asyncpg.Connection, order_ids: list[int], now: datetime,
                            actor: str) -> dict[int, list[list]]:
    """The paid orders' shipments, in one statement whatever their number: one per (order,
    warehouse, fulfilment kind) of the lines' held reservations, virtual goods left out (they
    are bought at once, not shipped). Returns [shipment id, kind] per order."""
    rows = await conn.fetch(
        "WITH held AS (SELECT l.order_id, o.merchant_id, r.warehouse_id, p.fulfillment_type AS kind,"
        "   l.id AS line_id, sum(r.quantity)::int AS quantity"
        "   FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id"
        "   JOIN stock_reservations r ON r.order_line_id = l.id AND r.status = 'RESERVED'"
        "   WHERE l.order_id = ANY($1::bigint[]) AND p.fulfillment_type <> 'VIRTUAL'"
        "   GROUP BY l.order_id, o.merchant_id, r.warehouse_id, p.fulfillment_type, l.id),"
        " parcels AS (INSERT INTO shipments (order_id, merchant_id, warehouse_id, kind, created_at)"
        "   SELECT DISTINCT order_id, merchant_id, warehouse_id, kind, $2::timestamptz FROM held"
        "   ORDER BY order_id, warehouse_id, kind RETURNING id, order_id, warehouse_id, kind),"
        " parcel_lines AS (INSERT INTO shipment_lines (shipment_id, order_line_id, quantity)"
        "   SELECT p.id, h.line_id, h.quantity FROM parcels p JOIN held h USING (order_id, warehouse_id, kind)),"
        " history AS (INSERT INTO shipment_status_history (shipment_id, from_status, to_status, actor, reason, at)"
        "   SELECT id, NULL, 'PENDING', $3, 'ORDER_PAID', $2 FROM parcels)"
        " SELECT id, order_id, kind FROM parcels ORDER BY id", order_ids, now, actor)
    made: dict[int, list[list]] = {}
    for r in rows:
        made.setdefault(r["order_id"], []).append([r["id"], r["kind"]])
    return made


async def create_reship(conn: asyncpg.Connection, order_id: int, after_sale_id: int, order_line_id: int,
                        quantity: int) -> int:
    """An exchange's new shipment of `quantity` units of the line's SKU, stock reserved by
    routing to the order's region (OUT_OF_STOCK if no warehouse can); pushed like any shipment
    (its SHIPMENT_PENDING event starts the push) or shipped from the console for MERCHANT.
    Its SHIPMENT_SHIPPED / SHIPMENT_SIGNED events carry `after_sale_id`. Returns its id."""
    line = await conn.fetchrow(
        "SELECT l.id, o.merchant_id, o.address, p.fulfillment_type FROM order_lines l"
        " JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id"
        " WHERE l.id = $1 AND l.order_id = $2", order_line_id, order_id)
    if line is None:
        raise NotFound.of(CommonError.NOT_FOUND, "no such line in this order", "orderLineId")
    if line["fulfillment_type"] == "VIRTUAL" or line["address"] is None:
        raise DomainError.of(FulfilmentError.NOT_SHIPPABLE, "virtual goods are not shipped", "orderLineId")
    if quantity <= 0:
        raise DomainError.of(FulfilmentError.INVALID_QUANTITY, "reship at least one unit", "quantity")
    warehouse = await reservations.reserve_units(conn, order_line_id, quantity,
                                                 province_code(line["address"]["region_code"]))
    if warehouse is None:
        raise DomainError.of(FulfilmentError.OUT_OF_STOCK, "no warehouse covering the address has the units",
                             "quantity")
    return await _new_shipment(conn, order_id, line["merchant_id"], warehouse, line["fulfillment_type"],
                               [(order_line_id, quantity)], "system:after-sale", "RESHIP", after_sale_id)


async def _new_shipment(conn: asyncpg.Connection, order_id: int, merchant_id: int, warehouse_id: int, kind: str,
                        lines: list[tuple[int, int]], actor: str, reason: str,
                        after_sale_id: int | None = None) -> int:
    """One shipment with its lines and first history row, and its SHIPMENT_PENDING event (which
    starts its push, workers/fulfilment.py)."""
    shipment = await conn.fetchrow(
        "INSERT INTO shipments (order_id, merchant_id, warehouse_id, kind, after_sale_id)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING *", order_id, merchant_id, warehouse_id, kind, after_sale_id)
    await conn.execute("INSERT INTO shipment_lines (shipment_id, order_line_id, quantity)"
                       " SELECT $1, * FROM unnest($2::bigint[], $3::int[])",
                       shipment["id"], [line for line, _ in lines], [q for _, q in lines])
    await conn.execute("INSERT INTO shipment_status_history (shipment_id, from_status, to_status, actor, reason)"
                       " VALUES ($1, NULL, 'PENDING', $2, $3)", shipment["id"], actor, reason)
    await emit(conn, "fulfilment", "SHIPMENT_PENDING",
               {"shipment_id": shipment["id"], "from": None, "to": "PENDING", "actor": actor, "reason": reason,
                **_payload()(shipment)}, merchant_id=merchant_id)
    return shipment["id"]


# ---------------------------------------------------------------- leaving


def check_tracking(carrier: str, tracking_number: str) -> tuple[str, str]:
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not 1 <= len(carrier) <= 50 or not 1 <= len(tracking_number) <= 50:
        raise DomainError.of(FulfilmentError.INVALID_TRACKING,
                             "give a carrier and a tracking number of 1 to 50 characters", "trackingNumber")
    return carrier, tracking_number


async def ship(conn: asyncpg.Connection, shipment_ids: list[int], carrier: str, tracking_number: str,
               now: datetime, actor: str, partner_ref: str | None = None) -> list[asyncpg.Record]:
    """The parcels left with `carrier`/`tracking_number`: SHIPPED, their held stock deducted, the
    buyer told, and each order whose parcels have all left moves to SHIPPED. The caller holds
    the orders' locks. Returns the shipments that moved (the others had left, or were cancelled)."""
    moved = await move(conn, shipment_ids, ShipmentEvent.SHIP, actor,
                       sets="carrier = $4, tracking_number = $5, shipped_at = $6,"
                            " partner_ref = coalesce(t.partner_ref, $7)",
                       args=(carrier, tracking_number, now, partner_ref),
                       extra={"carrier": carrier, "tracking_number": tracking_number})
    if not moved:
        return moved
    ids = [r["id"] for r in moved]
    lines = await conn.fetch("SELECT l.order_line_id, s.warehouse_id FROM shipment_lines l"
                             " JOIN shipments s ON s.id = l.shipment_id WHERE l.shipment_id = ANY($1::bigint[])", ids)
    await reservations.deduct_for_lines(conn, [(r["order_line_id"], r["warehouse_id"]) for r in lines])
    await _tell_buyers(conn, ids, "SHIPMENT_SHIPPED")
    for order_id in sorted({r["order_id"] for r in moved}):
        await settle_order(conn, order_id, now, actor)
    return moved


async def sign(conn: asyncpg.Connection, shipment_ids: list[int], now: datetime, actor: str) -> list[asyncpg.Record]:
    """The carrier delivered (logistics SIGNED): the order's logistics sub-status follows once
    every parcel of it is signed. The caller holds the orders' locks."""
    moved = await move(conn, shipment_ids, ShipmentEvent.SIGN, actor, sets="signed_at = $4", args=(now,))
    if moved:
        await _tell_buyers(conn, [r["id"] for r in moved], "SHIPMENT_SIGNED")
        for order_id in sorted({r["order_id"] for r in moved}):
            await settle_order(conn, order_id, now, actor)
    return moved


async def settle_order(conn: asyncpg.Connection, order_id: int, now: datetime, actor: str) -> None:
    """Move the order on from its parcels (reships aside): PAID → SHIPPED once every one has left
    or was cancelled (at least one left), carrier and tracking from the first to leave; the
    logistics sub-status SIGNED once every one that left is signed."""
    parcels = await conn.fetch("SELECT status, carrier, tracking_number FROM shipments"
                               " WHERE order_id = $1 AND after_sale_id IS NULL ORDER BY shipped_at, id", order_id)
    gone = [p for p in parcels if p["status"] in LEFT]
    if not gone or any(p["status"] in UNSHIPPED for p in parcels):
        return
    await orders.mark_shipped(conn, order_id, gone[0]["carrier"], gone[0]["tracking_number"], now, actor)
    if all(p["status"] == S.SIGNED for p in gone):
        await orders.mark_signed(conn, order_id, now, actor)


async def _tell_buyers(conn: asyncpg.Connection, shipment_ids: list[int], template: str) -> None:
    """A buyer notification (DOMAIN §12 outbox) per parcel that left or was signed, when the
    order's own notice does not say it: an order of several parcels, or an exchange's reship."""
    await conn.execute(
        "INSERT INTO buyer_notifications (buyer_id, order_id, channel, template, payload)"
        " SELECT o.buyer_id, o.id, 'PUSH', $2, jsonb_build_object('order_id', o.id, 'shipment_id', s.id,"
        "   'carrier', s.carrier, 'tracking_number', s.tracking_number)"
        " FROM shipments s JOIN orders o ON o.id = s.order_id WHERE s.id = ANY($1::bigint[])"
        " AND (s.after_sale_id IS NOT NULL OR (SELECT count(*) FROM shipments x WHERE x.order_id = s.order_id"
        "   AND x.after_sale_id IS NULL) > 1) ORDER BY s.id",
        shipment_ids, template)


async def ship_merchant_parcels(conn: asyncpg.Connection, order_id: int, carrier: str, tracking_number: str,
                                now: datetime, actor: str) -> int:
    """The console's shipOrder: every MERCHANT parcel of the order still waiting leaves with the
    carrier and tracking number given. Returns how many did (the caller checked ownership)."""
    await orders.lock_order(conn, order_id)
    waiting = [r["id"] for r in await conn.fetch(
        "SELECT id FROM shipments WHERE order_id = $1 AND kind = 'MERCHANT' AND status = 'PENDING'", order_id)]
    return len(await ship(conn, waiting, carrier, tracking_number, now, actor))


async def ship_shipment(conn: asyncpg.Connection, principal: Principal, shipment_id: int, carrier: str,
                        tracking_number: str, now: datetime) -> None:
    """The console ships one MERCHANT parcel (an order split over warehouses, or an exchange's
    reship) of the merchant's own."""
    carrier, tracking_number = check_tracking(carrier, tracking_number)
    parcel = await owned(conn, principal, shipment_id)
    if parcel["kind"] != "MERCHANT":
        raise DomainError.of(FulfilmentError.NOT_MERCHANT_SHIPPED, "a partner ships this parcel", "shipmentId")
    await orders.lock_order(conn, parcel["order_id"])
    if not await ship(conn, [shipment_id], carrier, tracking_number, now, principal.subject):
        status = await conn.fetchval("SELECT status FROM shipments WHERE id = $1", shipment_id)
        SHIPMENT_MACHINE.target(S(status), ShipmentEvent.SHIP)     # raises INVALID_TRANSITION
        raise DomainError.of(CommonError.INVALID_TRANSITION, "the shipment changed meanwhile; reload it",
                             "shipmentId")


async def owned(conn: asyncpg.Connection, principal: Principal, shipment_id: int) -> asyncpg.Record:
    """A shipment the staff member may manage (admins: any); someone else's is NOT_FOUND."""
    parcel = await conn.fetchrow("SELECT * FROM shipments WHERE id = $1", shipment_id)
    if parcel is None or not principal.can_manage_merchant(parcel["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "shipment not found", "shipmentId")
    return parcel


async def cancel_for_order(conn: asyncpg.Connection, order_id: int, now: datetime, actor: str, reason: str) -> int:
    """The whole order is refunded before it shipped: every parcel not yet left is CANCELLED
    (the caller released the stock). A partner that holds one is told by the intercept job
    its SHIPMENT_CANCELLED event starts (workers/fulfilment.py)."""
    ids = [r["id"] for r in await conn.fetch(
        "SELECT id FROM shipments WHERE order_id = $1 AND status = ANY($2::text[])", order_id, list(UNSHIPPED))]
    return len(await move(conn, ids, ShipmentEvent.CANCEL, actor, reason=reason, sets="cancelled_at = $4",
                          args=(now,)))


# ---------------------------------------------------------------- after-sale: withdrawing units


async def withdraw_units(db: Database, settings: Settings, http: httpx.AsyncClient, key: str, order_line_id: int,
                         quantity: int) -> bool:
    """Take `quantity` units of a line out of fulfilment before they ship (an after-sale refund):
    directly from a parcel no partner holds yet (PENDING never pushed, or MERCHANT), else by a
    signed, synchronous cancel (intercept) call to the partner — no transaction held during it —
    after which what is left of the parcel becomes a new shipment, pushed again. The units'
    stock is released; a parcel left empty is CANCELLED; the order moves on if its remaining
    parcels have all left. True: withdrawn; False: too late (shipped). Idempotent on `key`: a
    retry returns the first answer. A partner that cannot be asked raises PartnerUnavailable
    (nothing changed: try again later)."""
    async with db.transaction() as conn:
        first = await _answered(conn, key)
        if first is not None:
            return first
        order_id = await conn.fetchval("SELECT order_id FROM order_lines WHERE id = $1", order_line_id)
        if order_id is None:
            raise NotFound.of(CommonError.NOT_FOUND, "no such order line", "orderLineId")
        await orders.lock_order(conn, order_id)
        parcel = await _parcel_holding(conn, order_line_id, quantity)
        if parcel is None:
            return await _answer(conn, key, order_line_id, quantity, None, False)
        if parcel["kind"] == "MERCHANT" or parcel["push_attempts"] == 0:
            await _take_out(conn, parcel, order_line_id, quantity)
            return await _answer(conn, key, order_line_id, quantity, parcel["id"], True)
        target = await partners.partner_of(conn, parcel["warehouse_id"])
    answer = await partners.cancel_at_partner(settings, http, target, parcel["id"])   # no transaction held
    async with db.transaction() as conn:
        first = await _answered(conn, key)
        if first is not None:
            return first
        await orders.lock_order(conn, order_id)
        current = await conn.fetchrow("SELECT * FROM shipments WHERE id = $1 FOR UPDATE", parcel["id"])
        if answer != "CANCELLED" or current["status"] not in UNSHIPPED:
            return await _answer(conn, key, order_line_id, quantity, parcel["id"], False)
        rest = [(r["order_line_id"], r["quantity"] - (quantity if r["order_line_id"] == order_line_id else 0))
                for r in await conn.fetch("SELECT order_line_id, quantity FROM shipment_lines WHERE shipment_id = $1"
                                          " ORDER BY order_line_id", parcel["id"])]
        await move(conn, [parcel["id"]], ShipmentEvent.CANCEL, "system:after-sale", reason="INTERCEPTED",
                   sets="cancelled_at = now()")
        await reservations.release_units(conn, order_line_id, parcel["warehouse_id"], quantity)
        if any(q > 0 for _, q in rest):
            await _new_shipment(conn, parcel["order_id"], parcel["merchant_id"], parcel["warehouse_id"],
                                parcel["kind"], [(line, q) for line, q in rest if q > 0], "system:after-sale",
                                f"REST_OF:{parcel['id']}", parcel["after_sale_id"])
        await settle_order(conn, parcel["order_id"], datetime.now(UTC), "system:after-sale")
        return await _answer(conn, key, order_line_id, quantity, parcel["id"], True)


async def _answered(conn: asyncpg.Connection, key: str) -> bool | None:
    return await conn.fetchval("SELECT withdrawn FROM shipment_withdrawals WHERE key = $1", key)


async def _answer(conn: asyncpg.Connection, key: str, order_line_id: int, quantity: int, shipment_id: int | None,
                  withdrawn: bool) -> bool:
    await conn.execute("INSERT INTO shipment_withdrawals (key, order_line_id, quantity, shipment_id, withdrawn)"
                       " VALUES ($1, $2, $3, $4, $5)", key, order_line_id, quantity, shipment_id, withdrawn)
    return withdrawn


async def _parcel_holding(conn: asyncpg.Connection, order_line_id: int, quantity: int) -> asyncpg.Record | None:
    """The unshipped parcel carrying the line (an exchange's reship last), locked; None when
    every unit of it has left. More units than it carries: INVALID_QUANTITY."""
    parcel = await conn.fetchrow(
        "SELECT s.*, l.quantity AS line_quantity FROM shipments s"
        " JOIN shipment_lines l ON l.shipment_id = s.id AND l.order_line_id = $1"
        " WHERE s.status = ANY($2::text[]) ORDER BY s.after_sale_id NULLS FIRST, s.id LIMIT 1 FOR UPDATE OF s",
        order_line_id, list(UNSHIPPED))
    if parcel is not None and not 0 < quantity <= parcel["line_quantity"]:
        raise DomainError.of(FulfilmentError.INVALID_QUANTITY,
                             f"the parcel carries {parcel['line_quantity']} units of this line", "quantity")
    return parcel


async def _take_out(conn: asyncpg.Connection, parcel: asyncpg.Record, order_line_id: int, quantity: int) -> None:
    """Withdraw units from a parcel nobody else holds: its line shrinks (or goes), the stock comes
    back, an empty parcel is CANCELLED and the order moves on if the rest has left."""
    await conn.execute("UPDATE shipment_lines SET quantity = quantity - $3 WHERE shipment_id = $1"
                       " AND order_line_id = $2 AND quantity > $3", parcel["id"], order_line_id, quantity)
    await conn.execute("DELETE FROM shipment_lines WHERE shipment_id = $1 AND order_line_id = $2 AND quantity = $3",
                       parcel["id"], order_line_id, quantity)
    await reservations.release_units(conn, order_line_id, parcel["warehouse_id"], quantity)
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM shipment_lines WHERE shipment_id = $1)", parcel["id"]):
        await move(conn, [parcel["id"]], ShipmentEvent.CANCEL, "system:after-sale", reason="WITHDRAWN",
                   sets="cancelled_at = now()")
        await settle_order(conn, parcel["order_id"], datetime.now(UTC), "system:after-sale")


# ---------------------------------------------------------------- reads


async def shipments_by_order_ids(db, order_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM shipments WHERE order_id = ANY($1::bigint[]) ORDER BY id", list(order_ids))
    by: dict[int, list] = {k: [] for k in order_ids}
    for r in rows:
        by[r["order_id"]].append(r)
    return [by[k] for k in order_ids]


async def lines_by_shipment_ids(db, shipment_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT l.shipment_id, l.quantity, ol.* FROM shipment_lines l"
                          " JOIN order_lines ol ON ol.id = l.order_line_id"
                          " WHERE l.shipment_id = ANY($1::bigint[]) ORDER BY ol.position, ol.id", list(shipment_ids))
    by: dict[int, list] = {k: [] for k in shipment_ids}
    for r in rows:
        by[r["shipment_id"]].append(r)
    return [by[k] for k in shipment_ids]


async def tracking_by_shipment_ids(db, shipment_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM tracking_events WHERE shipment_id = ANY($1::bigint[])"
                          " ORDER BY occurred_at, id", list(shipment_ids))
    by: dict[int, list] = {k: [] for k in shipment_ids}
    for r in rows:
        by[r["shipment_id"]].append(r)
    return [by[k] for k in shipment_ids]


async def merchant_shipments(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                             status: str | None, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Staff: their merchant's shipments; admins: `merchant_id`'s or everyone's; newest first."""
    if not principal.is_admin:
        merchant_id = principal.merchant_id
    return await conn.fetch(
        "SELECT * FROM shipments WHERE ($1::bigint IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR status = $2)"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", merchant_id, status, after_id, limit)
