"""What other domains may ask the after-sale domain about order lines, without reading its
tables: how many units of each line after-sales refunded (reviews: a line refunded in full is
no longer reviewed)."""

from collections.abc import Sequence

import asyncpg


async def refunded_units(conn: asyncpg.Connection, order_line_ids: Sequence[int]) -> dict[int, int]:
    """Units of each line whose after-sale refund succeeded (cases REFUNDED); lines without any
    are left out."""
    rows = await conn.fetch("SELECT order_line_id, sum(quantity)::int AS units FROM after_sale_lines"
                            " WHERE order_line_id = ANY($1::bigint[]) AND refunded GROUP BY order_line_id",
                            list(order_line_ids))
    return {r["order_line_id"]: r["units"] for r in rows}
