"""A cart costs the same few SQL statements whatever its size (batch reads, one loader)."""

import pytest

from tests.cart.helpers import CART, device, device_token, fill_cart, make_shop, new_buyer, ok


@pytest.fixture(scope="module")
async def shop(db):
    return await make_shop(db)


async def statements(gql, token=None, headers=None) -> int:
    data = await ok(gql, CART, token=token, headers=headers)
    assert data["cart"]["lineCount"] > 0
    return int(gql.last_response.headers["x-sql-statements"])


async def test_cart_statements_do_not_grow_with_its_lines(gql, db, settings, shop):
    small_id, small = await new_buyer(db, settings)
    large_id, large = await new_buyer(db, settings)
    # Two merchants and the products' images in both carts.
    await fill_cart(db, "buyer_id", small_id, [shop.pk["case"], *shop.bulk[:4]])
    await fill_cart(db, "buyer_id", large_id, [shop.pk["case"], shop.pk["plain"], *shop.bulk[:48]])
    # lines, SKUs with stock, products, merchants, product images
    assert await statements(gql, small) == await statements(gql, large) == 5


async def test_anonymous_cart_costs_the_same(gql, db, shop):
    token = device_token()
    await fill_cart(db, "device_token", token, shop.bulk[:50])
    assert await statements(gql, headers=device(token)) == 5
