"""Reading orders for buyers, merchant consoles and the back office. A page of orders with their
lines, discount shares, history, payments and refunds costs six statements whatever its size
(`with_details`)."""

from dataclasses import dataclass

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, NotFound
from app.orders.status import BUYER_TAB_SQL, BuyerStatus

_ORDER = """SELECT o.*, po.expires_at AS payment_deadline, po.payment_channel, m.name AS merchant_name
            FROM orders o JOIN payment_orders po ON po.id = o.payment_order_id
            JOIN merchants m ON m.id = o.merchant_id"""


@dataclass(frozen=True)
class OrderDetails:
    order: asyncpg.Record
    lines: list[asyncpg.Record]
    shares: dict[int, list[asyncpg.Record]]       # order line id → shares
    history: list[asyncpg.Record]
    payments: list[asyncpg.Record]                # of its payment order (one checkout pays all its orders)
    refunds: list[asyncpg.Record]                 # of this order


async def with_details(conn: asyncpg.Connection, orders: list[asyncpg.Record]) -> list[OrderDetails]:
    ids = [o["id"] for o in orders]
    lines = await conn.fetch("SELECT * FROM order_lines WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, position",
                             ids)
    shares = await conn.fetch("SELECT * FROM order_line_shares WHERE order_line_id = ANY($1::bigint[])"
                              " ORDER BY order_line_id, level", [r["id"] for r in lines])
    history = await conn.fetch("SELECT * FROM order_status_history WHERE order_id = ANY($1::bigint[])"
                               " ORDER BY order_id, id", ids)
    payments = await conn.fetch("SELECT * FROM payments WHERE payment_order_id = ANY($1::bigint[]) ORDER BY id",
                                list({o["payment_order_id"] for o in orders}))
    refunds = await conn.fetch("SELECT * FROM refunds WHERE order_id = ANY($1::bigint[]) ORDER BY id", ids)
    by_line: dict[int, list] = {}
    for s in shares:
        by_line.setdefault(s["order_line_id"], []).append(s)
    return [OrderDetails(o, [r for r in lines if r["order_id"] == o["id"]], by_line,
                         [h for h in history if h["order_id"] == o["id"]],
                         [p for p in payments if p["payment_order_id"] == o["payment_order_id"]],
                         [r for r in refunds if r["order_id"] == o["id"]]) for o in orders]


async def buyer_orders(conn: asyncpg.Connection, buyer_id: int, tab: BuyerStatus | None, after_id: int | None,
                       limit: int) -> list[OrderDetails]:
    """A buyer's orders in one tab (or all), newest first."""
    rows = await conn.fetch(
        f"{_ORDER} WHERE o.buyer_id = $1 AND ($2::bigint IS NULL OR o.id < $2) AND {BUYER_TAB_SQL[tab] if tab else 'true'}"
        " ORDER BY o.id DESC LIMIT $3", buyer_id, after_id, limit)
    return await with_details(conn, rows)


async def buyer_tab_counts(conn: asyncpg.Connection, buyer_id: int) -> dict[BuyerStatus, int]:
    columns = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {tab.value.lower()}" for tab, cond in BUYER_TAB_SQL.items())
    row = await conn.fetchrow(f"SELECT {columns} FROM orders o WHERE o.buyer_id = $1", buyer_id)
    return {tab: row[tab.value.lower()] for tab in BUYER_TAB_SQL}


async def merchant_orders(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                          status: str | None, after_id: int | None, limit: int) -> list[OrderDetails]:
    """Merchant staff: their merchant's orders only; admins: any merchant's, or all."""
    if not principal.is_admin:
        merchant_id = principal.merchant_id
    rows = await conn.fetch(
        f"{_ORDER} WHERE ($1::bigint IS NULL OR o.merchant_id = $1) AND ($2::text IS NULL OR o.status = $2)"
        " AND ($3::bigint IS NULL OR o.id < $3) ORDER BY o.id DESC LIMIT $4", merchant_id, status, after_id, limit)
    return await with_details(conn, rows)


async def order_details_of_payment_order(conn: asyncpg.Connection, payment_order_id: int) -> list[OrderDetails]:
    rows = await conn.fetch(f"{_ORDER} WHERE o.payment_order_id = $1 ORDER BY o.id", payment_order_id)
    return await with_details(conn, rows)


async def order_for(conn: asyncpg.Connection, principal: Principal, order_id: int) -> OrderDetails:
    """One order its buyer, its merchant's staff or an admin may read; anyone else: not found."""
    row = await conn.fetchrow(f"{_ORDER} WHERE o.id = $1", order_id)
    if row is None or not _may_read(principal, row):
        raise NotFound.of(CommonError.NOT_FOUND, "order not found", "id")
    [details] = await with_details(conn, [row])
    return details


def _may_read(principal: Principal, order: asyncpg.Record) -> bool:
    if principal.is_buyer:
        return order["buyer_id"] == principal.id
    return principal.can_manage_merchant(order["merchant_id"])
