"""The event stream (DOMAIN §12): a transactional outbox relayed to Redis pub/sub.

- `emit` writes an outbox row inside the caller's transaction: no event without its change,
  no change without its event.
- `relay_outbox` (run by the worker) claims unpublished rows with SKIP LOCKED, publishes each
  to `events:<topic>` and marks it published, so several relays never publish a row twice.
- `Broadcaster` holds one pub/sub connection per API process and fans messages out to
  subscription resolvers through bounded queues (../shared/STACK.md §1).
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog
from redis.asyncio import Redis

from app.db import Database

log = structlog.get_logger(__name__)

CHANNEL_PREFIX = "events:"


@dataclass(frozen=True)
class Event:
    id: int
    topic: str
    type: str
    merchant_id: int | None
    payload: dict
    created_at: str

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "topic": self.topic, "type": self.type,
                           "merchant_id": self.merchant_id, "payload": self.payload,
                           "created_at": self.created_at})

    @classmethod
    def from_json(cls, raw: str) -> "Event":
        d = json.loads(raw)
        return cls(d["id"], d["topic"], d["type"], d["merchant_id"], d["payload"], d["created_at"])


async def emit(conn: asyncpg.Connection, topic: str, event_type: str, payload: dict,
               merchant_id: int | None = None) -> None:
    await conn.execute(
        "INSERT INTO outbox (topic, event_type, merchant_id, payload) VALUES ($1, $2, $3, $4)",
        topic, event_type, merchant_id, payload)


async def emit_many(conn: asyncpg.Connection, topic: str, events: list[tuple[str, dict, int | None]]) -> None:
    """Several events of one topic, (type, payload, merchant id) each, in one statement."""
    if events:
        await conn.execute(
            "INSERT INTO outbox (topic, event_type, payload, merchant_id)"
            " SELECT $1, * FROM unnest($2::text[], $3::jsonb[], $4::bigint[])",
            topic, [e[0] for e in events], [e[1] for e in events], [e[2] for e in events])


async def relay_outbox(db: Database, redis: Redis, batch_size: int = 500) -> int:
    """Publish one batch of unpublished events; returns how many were published."""
    async with db.transaction() as conn:
        rows = await conn.fetch(
            "SELECT id, topic, event_type, merchant_id, payload, created_at FROM outbox"
            " WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", batch_size)
        if not rows:
            return 0
        async with redis.pipeline(transaction=False) as pipe:
            for r in rows:
                ev = Event(r["id"], r["topic"], r["event_type"], r["merchant_id"], r["payload"],
                           _iso(r["created_at"]))
                pipe.publish(CHANNEL_PREFIX + r["topic"], ev.to_json())
            await pipe.execute()
        await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                           [r["id"] for r in rows])
        return len(rows)


def _iso(ts: datetime) -> str:
    return ts.isoformat()


async def run_outbox_relay(db: Database, redis: Redis, dsn: str, poll_seconds: float) -> None:
    """Relay forever: wake on the outbox trigger's NOTIFY, and poll as a safety net."""
    wake = asyncio.Event()
    listener: asyncpg.Connection | None = None
    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await asyncpg.connect(dsn)
                    await listener.add_listener("outbox", lambda *_: wake.set())
                while await relay_outbox(db, redis):
                    pass
            except (OSError, asyncpg.PostgresError, ConnectionError) as exc:
                log.warning("outbox relay error; retrying", error=str(exc))
                listener = None
                await asyncio.sleep(1)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), poll_seconds)
            wake.clear()
    finally:
        if listener is not None and not listener.is_closed():
            await listener.close()


class Broadcaster:
    """One Redis pub/sub reader per process, fanned out to bounded per-subscriber queues."""

    def __init__(self, redis: Redis, queue_size: int = 1000) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue]] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self._task: asyncio.Task | None = None

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        """Call `callback` (synchronously, so keep it cheap) for every event of every topic."""
        self._listeners.append(callback)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._read_forever(), name="broadcaster")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read_forever(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                backoff = 0.1
                async for msg in pubsub.listen():
                    if msg["type"] == "pmessage":
                        self._fan_out(msg["channel"][len(CHANNEL_PREFIX):], msg["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarts must not kill live subscriptions
                log.warning("broadcaster lost redis; reconnecting", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _fan_out(self, topic: str, data: str) -> None:
        queues = self._subscribers.get(topic)
        if not queues and not self._listeners:
            return
        event = Event.from_json(data)
        for listener in self._listeners:
            listener(event)
        for q in queues or ():
            if q.full():  # a slow consumer loses its oldest message, never blocks the reader
                q.get_nowait()
            q.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue]:
        q: asyncio.Queue = asyncio.Queue(self._queue_size)
        self._subscribers.setdefault(topic, set()).add(q)
        try:
            yield q
        finally:
            self._subscribers[topic].discard(q)

    async def listen(self, topic: str) -> AsyncIterator[Event]:
        async with self.subscribe(topic) as q:
            while True:
                yield await q.get()
