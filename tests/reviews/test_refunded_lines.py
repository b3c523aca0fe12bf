"""Lines refunded through after-sales: every unit refunded ⇒ the line is not reviewed and no
longer holds up the order's review status (whether the refund lands before or after the other
lines' reviews); a partly refunded line is still reviewed. The refund is moved to REFUNDED by
the after-sale domain's own `refund_settled`, as the payment callback does."""

from datetime import UTC, datetime

from app.aftersale import cases
from app.aftersale.units import refunded_units
from app.ids import encode_id
from app.reviews.errors import ReviewError
from tests.reviews.helpers import ORDER, make_order, make_shop
from tests.reviews.test_reviews import codes, review
from tests.uploads.helpers import new_buyer


async def after_sale(db, order, line: int, quantity: int, status: str = "REFUNDING") -> int:
    """A refund-only case of `quantity` units of a line (100 cents each), in `status`."""
    async with db.transaction() as c:
        head = await c.fetchrow("SELECT buyer_id, merchant_id FROM orders WHERE id = $1", order.id)
        case = await c.fetchval(
            "INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, status, before_shipment, reason,"
            " goods_amount) VALUES ($1, $2, $3, 'REFUND_ONLY', $4, false, 'QUALITY_PROBLEM', $5) RETURNING id",
            order.id, head["buyer_id"], head["merchant_id"], status, 100 * quantity)
        taken = await c.fetchval("SELECT coalesce(sum(quantity), 0) FROM after_sale_lines WHERE order_line_id = $1",
                                 line)
        await c.execute("INSERT INTO after_sale_lines (after_sale_id, order_line_id, quantity, units, amount)"
                        " VALUES ($1, $2, $3, $4, $5)", case, line, quantity,
                        list(range(taken, taken + quantity)), 100 * quantity)
    return case


async def settle(db, case: int) -> None:
    async with db.transaction() as c:
        await cases.refund_settled(c, case, datetime.now(UTC), "provider:test")


async def review_status(gql, buyer, order) -> str:
    return (await gql.ok(ORDER, {"id": encode_id("Order", order.id)}, buyer.token))["order"]["reviewStatus"]


async def test_refunded_units_counts_only_refunded_cases(db, settings):
    shop = await make_shop(db, products=2)
    buyer = await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id)
    await db.fetchval("UPDATE order_lines SET quantity = 3 WHERE id = $1", order.lines[0])
    await settle(db, await after_sale(db, order, order.lines[0], 1))
    await settle(db, await after_sale(db, order, order.lines[0], 1))
    await after_sale(db, order, order.lines[1], 1, status="REQUESTED")       # open: nothing refunded yet
    async with db.connection() as c:
        assert await refunded_units(c, [order.lines[0], order.lines[1]]) == {order.lines[0]: 2}
        assert await refunded_units(c, []) == {}


async def test_a_line_refunded_in_full_is_not_reviewed_and_the_other_lines_decide(gql, db, settings):
    shop = await make_shop(db, products=2)
    buyer = await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id)
    await settle(db, await after_sale(db, order, order.lines[1], 1))
    assert await review_status(gql, buyer, order) == "PENDING"     # line 0 is still to review

    refused = await review(gql, buyer.token, order.lines[1], 5)
    assert codes(refused) == [(ReviewError.REFUNDED, ["input", "orderLineId"])]
    assert await db.fetchval("SELECT count(*) FROM reviews WHERE order_id = $1", order.id) == 0

    assert codes(await review(gql, buyer.token, order.lines[0], 4)) == []
    assert await review_status(gql, buyer, order) == "DONE"


async def test_a_full_refund_after_the_other_reviews_finishes_the_order(gql, db, settings):
    shop = await make_shop(db, products=2)
    buyer = await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id)
    case = await after_sale(db, order, order.lines[1], 1)
    assert codes(await review(gql, buyer.token, order.lines[0], 4)) == []
    assert await review_status(gql, buyer, order) == "PENDING"     # line 1's refund is not through yet

    await settle(db, case)
    assert await review_status(gql, buyer, order) == "DONE"
    history = await db.fetch("SELECT reason, actor FROM order_status_history WHERE order_id = $1", order.id)
    assert [(h["reason"], h["actor"]) for h in history] == [("REVIEWED", "provider:test")]


async def test_a_partly_refunded_line_is_still_reviewed(gql, db, settings):
    shop = await make_shop(db, products=1)
    buyer = await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id)
    await db.fetchval("UPDATE order_lines SET quantity = 2 WHERE id = $1", order.lines[0])
    await settle(db, await after_sale(db, order, order.lines[0], 1))
    assert await review_status(gql, buyer, order) == "PENDING"     # one unit kept: the buyer still rates it
    assert codes(await review(gql, buyer.token, order.lines[0], 2)) == []
    assert await review_status(gql, buyer, order) == "DONE"


async def test_a_refund_of_an_order_not_received_leaves_its_review_status(db, settings):
    shop = await make_shop(db, products=2)
    buyer = await new_buyer(db, settings)
    order = await make_order(db, shop, buyer.id, status="SHIPPED")
    await settle(db, await after_sale(db, order, order.lines[0], 1))
    await settle(db, await after_sale(db, order, order.lines[1], 1))
    assert await db.fetchval("SELECT review_status FROM orders WHERE id = $1", order.id) == "PENDING"
