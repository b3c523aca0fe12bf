"""Reading orders for buyers, merchant consoles and the back office. A list costs one statement;
each relation a client selects (lines, their discount shares, history, payments, refunds) one
more per page, through the request's DataLoaders (schema/loaders.py) and the `*_by_*` batch
functions here — never one per order, and nothing for relations not selected."""

from collections.abc import Sequence

import asyncpg

from app.auth.principal import Principal
from app.db import Database, grouped
from app.errors import CommonError, NotFound
from app.orders.status import BUYER_TAB_SQL, BuyerStatus

_ORDER = """SELECT o.*, po.expires_at AS payment_deadline, po.payment_channel, m.name AS merchant_name
            FROM orders o JOIN payment_orders po ON po.id = o.payment_order_id
            JOIN merchants m ON m.id = o.merchant_id"""


async def buyer_orders(conn: asyncpg.Connection, buyer_id: int, tab: BuyerStatus | None, after_id: int | None,
                       limit: int) -> list[asyncpg.Record]:
    """A buyer's orders in one tab (or all), newest first."""
    return await conn.fetch(
        f"{_ORDER} WHERE o.buyer_id = $1 AND ($2::bigint IS NULL OR o.id < $2) AND {BUYER_TAB_SQL[tab] if tab else 'true'}"
        " ORDER BY o.id DESC LIMIT $3", buyer_id, after_id, limit)


async def buyer_tab_counts(conn: asyncpg.Connection, buyer_id: int) -> dict[BuyerStatus, int]:
    columns = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {tab.value.lower()}" for tab, cond in BUYER_TAB_SQL.items())
    row = await conn.fetchrow(f"SELECT {columns} FROM orders o WHERE o.buyer_id = $1", buyer_id)
    return {tab: row[tab.value.lower()] for tab in BUYER_TAB_SQL}


async def merchant_orders(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                          status: str | None, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Merchant staff: their merchant's orders only; admins: any merchant's, or all."""
    if not principal.is_admin:
        merchant_id = principal.merchant_id
    return await conn.fetch(
        f"{_ORDER} WHERE ($1::bigint IS NULL OR o.merchant_id = $1) AND ($2::text IS NULL OR o.status = $2)"
        " AND ($3::bigint IS NULL OR o.id < $3) ORDER BY o.id DESC LIMIT $4", merchant_id, status, after_id, limit)


async def orders_of_payment_order(conn: asyncpg.Connection, payment_order_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_ORDER} WHERE o.payment_order_id = $1 ORDER BY o.id", payment_order_id)


async def order_for(conn: asyncpg.Connection, principal: Principal, order_id: int) -> asyncpg.Record:
    """One order its buyer, its merchant's staff or an admin may read; anyone else: not found."""
    row = await conn.fetchrow(f"{_ORDER} WHERE o.id = $1", order_id)
    if row is None or not _may_read(principal, row):
        raise NotFound.of(CommonError.NOT_FOUND, "order not found", "id")
    return row


def _may_read(principal: Principal, order: asyncpg.Record) -> bool:
    if principal.is_buyer:
        return order["buyer_id"] == principal.id
    return principal.can_manage_merchant(order["merchant_id"])


# -- batch functions of the order DataLoaders: one statement per batch, results in key order


async def lines_by_order_ids(db: Database, order_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM order_lines WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, position",
                          order_ids)
    return grouped(rows, order_ids, "order_id")


async def shares_by_line_ids(db: Database, line_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM order_line_shares WHERE order_line_id = ANY($1::bigint[])"
                          " ORDER BY order_line_id, level", line_ids)
    return grouped(rows, line_ids, "order_line_id")


async def history_by_order_ids(db: Database, order_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM order_status_history WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, id",
                          order_ids)
    return grouped(rows, order_ids, "order_id")


async def payments_by_payment_order_ids(db: Database, payment_order_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    """Payments of each checkout (one checkout pays all its orders)."""
    rows = await db.fetch("SELECT * FROM payments WHERE payment_order_id = ANY($1::bigint[]) ORDER BY id",
                          payment_order_ids)
    return grouped(rows, payment_order_ids, "payment_order_id")


async def refunds_by_order_ids(db: Database, order_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM refunds WHERE order_id = ANY($1::bigint[]) ORDER BY id", order_ids)
    return grouped(rows, order_ids, "order_id")
