"""What other domains may ask the after-sale domain about order lines, without reading its
tables: how many units of each line after-sales refunded (reviews: a line refunded in full is
no longer reviewed), which units a case takes and which lines a case holds (the ledger)."""

from collections.abc import Sequence

import asyncpg


async def refunded_units(conn: asyncpg.Connection, order_line_ids: Sequence[int]) -> dict[int, int]:
    """Units of each line whose after-sale refund succeeded (cases REFUNDED); lines without any
    are left out."""
    rows = await conn.fetch("SELECT order_line_id, sum(quantity)::int AS units FROM after_sale_lines"
                            " WHERE order_line_id = ANY($1::bigint[]) AND refunded GROUP BY order_line_id",
                            list(order_line_ids))
    return {r["order_line_id"]: r["units"] for r in rows}


async def case_units(conn: asyncpg.Connection, after_sale_id: int) -> dict[int, list[int]]:
    """The unit indexes (of each line's unit split) a case takes, by order line (the ledger posts
    a case's refund per line)."""
    rows = await conn.fetch("SELECT order_line_id, units FROM after_sale_lines WHERE after_sale_id = $1",
                            after_sale_id)
    return {r["order_line_id"]: list(r["units"]) for r in rows}


async def lines_in_progress(conn: asyncpg.Connection, order_ids: Sequence[int]) -> list[int]:
    """Lines of these orders under a case still open (settlement holds them)."""
    rows = await conn.fetch("SELECT a.order_line_id FROM after_sale_lines a JOIN order_lines l ON l.id = a.order_line_id"
                            " WHERE l.order_id = ANY($1::bigint[]) AND a.open", list(order_ids))
    return [r["order_line_id"] for r in rows]
