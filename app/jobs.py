"""Enqueueing arq jobs (workers/) from the API or from the outbox relay, always after the commit
that made them necessary. An enqueue that fails is only logged: every job family has a sweeper
that finds the rows a lost enqueue left behind, so nothing is lost.

Jobs started by events (DOMAIN §6: fulfilment "started by the payment event") are declared as
`Reaction`s: the relay hands every published batch to `start_reactions`, which groups it by
event type and calls each reaction of a type once with that type's events of the batch, so a
reaction may start one job for many events (ORDER_PAID → one push job per chunk of shipments,
workers/fulfilment.py) or, wrapped in `per_event`, jobs event by event. Every job goes under a
job id derived from the events alone, so a re-published batch starts nothing twice.
"""

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

from app.events import Event

log = structlog.get_logger(__name__)

# (job function name, its arguments, job id)
JobCall = tuple[str, tuple, str]
# what the events of one type in one published batch start
Reaction = Callable[[Sequence[Event]], Iterable[JobCall]]


def per_event(react: Callable[[Event], Iterable[JobCall]]) -> Reaction:
    """A reaction that looks at one event at a time, as a reaction to a batch."""
    @functools.wraps(react)
    def to_batch(events: Sequence[Event]) -> list[JobCall]:
        return [call for ev in events for call in react(ev)]
    return to_batch


def job_queue(redis: Redis) -> ArqRedis:
    """arq's enqueue over the process's Redis pool (enqueueing writes bytes and reads only
    counters, so the pool's decoded responses do not matter)."""
    return redis if isinstance(redis, ArqRedis) else ArqRedis(connection_pool=redis.connection_pool)


async def enqueue(redis: Redis, function: str, *args, job_id: str) -> None:
    try:
        await job_queue(redis).enqueue_job(function, *args, _job_id=job_id)
    except Exception as exc:  # committed already; a sweeper picks it up
        log.warning("could not enqueue a job", function=function, args=args, error=str(exc))


async def start_reactions(redis: Redis, reactions: Mapping[str, Sequence[Reaction]], events: Sequence[Event]) -> None:
    """Enqueue the jobs `reactions` (event type → what its events start) name for `events`: each
    reaction once, with the events of its type in their published order."""
    by_type: dict[str, list[Event]] = {}
    for ev in events:
        by_type.setdefault(ev.type, []).append(ev)
    for event_type, batch in by_type.items():
        for react in reactions.get(event_type, ()):
            for function, args, job_id in react(batch):
                await enqueue(redis, function, *args, job_id=job_id)
