"""A shop as other domains need it: one that exists and is open to trade."""

import asyncpg

from app.errors import DomainError, NotFound


async def require_open(conn: asyncpg.Connection, merchant_id: int, *field: str) -> int:
    """`merchant_id` if the shop exists and is OPEN; NOT_FOUND or MERCHANT_NOT_OPEN otherwise."""
    status = await conn.fetchval("SELECT status FROM merchants WHERE id = $1", merchant_id)
    if status is None:
        raise NotFound.of("NOT_FOUND", "merchant not found", *field)
    if status != "OPEN":
        raise DomainError.of("MERCHANT_NOT_OPEN", "the shop is not open", *field)
    return merchant_id
