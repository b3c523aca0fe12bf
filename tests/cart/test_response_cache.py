"""With the anonymous response cache on, a device's cart is never served from it: the same query
body from two devices, or from one device after a change, gets that device's cart now."""

import pytest

from app.config import Settings
from tests.cart.helpers import ADD, CART, device, device_token, lines, make_shop, ok


@pytest.fixture(scope="module")
def settings(database_url, services) -> Settings:
    return Settings(env="test", database_url=database_url, redis_url=services[1], count_sql=True,
                    log_level="WARNING", response_cache_seconds=60)


@pytest.fixture(scope="module")
async def shop(db):
    return await make_shop(db)


async def quantities(gql, headers) -> list[int]:
    body = await gql(CART, headers=headers)
    assert "x-cache" not in gql.last_response.headers
    return [line["quantity"] for line in lines(body["data"]["cart"])]


async def test_device_carts_bypass_the_anonymous_cache(gql, shop):
    mine, other = device(device_token()), device(device_token())
    assert await quantities(gql, mine) == []
    await ok(gql, ADD, {"i": {"skuId": shop.gid["plain"], "quantity": 2}}, headers=mine)
    assert await quantities(gql, mine) == [2]
    assert await quantities(gql, other) == []
    await ok(gql, ADD, {"i": {"skuId": shop.gid["plain"], "quantity": 1}}, headers=mine)
    assert await quantities(gql, mine) == [3]


async def test_the_cache_is_on_for_other_anonymous_queries(gql):
    await gql("{ __typename }")
    await gql("{ __typename }")
    assert gql.last_response.headers.get("x-cache") == "hit"
