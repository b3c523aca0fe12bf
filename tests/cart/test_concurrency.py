"""Many simultaneous adds to one cart: never two lines for a SKU, never a lost increment, never
two lines at one position, never more than a cap."""

import asyncio

import pytest

from tests.cart.helpers import ADD, CART, device, device_token, lines, make_shop, new_buyer, ok, sku_gid

N = 20


@pytest.fixture(scope="module")
async def shop(db):
    return await make_shop(db)


async def add_at_once(gql, skus: list[str], quantity: int, token=None, headers=None) -> list[dict]:
    outs = await asyncio.gather(*(ok(gql, ADD, {"i": {"skuId": sku, "quantity": quantity}}, token, headers)
                                  for sku in skus))
    return [out["addCartLine"] for out in outs]


async def cart_lines(gql, token=None, headers=None) -> list[dict]:
    return lines((await ok(gql, CART, token=token, headers=headers))["cart"])


async def test_concurrent_adds_of_one_sku_make_one_line(gql, db, settings, shop):
    _, token = await new_buyer(db, settings)
    outs = await add_at_once(gql, [shop.gid["plain"]] * N, 1, token)
    assert all(out["userErrors"] == [] and out["warnings"] == [] for out in outs)
    assert [(line["sku"]["id"], line["quantity"]) for line in await cart_lines(gql, token)] == [(shop.gid["plain"], N)]


async def test_concurrent_adds_on_a_new_device_cart(gql, db, shop):
    token = device_token()
    outs = await add_at_once(gql, [shop.gid["plain"]] * N, 2, headers=device(token))
    assert all(out["userErrors"] == [] for out in outs)
    assert [line["quantity"] for line in await cart_lines(gql, headers=device(token))] == [2 * N]
    assert await db.fetchval("SELECT count(*) FROM carts WHERE device_token = $1", token) == 1


async def test_concurrent_adds_stop_at_the_purchase_limit(gql, db, settings, shop):
    _, token = await new_buyer(db, settings)
    outs = await add_at_once(gql, [shop.gid["limited"]] * N, 1, token)
    assert all(out["userErrors"] == [] for out in outs)
    warned = [w for out in outs for w in out["warnings"]]
    assert len(warned) == N - 3 and {(w["code"], w["quantity"]) for w in warned} == {("PURCHASE_LIMIT", 3)}
    assert [line["quantity"] for line in await cart_lines(gql, token)] == [3]


async def test_concurrent_adds_of_different_skus_get_distinct_positions(gql, db, settings, shop):
    _, token = await new_buyer(db, settings)
    skus = [sku_gid(pk) for pk in shop.bulk[:N]]
    outs = await add_at_once(gql, skus, 1, token)
    assert all(out["userErrors"] == [] for out in outs)
    held = await cart_lines(gql, token)
    assert sorted(line["sku"]["id"] for line in held) == sorted(skus)
    assert [line["position"] for line in held] == list(range(1, N + 1))
