"""Live product events end to end: real websocket clients receive what mutations over real HTTP
in other connections caused, through the outbox relay and the real Redis (tests/e2e/conftest.py)."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.catalog.product_helpers import CREATE, act, create_phone, gid, make_catalog, phone_input
from tests.e2e.conftest import WAIT, Subscriber


@pytest.fixture(scope="module")
async def cat(db, tokens):
    return await make_catalog(db)


async def test_merchant_console_receives_its_own_product_events_only(server, http, tokens, cat, redis):
    async with Subscriber.open(server, tokens["acme"]) as acme, \
            Subscriber.open(server, tokens["lumen"]) as lumen, \
            Subscriber.open(server, tokens["admin"]) as back_office:
        await acme.ready(redis, 2)
        await lumen.ready(redis, 3)
        await back_office.ready(redis, 2)

        product = await create_phone(http, tokens["acme"], cat)
        pid = product["id"]
        assert (await act(http, tokens["acme"], "submitProductForReview", pid))["userErrors"] == []
        assert (await act(http, tokens["admin"], "approveProduct", pid))["userErrors"] == []

        approved = await acme.event(lambda e: e["productId"] == pid and e["type"] == "PRODUCT_APPROVED")
        assert approved["merchantId"] == gid("Merchant", 2)
        assert (approved["payload"]["from"], approved["payload"]["to"]) == ("PENDING_REVIEW", "APPROVED")
        assert [e["type"] for e in acme.received if e["productId"] == pid] == [
            "PRODUCT_CREATED", "PRODUCT_SUBMITTED", "PRODUCT_APPROVED"]
        await back_office.event(lambda e: e["productId"] == pid and e["type"] == "PRODUCT_APPROVED")

        # lumen's own later event arrives; acme's earlier ones (same channel, same order) never did
        own = (await http.ok(CREATE, {"i": phone_input(cat)}, token=tokens["lumen"]))["createProduct"]["product"]
        await lumen.event(lambda e: e["productId"] == own["id"])
        assert all(e["productId"] != pid for e in lumen.received)
        assert {e["merchantId"] for e in lumen.received} == {gid("Merchant", 3)}
        await back_office.event(lambda e: e["productId"] == own["id"])


async def test_buyers_and_anonymous_sockets_cannot_subscribe(server, tokens):
    for token, code in ((tokens["buyer"], "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        async with Subscriber.open(server, token) as sub:
            msg = await sub.next_message()
            assert msg["type"] == "error" and msg["payload"][0]["extensions"]["code"] == code


async def test_bad_token_in_connection_init_is_rejected(server):
    async with connect(f"ws://127.0.0.1:{server}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer not.a.token"}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
    assert closed.value.rcvd.code == 4403
