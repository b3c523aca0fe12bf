"""Enqueueing arq jobs (workers/) from the API or from the outbox relay, always after the commit
that made them necessary. An enqueue that fails is only logged: every job family has a sweeper
that finds the rows a lost enqueue left behind, so nothing is lost.

Jobs started by events (DOMAIN §6: fulfilment "started by the payment event") are declared as
`Reaction`s: the relay hands every published batch to `start_reactions`, which enqueues, per
event, the jobs its type names, each under a job id that makes a re-published event start
nothing twice.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis

from app.events import Event

log = structlog.get_logger(__name__)

# (job function name, its arguments, job id)
JobCall = tuple[str, tuple, str]
# what one event starts
Reaction = Callable[[Event], Iterable[JobCall]]


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
    """Enqueue the jobs `reactions` (event type → what it starts) name for `events`."""
    for ev in events:
        for react in reactions.get(ev.type, ()):
            for function, args, job_id in react(ev):
                await enqueue(redis, function, *args, job_id=job_id)
