"""A page of orders costs the same few SQL statements whatever its size, and relations a client
does not select cost nothing (per-request DataLoaders driven by the selection, issue 8 §3.8)."""

import pytest

from tests.cart.helpers import new_buyer
from tests.payments.helpers import add_payment, make_goods, place

WITH_RELATIONS = """query($first: Int!) { myOrders(first: $first) { edges { node {
  id status payable
  lines { id title quantity shares { level amount } }
  history { toStatus actor }
  payments { id amount status }
  refunds { id amount }
} } } }"""
PLAIN = """query($first: Int!) { myOrders(first: $first) { edges { node { id status payable } } } }"""


@pytest.fixture(scope="module")
async def buyer(db, settings) -> str:
    buyer_id, token = await new_buyer(db, settings)
    goods = await make_goods(db, merchants=2)
    async with db.transaction() as conn:
        for _ in range(12):                                  # 24 orders, each with a line and a payment
            await add_payment(conn, await place(conn, goods, buyer_id, [1, 2]))
    return token


async def _statements(gql, query: str, first: int, token: str) -> int:
    body = await gql.ok(query, {"first": first}, token)
    assert len(body["myOrders"]["edges"]) == first
    return int(gql.last_response.headers["x-sql-statements"])


async def test_order_relations_cost_one_statement_each_whatever_the_page_size(gql, buyer):
    small = await _statements(gql, WITH_RELATIONS, 5, buyer)
    large = await _statements(gql, WITH_RELATIONS, 20, buyer)
    plain = await _statements(gql, PLAIN, 20, buyer)
    # the page, then lines, their shares, history, payments and refunds: one statement each
    assert plain == 1                       # the page alone: no relation is loaded unselected
    assert small == large == plain + 5
