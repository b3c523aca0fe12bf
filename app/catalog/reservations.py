"""Stock reservations (DOMAIN §5, §6): reserved at placement, released on cancel or timeout,
deducted at shipment. `stock.reserved` never exceeds `on_hand` (a CHECK), so nothing oversells.

A reservation routes like `route_warehouse`: the merchant's active warehouses covering the
address's province (any of its warehouses for virtual goods) with enough available, highest
priority first. The pick and the increment are one statement whose `UPDATE … WHERE on_hand -
reserved >= q` re-checks the row under its lock; when a concurrent placement took the stock
first the statement picks again, so a busy SKU never reports out of stock while some warehouse
still has it. Callers reserve lines in SKU order so two placements never wait on each other in a
cycle.
"""

import asyncpg

MAX_ATTEMPTS = 5


async def reserve(conn: asyncpg.Connection, order_line_id: int, sku_id: int, merchant_id: int, quantity: int,
                  region_code: str | None) -> int | None:
    """Reserve `quantity` of a SKU for an order line; the warehouse id, or None when no warehouse
    can ship it (`region_code` None = virtual goods: any warehouse)."""
    for _ in range(MAX_ATTEMPTS):
        warehouse_id = await conn.fetchval(
            """
            WITH pick AS (
                SELECT st.warehouse_id FROM stock st
                JOIN warehouses w ON w.id = st.warehouse_id AND w.active AND w.merchant_id = $3
                WHERE st.sku_id = $1 AND st.on_hand - st.reserved >= $2
                  AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM warehouse_regions wr
                                                   WHERE wr.warehouse_id = w.id AND wr.region_code = $4))
                ORDER BY w.priority DESC, w.id LIMIT 1
            )
            UPDATE stock SET reserved = stock.reserved + $2, updated_at = now() FROM pick
            WHERE stock.sku_id = $1 AND stock.warehouse_id = pick.warehouse_id AND stock.on_hand - stock.reserved >= $2
            RETURNING stock.warehouse_id
            """, sku_id, quantity, merchant_id, region_code)
        if warehouse_id is not None:
            await conn.execute("INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)"
                               " VALUES ($1, $2, $3, $4)", order_line_id, sku_id, warehouse_id, quantity)
            return warehouse_id
        still_there = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM stock st JOIN warehouses w ON w.id = st.warehouse_id AND w.active"
            " AND w.merchant_id = $3 WHERE st.sku_id = $1 AND st.on_hand - st.reserved >= $2"
            " AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM warehouse_regions wr"
            "      WHERE wr.warehouse_id = w.id AND wr.region_code = $4)))",
            sku_id, quantity, merchant_id, region_code)
        if not still_there:
            return None
    return None


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
