"""Stock reservations (DOMAIN §5, §6): reserved at placement, released on cancel or timeout,
deducted at shipment. `stock.reserved` never exceeds `on_hand` (a CHECK), so nothing oversells.

Reserving is the SQL function `reserve_order_lines` (migrations/0010): every line of a payment
order in SKU order, routed like `route_warehouse`, all failures reported at once. Placement
sends it together with its COMMIT (`reserve_and_commit`), so a hot SKU's stock row is locked only
for the time PostgreSQL needs.

A SKU whose stock state changes — sold out by a placement, back in stock when a cancellation or
a timeout releases its units — gets a `STOCK_STATE_CHANGED` product event in the same
transaction, so the anonymous response cache (topic "product") stops showing it as it was. Set-
based and cheap: one statement, only the SKUs whose state changed; "available" is over the
merchant's active warehouses, as listings count it.
"""

import re

import asyncpg

from app.db import commit_with

_REGION = re.compile(r"^[0-9]{6}$")
# whether SKU `k` has units its merchant's active warehouses can still sell
_SELLABLE = ("EXISTS (SELECT 1 FROM stock st JOIN warehouses w ON w.id = st.warehouse_id"
             " AND w.merchant_id = k.merchant_id AND w.active WHERE st.sku_id = k.id AND st.on_hand > st.reserved)")


def _state_event(state: str) -> str:
    """The outbox row of one SKU `k` whose stock state became `state`."""
    return ("'product', 'STOCK_STATE_CHANGED', jsonb_build_object('product_id', k.product_id, 'sku_id', k.id,"
            f" 'merchant_id', k.merchant_id, 'stock_state', '{state}'), k.merchant_id")


class OutOfStock(Exception):
    def __init__(self, sku_ids: list[int]) -> None:
        super().__init__(f"out of stock: {sku_ids}")
        self.sku_ids = sku_ids


async def reserve_and_commit(conn: asyncpg.Connection, payment_order_id: int, province: str | None) -> None:
    """Reserve every line of the payment order and commit the transaction; OutOfStock (and
    nothing committed) when some line cannot be reserved. `province` None = no address (virtual
    goods only)."""
    if province is not None and not _REGION.match(province):
        raise ValueError(f"not a province code: {province!r}")
    region = "NULL" if province is None else f"'{province}'"
    sold_out = (f"INSERT INTO outbox (topic, event_type, payload, merchant_id) SELECT {_state_event('OUT_OF_STOCK')}"
                " FROM skus k WHERE k.id IN (SELECT l.sku_id FROM order_lines l JOIN orders o ON o.id = l.order_id"
                f" WHERE o.payment_order_id = {int(payment_order_id)}) AND NOT {_SELLABLE}")
    try:
        await commit_with(conn, f"SELECT reserve_order_lines({int(payment_order_id)}, {region}); {sold_out}")
    except asyncpg.RaiseError as exc:
        if exc.message != "OUT_OF_STOCK":
            raise
        raise OutOfStock([int(s) for s in exc.detail.split(",")]) from None


async def sellable_skus(conn: asyncpg.Connection, sku_ids: list[int]) -> set[int]:
    """The SKUs among `sku_ids` that have units to sell now; read before a stock change, it lets
    `emit_stock_state_changes` tell whose state the change turned."""
    return {r["id"] for r in await conn.fetch(
        f"SELECT k.id FROM skus k WHERE k.id = ANY($1::bigint[]) AND {_SELLABLE}", sku_ids)}


async def emit_stock_state_changes(conn: asyncpg.Connection, sku_ids: list[int], sellable_before: set[int]) -> None:
    """`STOCK_STATE_CHANGED` for each SKU that became sellable (back in stock: IN_STOCK) or stopped
    being so (OUT_OF_STOCK) since `sellable_before` was read, like placements and releases do."""
    now = await sellable_skus(conn, sku_ids)
    for state, changed in (("IN_STOCK", now - sellable_before), ("OUT_OF_STOCK", (sellable_before & set(sku_ids)) - now)):
        if changed:
            await conn.execute(f"INSERT INTO outbox (topic, event_type, payload, merchant_id) SELECT {_state_event(state)}"
                               " FROM skus k WHERE k.id = ANY($1::bigint[]) ORDER BY k.id", sorted(changed))


async def release_for_orders(conn: asyncpg.Connection, order_ids: list[int]) -> int:
    """Give back what the orders' lines hold (cancel, timeout, refund before shipment); held
    reservations only, so a second release changes nothing. Returns the units released."""
    freed = await conn.fetch(
        "UPDATE stock_reservations r SET status = 'RELEASED', updated_at = now()"
        " FROM order_lines l WHERE l.id = r.order_line_id AND l.order_id = ANY($1::bigint[]) AND r.status = 'RESERVED'"
        " RETURNING r.sku_id, r.warehouse_id, r.quantity", order_ids)
    await _give_back(conn, freed)
    return sum(r["quantity"] for r in freed)


async def release_units(conn: asyncpg.Connection, order_line_id: int, warehouse_id: int, quantity: int) -> int:
    """Give back `quantity` held units of a line in one warehouse (an after-sale withdrew them
    before they shipped): the held reservation shrinks and a RELEASED one records the units.
    Returns the units released (0: none held there any more)."""
    freed = await conn.fetch(
        "WITH held AS (SELECT id, quantity FROM stock_reservations WHERE order_line_id = $1 AND warehouse_id = $2"
        "   AND status = 'RESERVED' AND quantity >= $3 ORDER BY id LIMIT 1 FOR UPDATE),"
        " shrunk AS (UPDATE stock_reservations r SET quantity = r.quantity - $3, updated_at = now() FROM held"
        "   WHERE r.id = held.id AND held.quantity > $3 RETURNING r.id),"
        " whole AS (UPDATE stock_reservations r SET status = 'RELEASED', updated_at = now() FROM held"
        "   WHERE r.id = held.id AND held.quantity = $3 RETURNING r.sku_id, r.warehouse_id, r.quantity),"
        " part AS (INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity, status)"
        "   SELECT r.order_line_id, r.sku_id, r.warehouse_id, $3, 'RELEASED' FROM stock_reservations r"
        "   WHERE r.id IN (SELECT id FROM shrunk) RETURNING sku_id, warehouse_id, quantity)"
        " SELECT * FROM whole UNION ALL SELECT * FROM part", order_line_id, warehouse_id, quantity)
    await _give_back(conn, freed)
    return sum(r["quantity"] for r in freed)


async def reserve_units(conn: asyncpg.Connection, order_line_id: int, quantity: int, province: str | None) -> int | None:
    """Hold `quantity` more units of a line's SKU (an exchange's reship), routed like placement
    (`route_warehouse`); the warehouse picked, None when no covering warehouse has them."""
    for _ in range(10):     # a race lost to a placement routes again
        picked = await conn.fetchrow(
            "SELECT l.sku_id, route_warehouse(l.sku_id, $2, $3) AS warehouse_id FROM order_lines l WHERE l.id = $1",
            order_line_id, quantity, province)
        if picked is None or picked["warehouse_id"] is None:
            return None
        held = await conn.fetchval(
            "WITH took AS (UPDATE stock SET reserved = reserved + $3, updated_at = now()"
            "   WHERE sku_id = $1 AND warehouse_id = $2 AND on_hand - reserved >= $3 RETURNING warehouse_id)"
            " INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)"
            " SELECT $4, $1, warehouse_id, $3 FROM took RETURNING warehouse_id",
            picked["sku_id"], picked["warehouse_id"], quantity, order_line_id)
        if held is not None:
            return held
    return None


async def _give_back(conn: asyncpg.Connection, freed: list[asyncpg.Record]) -> None:
    """Lower `reserved` by the freed units; SKUs that were sold out get an IN_STOCK event."""
    keys, totals = _totals(freed)
    if keys:
        # `was_out` reads the stock as it was before this statement's UPDATE (one snapshot)
        await conn.execute(
            "WITH freed AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])"
            "   AS t(sku_id, warehouse_id, quantity)),"
            f" was_out AS (SELECT k.* FROM skus k WHERE k.id IN (SELECT sku_id FROM freed) AND NOT {_SELLABLE}),"
            " moved AS (UPDATE stock s SET reserved = s.reserved - t.quantity, updated_at = now() FROM freed t"
            "   WHERE s.sku_id = t.sku_id AND s.warehouse_id = t.warehouse_id RETURNING s.sku_id, s.warehouse_id)"
            f" INSERT INTO outbox (topic, event_type, payload, merchant_id) SELECT {_state_event('IN_STOCK')}"
            " FROM was_out k WHERE EXISTS (SELECT 1 FROM moved m JOIN warehouses w ON w.id = m.warehouse_id"
            "   AND w.merchant_id = k.merchant_id AND w.active WHERE m.sku_id = k.id)",
            [k[0] for k in keys], [k[1] for k in keys], [totals[k] for k in keys])


async def deduct_for_lines(conn: asyncpg.Connection, lines: list[tuple[int, int]]) -> int:
    """A parcel left: the held units of each (order line, warehouse) leave the warehouse, on hand
    and reserved both go down. Held reservations only, so a second call changes nothing."""
    shipped = await conn.fetch(
        "UPDATE stock_reservations r SET status = 'DEDUCTED', updated_at = now()"
        " FROM unnest($1::bigint[], $2::bigint[]) AS t(line_id, warehouse_id)"
        " WHERE r.order_line_id = t.line_id AND r.warehouse_id = t.warehouse_id AND r.status = 'RESERVED'"
        " RETURNING r.sku_id, r.warehouse_id, r.quantity", [line for line, _ in lines], [w for _, w in lines])
    await _deduct(conn, shipped)
    return sum(r["quantity"] for r in shipped)


async def deduct_for_order(conn: asyncpg.Connection, order_id: int) -> int:
    """A delivered top-up (nothing ships): every held unit of the order leaves its warehouse."""
    shipped = await conn.fetch(
        "UPDATE stock_reservations r SET status = 'DEDUCTED', updated_at = now()"
        " FROM order_lines l WHERE l.id = r.order_line_id AND l.order_id = $1 AND r.status = 'RESERVED'"
        " RETURNING r.sku_id, r.warehouse_id, r.quantity", order_id)
    await _deduct(conn, shipped)
    return sum(r["quantity"] for r in shipped)


def _totals(rows: list[asyncpg.Record]) -> tuple[list[tuple[int, int]], dict[tuple[int, int], int]]:
    """Units per (SKU, warehouse), keys sorted: stock rows are locked in that order, like
    placements lock them."""
    totals: dict[tuple[int, int], int] = {}
    for r in rows:
        key = (r["sku_id"], r["warehouse_id"])
        totals[key] = totals.get(key, 0) + r["quantity"]
    return sorted(totals), totals


async def _deduct(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
    """Lower `on_hand` and `reserved` of the stock rows alike: what is available stays the same."""
    keys, totals = _totals(rows)
    if keys:
        await conn.execute(
            "UPDATE stock s SET reserved = s.reserved - t.quantity, on_hand = s.on_hand - t.quantity,"
            " updated_at = now()"
            " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(sku_id, warehouse_id, quantity)"
            " WHERE s.sku_id = t.sku_id AND s.warehouse_id = t.warehouse_id",
            [k[0] for k in keys], [k[1] for k in keys], [totals[k] for k in keys])
