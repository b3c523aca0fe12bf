"""A shop as other domains need it: one that exists, is open to trade, and the categories it
may sell in (`merchant_categories`, granted at onboarding).

Self-operated shops (the platform's own, `merchants.kind = 'SELF_OPERATED'`) sell in every
category. A marketplace shop sells in the categories granted to it and their subcategories,
whoever writes the product: an admin creating a product for a shop is bound by the shop's
categories too, since it is the shop that sells it.
"""

from collections.abc import Sequence

import asyncpg

from app.errors import CommonError, DomainError, NotFound
from app.merchants.errors import ShopError


async def require_open(conn: asyncpg.Connection, merchant_id: int, *field: str) -> int:
    """`merchant_id` if the shop exists and is OPEN; NOT_FOUND or MERCHANT_NOT_OPEN otherwise."""
    status = await conn.fetchval("SELECT status FROM merchants WHERE id = $1", merchant_id)
    if status is None:
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", *field)
    if status != "OPEN":
        raise DomainError.of(ShopError.MERCHANT_NOT_OPEN, "the shop is not open", *field)
    return merchant_id


async def sells_in(conn: asyncpg.Connection, merchant_id: int, category_path: Sequence[int]) -> bool:
    """Whether the shop may sell in the category whose path (root … leaf) is `category_path`."""
    return await conn.fetchval(
        "SELECT m.kind = 'SELF_OPERATED' OR EXISTS (SELECT 1 FROM merchant_categories mc"
        "  WHERE mc.merchant_id = m.id AND mc.category_id = ANY($2::bigint[]))"
        " FROM merchants m WHERE m.id = $1", merchant_id, list(category_path)) or False


async def require_sells_in(conn: asyncpg.Connection, merchant_id: int, category_path: Sequence[int],
                           *field: str) -> None:
    if not await sells_in(conn, merchant_id, category_path):
        raise DomainError.of(ShopError.CATEGORY_NOT_ALLOWED, "the shop may not sell in this category", *field)
