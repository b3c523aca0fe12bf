"""Shared by the end-to-end tests: a real uvicorn server on a free port with the outbox relay the
worker would run, an HTTP GraphQL client, and websocket subscribers speaking graphql-transport-ws.

Other test runs may share the Redis server (pub/sub channels ignore the database number), so
subscribers skip events of objects their test did not make instead of expecting silence.
"""

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from websockets.asyncio.client import connect

from app.config import Settings
from app.events import CHANNEL_PREFIX, Event
from tests.conftest import GraphQLClient
from tests.servers import free_port, relaying, serving

PRODUCT_EVENTS = "subscription { productEvents { eventId type productId merchantId payload } }"
WAIT = 10  # seconds; generous for a loaded machine, never reached when things work


@pytest.fixture(scope="module")
def settings(database_url, services) -> Settings:
    """The server's own address in the settings, so the sandbox provider can call it back."""
    return Settings(env="test", database_url=database_url, redis_url=services[1], log_level="WARNING",
                    register_attempts_per_ip=10_000, sms_codes_per_ip=10_000, response_cache_seconds=0, host="127.0.0.1",
                    port=free_port())


@pytest.fixture(scope="module")
async def server(settings, db, redis):
    """uvicorn serving the app in this event loop, plus the outbox relay the worker would run."""
    async with serving(settings), relaying(db, redis, settings, 0.2):
        yield settings.port


@pytest.fixture(scope="module")
async def http(server):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server}", timeout=WAIT) as client:
        yield GraphQLClient(client)


class Subscriber:
    """One websocket with one subscription to `field` (productEvents, merchantOrderEvents…)."""

    def __init__(self, ws, field: str, topic: str) -> None:
        self.ws = ws
        self.field = field
        self.topic = topic
        self.received: list[dict] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, port: int, token: str | None, query: str = "", field: str = "productEvents",
                   topic: str = "product"):
        async with connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            payload = {"authorization": f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = await cls._message(ws)
            assert ack["type"] == "connection_ack", ack
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query or PRODUCT_EVENTS}}))
            yield cls(ws, field, topic)

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
        """The first event matching `predicate`; every event seen is kept in `received`."""
        while True:
            msg = await self.next_message()
            assert msg["type"] == "next", msg
            event = msg["payload"]["data"][self.field]
            self.received.append(event)
            if predicate(event):
                return event

    async def ready(self, redis, merchant_id: int) -> None:
        """Publish probes until one arrives, so the subscription is known to be live."""
        marker = uuid.uuid4().hex
        probe = Event(0, self.topic, "TEST_PROBE", merchant_id, {"probe": marker},
                      datetime.now(UTC).isoformat()).to_json()

        async def wait_probe():
            await self.event(lambda e: e["type"] == "TEST_PROBE" and e["payload"]["probe"] == marker)

        waiting = asyncio.create_task(wait_probe())
        try:
            for _ in range(WAIT * 10):
                await redis.publish(CHANNEL_PREFIX + self.topic, probe)
                done, _ = await asyncio.wait({waiting}, timeout=0.1)
                if done:
                    waiting.result()
                    return
            raise AssertionError("subscription never became live")
        finally:
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting


