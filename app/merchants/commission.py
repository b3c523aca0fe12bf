"""Commission rates (扣点, DOMAIN §10): per backend category, overridable per merchant; the rate
in force at placement is stored on each order line, so a later change never reprices a sale.
Self-operated shops settle to the platform itself at rate 0 (§10.1)."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg


async def rates_in_force(conn: asyncpg.Connection, merchant_id: int, product_ids: Sequence[int],
                         at: datetime) -> dict[int, Decimal]:
    """The commission rate of each product's sale by the merchant at `at`, by product id."""
    rows = await conn.fetch(
        "SELECT p.id, CASE WHEN m.kind = 'SELF_OPERATED' THEN 0"
        "   ELSE coalesce(r.commission_rate, c.commission_rate) END AS rate"
        " FROM products p JOIN backend_categories c ON c.id = p.category_id JOIN merchants m ON m.id = $1"
        " LEFT JOIN merchant_commission_rates r ON r.merchant_id = m.id AND r.category_id = c.id"
        " WHERE p.id = ANY($2::bigint[])", merchant_id, list(product_ids))
    return {r["id"]: Decimal(r["rate"]) for r in rows}
