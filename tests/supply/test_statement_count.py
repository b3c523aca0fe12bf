"""A page of purchase orders or suppliers costs the same statements whatever its size: every
relation is one DataLoader batch."""

import pytest

from app.supply import purchasing
from app.supply.purchasing import Quantity
from app.supply.status import PurchaseOrderAction
from tests.supply.helpers import SECRET, create_supplier, pk, platform_skus, stock_supplier_with, warehouse_id

POS = """query($first: Int!) { purchaseOrders(first: $first) { edges { node {
  id status supplier { id name } lines { id outstanding } receipts { id lines { skuId quantity } }
  history { toStatus } } } } }"""
SUPPLIERS = """query($first: Int!) { suppliers(first: $first) { edges { node {
  id name hasSecret warehouse { id regionCodes } history { toStatus } } } } }"""


@pytest.fixture(scope="module")
async def orders(gql, tokens, db):
    skus = await platform_skus(db, "WAREHOUSE", 2)
    shanghai = await warehouse_id(db, "上海仓")
    for _ in range(6):
        supplier = await stock_supplier_with(gql, tokens, {skus[0]: 100, skus[1]: 200})
        await create_supplier(gql, tokens, kind="DROPSHIP", endpointUrl="sandbox://fulfilment/sc", secret=SECRET,
                              deliveryRegionCodes=["310000"])
        async with db.transaction() as conn:
            po = await purchasing.create_purchase_order(conn, "staff:t", pk("Supplier", supplier["id"]), shanghai,
                                                        [Quantity(skus[0], 5), Quantity(skus[1], 5)])
            await purchasing.change_purchase_order(conn, "staff:t", po["id"], PurchaseOrderAction.SUBMIT)
            await purchasing.receive(conn, "staff:t", po["id"], [Quantity(skus[0], 2)])


async def _statements(gql, tokens, query: str, first: int) -> int:
    body = await gql.ok(query, {"first": first}, tokens["admin"])
    assert len(next(iter(body.values()))["edges"]) == first
    return int(gql.last_response.headers["x-sql-statements"])


async def test_pages_cost_the_same_whatever_their_size(gql, tokens, orders):
    assert await _statements(gql, tokens, POS, 2) == await _statements(gql, tokens, POS, 6) == 1 + 5   # supplier, lines, receipts, their lines, history
    assert await _statements(gql, tokens, SUPPLIERS, 2) == await _statements(gql, tokens, SUPPLIERS, 10) == 1 + 3   # warehouse, its regions, history
