"""A page of products costs the same few SQL statements whatever its size (DataLoaders), and
over-deep queries are refused before anything runs."""

import pytest

from tests.catalog.test_browse import Catalog, build_catalog

LISTING = """query($first: Int!) { products(search: "zqx", first: $first) {
  totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node {
    id title minPrice maxPrice stockState
    brand { id nameZh }
    frontendCategories { id name }
    backendCategory { id name }
    images { url }
    skus { id price stockState available }
  } } } }"""


@pytest.fixture(scope="module")
async def catalog(db, tokens) -> Catalog:
    return await build_catalog(db)


async def _statements(gql, query, variables, token) -> int:
    await gql.ok(query, variables, token=token)
    return int(gql.last_response.headers["x-sql-statements"])


async def test_listing_statements_do_not_grow_with_the_page(gql, catalog, tokens):
    small = await _statements(gql, LISTING, {"first": 5}, tokens["buyer"])
    large = await _statements(gql, LISTING, {"first": 20}, tokens["buyer"])
    # page, totalCount, brands, frontend categories, backend categories, images, SKUs with stock
    assert small == large == 7


async def test_owner_view_with_stock_per_warehouse_is_constant_too(gql, catalog, tokens):
    query = LISTING.replace("available }", "available stock { onHand warehouse { name } } }")
    small = await _statements(gql, query, {"first": 5}, tokens["admin"])
    large = await _statements(gql, query, {"first": 20}, tokens["admin"])
    assert small == large == 9          # + stock rows, + their warehouses


async def test_product_detail_is_one_statement_per_relation(gql, catalog, tokens):
    query = """query($id: ID!) { product(id: $id) { title brand { nameZh } images { url }
      attributes { name value } salesAttributes { name values { value } } skus { price available } } }"""
    assert await _statements(gql, query, {"id": catalog.gid("x1")}, tokens["buyer"]) == 6


async def test_too_deep_query_is_refused(gql, catalog):
    nested, closing = "children { " * 8, "} " * 8
    deep = f"{{ products(first: 1) {{ edges {{ node {{ backendCategory {{ {nested} name {closing} }} }} }} }} }}"
    body = await gql(deep)
    assert body.get("data") is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    assert gql.last_response.headers["x-sql-statements"] == "0"
