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
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import structlog
from redis.asyncio import Redis

from app.db import Database
from app.outages import Outage, is_unreachable

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


async def emit_many(conn: asyncpg.Connection, topic: str, events: Sequence[tuple[str, dict, int | None]]) -> None:
    """Several events of one topic, (type, payload, merchant id) each, in one statement."""
    if events:
        await conn.execute(
            "INSERT INTO outbox (topic, event_type, payload, merchant_id)"
            " SELECT $1, * FROM unnest($2::text[], $3::jsonb[], $4::bigint[])",
            topic, [e[0] for e in events], [e[1] for e in events], [e[2] for e in events])


# called with each published batch before it is marked published (the worker starts the jobs
# events react to: app/jobs.py `start_reactions`); it must not raise
OnPublished = Callable[[list["Event"]], Awaitable[None]]


async def relay_outbox(db: Database, redis: Redis, batch_size: int = 500, on_published: OnPublished | None = None) -> int:
    """Publish one batch of unpublished events; returns how many were published."""
    async with db.transaction() as conn:
        rows = await conn.fetch(
            "SELECT id, topic, event_type, merchant_id, payload, created_at FROM outbox"
            " WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", batch_size)
        if not rows:
            return 0
        events = [Event(r["id"], r["topic"], r["event_type"], r["merchant_id"], r["payload"], _iso(r["created_at"]))
                  for r in rows]
        async with redis.pipeline(transaction=False) as pipe:
            for ev in events:
                pipe.publish(CHANNEL_PREFIX + ev.topic, ev.to_json())
            await pipe.execute()
        if on_published is not None:
            await on_published(events)
        await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                           [r["id"] for r in rows])
        return len(rows)


def _iso(ts: datetime) -> str:
    return ts.isoformat()


async def run_outbox_relay(db: Database, redis: Redis, dsn: str, poll_seconds: float,
                           on_published: OnPublished | None = None) -> None:
    """Relay forever: wake on the outbox trigger's NOTIFY, and poll as a safety net. PostgreSQL
    or Redis going away pauses it (retried with backoff, logged once per outage); nothing else
    stops it but cancellation."""
    wake = asyncio.Event()
    listener: asyncpg.Connection | None = None
    outage = Outage("outbox relay")
    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await asyncpg.connect(dsn, timeout=5)
                    await listener.add_listener("outbox", lambda *_: wake.set())
                while await relay_outbox(db, redis, on_published=on_published):
                    pass
                outage.recovered()
            except Exception as exc:  # a lost listener is noticed (closed) and replaced above
                if is_unreachable(exc):
                    await outage.wait(exc)
                else:  # a bug: visible every time, but it must not end the relay either
                    log.exception("outbox relay failed; retrying")
                    await asyncio.sleep(outage.max_delay)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), poll_seconds)
            wake.clear()
    finally:
        if listener is not None and not listener.is_closed():
            listener.terminate()


class StreamInterrupted(Exception):
    """The pub/sub connection was lost: events may have been missed since the subscriber joined."""


_INTERRUPTED = object()  # queued to a subscriber in place of an event


class Subscription:
    """One subscriber's bounded queue: a slow consumer loses its oldest events, never blocks
    the reader."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue = asyncio.Queue(size)

    def put(self, item) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(item)

    async def next(self) -> Event:
        """The next event; raises `StreamInterrupted` when some may have been lost."""
        item = await self._queue.get()
        if item is _INTERRUPTED:
            raise StreamInterrupted
        return item


class Broadcaster:
    """One Redis pub/sub reader per process, fanned out to bounded per-subscriber queues.

    Pub/sub forgets what it published while the reader was away, so every subscriber present
    when the connection drops, or that joined before it was back, is told (`StreamInterrupted`
    from `listen`) instead of silently missing events (docs/DECISIONS.md, "Resilience")."""

    def __init__(self, redis: Redis, queue_size: int = 1000) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self._interruption_listeners: list[Callable[[], None]] = []
        self._task: asyncio.Task | None = None

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        """Call `callback` (synchronously, so keep it cheap) for every event of every topic."""
        self._listeners.append(callback)

    def add_interruption_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever events may have been missed (the pub/sub connection dropped)."""
        self._interruption_listeners.append(callback)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._read_forever(), name="broadcaster")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read_forever(self) -> None:
        outage = Outage("event broadcaster")
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                async for msg in pubsub.listen():
                    if msg["type"] == "pmessage":
                        self._fan_out(msg["channel"][len(CHANNEL_PREFIX):], msg["data"])
                    elif msg["type"] == "psubscribe":  # live from here on; whoever joined before may have missed some
                        self._interrupt()
                        outage.recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarts must not kill the reader
                self._interrupt()
                if is_unreachable(exc):
                    await outage.wait(exc)
                else:
                    log.exception("broadcaster failed; reconnecting")
                    await asyncio.sleep(outage.max_delay)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _interrupt(self) -> None:
        for callback in self._interruption_listeners:
            callback()
        for subscriptions in self._subscribers.values():
            for sub in subscriptions:
                sub.put(_INTERRUPTED)

    def _fan_out(self, topic: str, data: str) -> None:
        subscriptions = self._subscribers.get(topic)
        if not subscriptions and not self._listeners:
            return
        event = Event.from_json(data)
        for listener in self._listeners:
            listener(event)
        for sub in subscriptions or ():
            sub.put(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        sub = Subscription(self._queue_size)
        self._subscribers.setdefault(topic, set()).add(sub)
        try:
            yield sub
        finally:
            self._subscribers[topic].discard(sub)
