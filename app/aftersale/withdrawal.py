"""Taking a refund-only case's units out of fulfilment before the order ships (DOMAIN §9:
"refund, order line not shipped").

Until fulfilment's `withdraw_units` (app/fulfilment/shipments.py, HTTP to the partner, no
transaction held) lands, orders ship only from the merchant console, which refuses to ship
while an after-sale is open, so withdrawing is giving back the units' stock reservations: one
transaction that also stamps the case withdrawn, so a retried job never releases twice.
"""

import asyncpg
import httpx

from app.aftersale import service
from app.aftersale.status import AfterSaleKind, AfterSaleStatus
from app.catalog import reservations
from app.config import Settings
from app.db import Database


async def withdraw(db: Database, settings: Settings, http: httpx.AsyncClient, case_id: int) -> bool:
    """True: the case's units left fulfilment (now or on an earlier try); False: too late, the
    order shipped."""
    async with db.transaction() as conn:
        case = await service.lock_case(conn, case_id)
        if case is None or case["withdrawn_at"] is not None:
            return True
        if case["status"] != AfterSaleStatus.APPROVED or case["kind"] != AfterSaleKind.REFUND_ONLY:
            return True          # nothing to withdraw for; refund_withdrawn changes nothing
        order = await conn.fetchrow("SELECT status, logistics_status FROM orders WHERE id = $1", case["order_id"])
        if (order["status"], order["logistics_status"]) != ("PAID", "PENDING"):
            return False
        await _release(conn, case_id)
        await conn.execute("UPDATE after_sales SET withdrawn_at = now() WHERE id = $1", case_id)
        return True


async def _release(conn: asyncpg.Connection, case_id: int) -> None:
    for line in await conn.fetch("SELECT order_line_id, quantity FROM after_sale_lines WHERE after_sale_id = $1"
                                 " ORDER BY order_line_id", case_id):
        await reservations.release_units(conn, line["order_line_id"], line["quantity"])
