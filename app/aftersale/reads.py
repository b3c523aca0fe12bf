"""Batch reads of the after-sale DataLoaders (schema/loaders.py): one statement per batch,
results in key order."""

from collections.abc import Sequence

import asyncpg

from app.db import Database, grouped


async def lines_by_case_ids(db: Database, case_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM after_sale_lines WHERE after_sale_id = ANY($1::bigint[])"
                          " ORDER BY after_sale_id, order_line_id", case_ids)
    return grouped(rows, case_ids, "after_sale_id")


async def evidence_by_case_ids(db: Database, case_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM after_sale_evidence WHERE after_sale_id = ANY($1::bigint[])"
                          " ORDER BY after_sale_id, position", case_ids)
    return grouped(rows, case_ids, "after_sale_id")


async def history_by_case_ids(db: Database, case_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM after_sale_status_history WHERE after_sale_id = ANY($1::bigint[])"
                          " ORDER BY after_sale_id, id", case_ids)
    return grouped(rows, case_ids, "after_sale_id")


async def cases_by_order_ids(db: Database, order_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    """Each order's cases, newest first (the caller may read the orders)."""
    rows = await db.fetch("SELECT * FROM after_sales WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, id DESC",
                          order_ids)
    return grouped(rows, order_ids, "order_id")


async def merchant_case_count(conn: asyncpg.Connection, merchant_id: int, since) -> int:
    """After-sales asked of a merchant since `since`, except those the buyer cancelled or that
    were rejected (the merchant score's after-sale rate, app/payouts/console.py)."""
    return await conn.fetchval("SELECT count(*) FROM after_sales WHERE merchant_id = $1 AND created_at >= $2"
                               " AND status NOT IN ('CANCELLED', 'REJECTED')", merchant_id, since)
