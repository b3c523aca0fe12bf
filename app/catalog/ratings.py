"""A product's rating (DOMAIN §2 Reviews): the sum and count of its reviews' ratings, kept on
the product row so Product.ratingAverage reads no review. Reviews (app/reviews/) call
`add_rating` in the transaction that writes the review."""

import asyncpg

from app.events import emit


async def add_rating(conn: asyncpg.Connection, product_id: int, rating: int) -> None:
    """One more review of `rating` (1–5). The product event clears cached anonymous answers
    (schema/response_cache.py), which show the rating."""
    merchant_id = await conn.fetchval(
        "UPDATE products SET rating_sum = rating_sum + $2, rating_count = rating_count + 1 WHERE id = $1"
        " RETURNING merchant_id", product_id, rating)
    await emit(conn, "product", "PRODUCT_RATED", {"product_id": product_id, "rating": rating},
               merchant_id=merchant_id)
