"""Points and levels as the buyer sees them, and the level reaching member prices."""

import asyncio
from datetime import UTC, datetime

from app.orders import service
from tests.accounts.helpers import merchant, new_buyer, order
from tests.checkout.helpers import PREVIEW, lines_input, make_market

ME = """query($after: String) { me { points lifetimePoints memberLevel
  pointsHistory(first: 1, after: $after) { edges { node { kind points levelAfter orderId } cursor }
                                           pageInfo { hasNextPage endCursor } } } }"""
ADD = """mutation($i: AddAddressInput!) { addAddress(input: $i) { address { id isDefault } userErrors { code } } }"""


async def _complete(db):
    async with db.transaction() as conn:
        await service.complete_due(conn, datetime.now(UTC), datetime.now(UTC))


async def test_me_shows_points_level_and_history_and_the_level_gives_member_prices(gql, db, settings):
    market = await make_market(db)
    buyer_id, token = await new_buyer(db, settings)
    a1 = lines_input((market.sku["a1"], 1))            # 200.00, member price 180.00 from level 1
    before = (await gql.ok(PREVIEW, {"i": {"lines": a1}}, token))["checkoutPreview"]
    assert before["lines"][0]["unitPrice"] == 20000
    shop = await merchant(db)
    await order(db, buyer_id, shop, 70_000)
    await _complete(db)
    await order(db, buyer_id, shop, 30_099)
    await _complete(db)
    first = (await gql.ok(ME, token=token))["me"]
    assert (first["points"], first["lifetimePoints"], first["memberLevel"]) == (1000, 1000, 1)
    page = first["pointsHistory"]
    assert [(e["node"]["kind"], e["node"]["points"], e["node"]["levelAfter"]) for e in page["edges"]] == [
        ("ORDER_COMPLETED", 300, 1)]                                        # newest first
    assert page["pageInfo"]["hasNextPage"]
    second = (await gql.ok(ME, {"after": page["pageInfo"]["endCursor"]}, token))["me"]["pointsHistory"]
    assert [(e["node"]["points"], e["node"]["levelAfter"]) for e in second["edges"]] == [(700, 0)]
    after = (await gql.ok(PREVIEW, {"i": {"lines": a1}}, token))["checkoutPreview"]
    assert after["lines"][0]["unitPrice"] == 18000                          # the member price now


async def test_staff_have_no_points_or_addresses(gql, tokens):
    me = (await gql.ok("{ me { points memberLevel addresses { id } defaultAddress { id } pointsHistory { edges "
                       "{ cursor } } } }", token=tokens["admin"]))["me"]
    assert me == {"points": None, "memberLevel": None, "addresses": [], "defaultAddress": None,
                  "pointsHistory": None}


async def test_parallel_adds_leave_one_default_and_respect_the_limit(gql, db, settings):
    _, token = await new_buyer(db, settings)
    address = {"receiver": "王五", "phone": "13700000000", "regionCode": "310101", "detail": "南京东路 1 号",
               "makeDefault": True}
    outs = await asyncio.gather(*(gql.ok(ADD, {"i": address}, token) for _ in range(25)))
    added = [o["addAddress"] for o in outs if not o["addAddress"]["userErrors"]]
    assert len(added) == 20
    me = (await gql.ok("{ me { addresses { isDefault } } }", token=token))["me"]["addresses"]
    assert len(me) == 20 and sum(a["isDefault"] for a in me) == 1
