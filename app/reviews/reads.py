"""Reading reviews: a product's (public), a buyer's own, a merchant console's. One statement a
page, images and the reviewer's nickname included."""

import asyncpg

from app.auth.principal import Principal

_REVIEW = """SELECT r.*, b.nickname,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'width', u.width, 'height', u.height)
                                  ORDER BY i.position)
                 FROM review_images i JOIN uploads u ON u.id = i.upload_id WHERE i.review_id = r.id),
                '[]'::jsonb) AS images
       FROM reviews r JOIN buyers b ON b.id = r.buyer_id"""


async def product_reviews(conn: asyncpg.Connection, product_id: int, after_id: int | None,
                          limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_REVIEW} WHERE r.product_id = $1 AND ($2::bigint IS NULL OR r.id < $2)"
                            " ORDER BY r.id DESC LIMIT $3", product_id, after_id, limit)


async def buyer_reviews(conn: asyncpg.Connection, buyer_id: int, after_id: int | None,
                        limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_REVIEW} WHERE r.buyer_id = $1 AND ($2::bigint IS NULL OR r.id < $2)"
                            " ORDER BY r.id DESC LIMIT $3", buyer_id, after_id, limit)


async def merchant_reviews(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                           unreplied: bool, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Merchant staff: their merchant's reviews only; admins: `merchant_id`'s, or all."""
    if not principal.is_admin:
        merchant_id = principal.merchant_id
    return await conn.fetch(
        f"{_REVIEW} WHERE ($1::bigint IS NULL OR r.merchant_id = $1) AND (NOT $2 OR r.reply IS NULL)"
        " AND ($3::bigint IS NULL OR r.id < $3) ORDER BY r.id DESC LIMIT $4",
        merchant_id, unreplied, after_id, limit)


async def review(conn: asyncpg.Connection, review_id: int) -> asyncpg.Record:
    return await conn.fetchrow(f"{_REVIEW} WHERE r.id = $1", review_id)


async def merchant_rating_totals(conn: asyncpg.Connection, merchant_id: int, since) -> tuple[int, int]:
    """(reviews, sum of their ratings) of a merchant's reviews written since `since` (the
    merchant score, app/payouts/console.py)."""
    row = await conn.fetchrow("SELECT count(*) AS n, coalesce(sum(rating), 0) AS total FROM reviews"
                              " WHERE merchant_id = $1 AND created_at >= $2", merchant_id, since)
    return int(row["n"]), int(row["total"])
