"""A page of after-sales costs the same few SQL statements whatever its size: lines, evidence and
history load through per-request DataLoaders, one statement each."""

from tests.cart.helpers import new_buyer
from tests.payments.helpers import make_goods, place

QUEUE = """query($first: Int!) { afterSales(first: $first) { edges { node {
  id status goodsAmount lines { orderLineId amount } evidence history { toStatus } } } } }"""


async def test_a_page_of_after_sales_costs_the_same_whatever_its_size(gql, db, settings):
    buyer_id, token = await new_buyer(db, settings)
    goods = await make_goods(db, merchants=1)
    async with db.transaction() as conn:
        for _ in range(12):
            po = await place(conn, goods, buyer_id, [2])
            await conn.execute("UPDATE payment_orders SET status = 'PAID' WHERE id = $1", po)
            order = await conn.fetchrow("UPDATE orders SET status = 'RECEIVED', received_at = now()"
                                        " WHERE payment_order_id = $1 RETURNING id, merchant_id", po)
            line = await conn.fetchval("SELECT id FROM order_lines WHERE order_id = $1", order["id"])
            case = await conn.fetchval(
                "INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, before_shipment, reason, goods_amount)"
                " VALUES ($1, $2, $3, 'RETURN_REFUND', false, 'DAMAGED', 100) RETURNING id", order["id"], buyer_id,
                order["merchant_id"])
            await conn.execute("INSERT INTO after_sale_lines (after_sale_id, order_line_id, quantity, units, amount)"
                               " VALUES ($1, $2, 1, '{0}', 100)", case, line)
            await conn.execute("INSERT INTO after_sale_status_history (after_sale_id, to_status, actor)"
                               " VALUES ($1, 'REQUESTED', $2)", case, f"buyer:{buyer_id}")

    async def statements(first: int) -> int:
        body = await gql.ok(QUEUE, {"first": first}, token)
        assert len(body["afterSales"]["edges"]) == first
        return int(gql.last_response.headers["x-sql-statements"])
    small, large = await statements(3), await statements(12)
    assert small == large == 4                # the page, then lines, evidence, history
