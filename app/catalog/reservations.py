"""Stock reservations (DOMAIN §5, §6): reserved at placement, released on cancel or timeout,
deducted at shipment. `stock.reserved` never exceeds `on_hand` (a CHECK), so nothing oversells.

Reserving is the SQL function `reserve_order_lines` (migrations/0010): every line of a payment
order in SKU order, routed like `route_warehouse`, all failures reported at once. Placement
sends it together with its COMMIT (`reserve_and_commit`), so a hot SKU's stock row is locked only
for the time PostgreSQL needs.
"""

import re

import asyncpg

from app.db import commit_with

_REGION = re.compile(r"^[0-9]{6}$")


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
    try:
        await commit_with(conn, f"SELECT reserve_order_lines({int(payment_order_id)}, {region})")
    except asyncpg.RaiseError as exc:
        if exc.message != "OUT_OF_STOCK":
            raise
        raise OutOfStock([int(s) for s in exc.detail.split(",")]) from None


async def release_for_orders(conn: asyncpg.Connection, order_ids: list[int]) -> int:
    """Give back what the orders' lines hold (cancel, timeout, refund before shipment); held
    reservations only, so a second release changes nothing. Returns the units released."""
    freed = await conn.fetch(
        "UPDATE stock_reservations r SET status = 'RELEASED', updated_at = now()"
        " FROM order_lines l WHERE l.id = r.order_line_id AND l.order_id = ANY($1::bigint[]) AND r.status = 'RESERVED'"
        " RETURNING r.sku_id, r.warehouse_id, r.quantity", order_ids)
    await _move(conn, freed, on_hand=False)
    return sum(r["quantity"] for r in freed)


async def deduct_for_order(conn: asyncpg.Connection, order_id: int) -> int:
    """At shipment the held units leave the warehouse: on hand and reserved both go down."""
    shipped = await conn.fetch(
        "UPDATE stock_reservations r SET status = 'DEDUCTED', updated_at = now()"
        " FROM order_lines l WHERE l.id = r.order_line_id AND l.order_id = $1 AND r.status = 'RESERVED'"
        " RETURNING r.sku_id, r.warehouse_id, r.quantity", order_id)
    await _move(conn, shipped, on_hand=True)
    return sum(r["quantity"] for r in shipped)


async def _move(conn: asyncpg.Connection, rows: list[asyncpg.Record], on_hand: bool) -> None:
    """Lower `reserved` (and `on_hand` when goods leave) of the stock rows, locked in (SKU,
    warehouse) order like placements lock them."""
    totals: dict[tuple[int, int], int] = {}
    for r in rows:
        key = (r["sku_id"], r["warehouse_id"])
        totals[key] = totals.get(key, 0) + r["quantity"]
    if not totals:
        return
    keys = sorted(totals)
    await conn.execute(
        "UPDATE stock s SET reserved = s.reserved - t.quantity,"
        f" on_hand = s.on_hand - {'t.quantity' if on_hand else '0'}, updated_at = now()"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(sku_id, warehouse_id, quantity)"
        " WHERE s.sku_id = t.sku_id AND s.warehouse_id = t.warehouse_id",
        [k[0] for k in keys], [k[1] for k in keys], [totals[k] for k in keys])
