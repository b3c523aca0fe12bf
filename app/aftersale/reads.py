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
