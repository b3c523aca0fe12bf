"""Taking a refund-only case's units out of fulfilment before the order ships (DOMAIN §9:
"refund, order line not shipped"), line by line through fulfilment's `withdraw_units` (which may
call the partner over HTTP: no transaction is held here). Each line's key is
`after-sale:<case>:<line>`, so a retried job gets the first answers back."""

import httpx

from app.aftersale.status import AfterSaleKind, AfterSaleStatus
from app.config import Settings
from app.db import Database
from app.fulfilment.shipments import withdraw_units


async def withdraw(db: Database, settings: Settings, http: httpx.AsyncClient, case_id: int) -> set[int]:
    """The case's order lines whose units left fulfilment (empty: every one had shipped, or the
    case no longer waits for its withdrawal)."""
    case = await db.fetchrow("SELECT status, kind FROM after_sales WHERE id = $1", case_id)
    if case is None or case["status"] != AfterSaleStatus.APPROVED or case["kind"] != AfterSaleKind.REFUND_ONLY:
        return set()
    lines = await db.fetch("SELECT order_line_id, quantity FROM after_sale_lines WHERE after_sale_id = $1"
                           " ORDER BY order_line_id", case_id)
    return {line["order_line_id"] for line in lines
            if await withdraw_units(db, settings, http, f"after-sale:{case_id}:{line['order_line_id']}",
                                    line["order_line_id"], line["quantity"])}
