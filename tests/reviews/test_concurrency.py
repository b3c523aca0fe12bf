"""Reviews landing at the same moment: the lines of one order reviewed together still finish
the order (its row is locked first), and many reviews of one product add up exactly."""

import asyncio
from datetime import UTC, datetime

from app.reviews.service import create_review
from tests.reviews.helpers import make_order, make_shop
from tests.uploads.helpers import new_buyer


async def _review(db, buyer_id, line, rating):
    async with db.transaction() as conn:
        return await create_review(conn, buyer_id, line, rating, "", [], datetime.now(UTC))


async def test_lines_of_one_order_reviewed_together_finish_it(db, settings):
    shop = await make_shop(db, products=4)
    for _ in range(5):
        buyer = await new_buyer(db, settings)
        order = await make_order(db, shop, buyer.id)
        await asyncio.gather(*(_review(db, buyer.id, line, 4) for line in order.lines))
        assert await db.fetchval("SELECT review_status FROM orders WHERE id = $1", order.id) == "DONE"
        assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = $1"
                                 " AND reason = 'REVIEWED'", order.id) == 1


async def test_many_reviews_of_one_product_add_up(db, settings):
    shop = await make_shop(db, products=1)
    ratings = [1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 5, 5]
    orders = []
    for rating in ratings:
        buyer = await new_buyer(db, settings)
        orders.append((buyer.id, (await make_order(db, shop, buyer.id)).lines[0], rating))
    await asyncio.gather(*(_review(db, b, line, r) for b, line, r in orders))
    assert await db.fetchrow("SELECT rating_sum, rating_count FROM products WHERE id = $1",
                             shop.items[0].product) == (40, 12)
