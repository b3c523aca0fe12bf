"""Live product events end to end: a real uvicorn server on a free port, real websocket clients
speaking graphql-transport-ws, mutations over real HTTP in other connections, and the outbox
relay publishing through the real Redis.

Other test runs may share the Redis server (pub/sub channels ignore the database number), so
subscribers skip events of products these tests did not make instead of expecting silence.
"""

import asyncio
import contextlib
import json
import socket
import uuid
from datetime import datetime, timezone

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.events import CHANNEL_PREFIX, Event, run_outbox_relay
from schema.server import create_app
from tests.catalog.product_helpers import CREATE, act, create_phone, gid, make_catalog, phone_input
from tests.conftest import GraphQLClient

SUBSCRIPTION = "subscription { productEvents { eventId type productId merchantId payload } }"
WAIT = 10  # seconds; generous for a loaded machine, never reached when things work


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
async def server(settings, db, redis):
    """uvicorn serving the app in this event loop, plus the outbox relay the worker would run."""
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(uv.serve())
    while not uv.started:
        assert not serving.done(), "server failed to start"
        await asyncio.sleep(0.02)
    relay = asyncio.create_task(run_outbox_relay(db, redis, settings.database_url, 0.2))
    try:
        yield port
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        uv.should_exit = True
        await serving


@pytest.fixture(scope="module")
async def http(server):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server}", timeout=WAIT) as client:
        yield GraphQLClient(client)


@pytest.fixture(scope="module")
async def cat(db, tokens):
    return await make_catalog(db)


class Subscriber:
    """One websocket with one productEvents subscription."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.received: list[dict] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, port: int, token: str | None):
        async with connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            payload = {"authorization": f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = await cls._message(ws)
            assert ack["type"] == "connection_ack", ack
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
            yield cls(ws)

    @staticmethod
    async def _message(ws) -> dict:
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
            if msg["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            return msg

    async def next_message(self) -> dict:
        return await self._message(self.ws)

    async def event(self, predicate) -> dict:
        """The first product event matching `predicate`; every event seen is kept in `received`."""
        while True:
            msg = await self.next_message()
            assert msg["type"] == "next", msg
            event = msg["payload"]["data"]["productEvents"]
            self.received.append(event)
            if predicate(event):
                return event

    async def ready(self, redis, merchant_id: int) -> None:
        """Publish probes until one arrives, so the subscription is known to be live."""
        marker = uuid.uuid4().hex
        probe = Event(0, "product", "TEST_PROBE", merchant_id, {"probe": marker},
                      datetime.now(timezone.utc).isoformat()).to_json()

        async def wait_probe():
            await self.event(lambda e: e["type"] == "TEST_PROBE" and e["payload"]["probe"] == marker)

        waiting = asyncio.create_task(wait_probe())
        try:
            for _ in range(WAIT * 10):
                await redis.publish(CHANNEL_PREFIX + "product", probe)
                done, _ = await asyncio.wait({waiting}, timeout=0.1)
                if done:
                    waiting.result()
                    return
            raise AssertionError("subscription never became live")
        finally:
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting


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
