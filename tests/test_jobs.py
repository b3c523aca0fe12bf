"""Jobs started by events (app/jobs.py): the relay hands each published batch to the reactions,
grouped by type, which enqueue their jobs under job ids, so an event relayed twice starts one job."""

import uuid

from app.events import Event, emit, relay_outbox
from app.jobs import per_event, start_reactions


async def test_a_published_event_starts_its_job_once(db, redis):
    marker = uuid.uuid4().hex
    reactions = {f"TEST_{marker}": [per_event(lambda ev: [("react_to_test", (ev.payload["n"],),
                                                            f"test-reaction:{ev.payload['n']}")])]}
    relayed = []

    async def on_published(events):
        relayed.extend(events)
        await start_reactions(redis, reactions, events)

    async with db.transaction() as conn:
        await emit(conn, "test", f"TEST_{marker}", {"n": marker})
        await emit(conn, "test", "SOMETHING_ELSE", {"n": marker})
    while await relay_outbox(db, redis, on_published=on_published):
        pass
    assert [e.type for e in relayed if e.payload.get("n") == marker] == [f"TEST_{marker}", "SOMETHING_ELSE"]
    job_id = f"test-reaction:{marker}"
    queued = [j for j in await redis.zrange("arq:queue", 0, -1) if marker in j]
    assert queued == [job_id] and await redis.exists(f"arq:job:{job_id}")
    await start_reactions(redis, reactions, [e for e in relayed if e.type == f"TEST_{marker}"])   # relayed again
    assert [j for j in await redis.zrange("arq:queue", 0, -1) if marker in j] == [job_id]
    await redis.delete(f"arq:job:{job_id}")
    await redis.zrem("arq:queue", job_id)


async def test_a_reaction_sees_its_types_events_of_a_batch_at_once(redis):
    """One call per type per batch, the events in published order: what lets one job serve many."""
    seen: list[list[int]] = []

    def react(events):
        seen.append([e.id for e in events])
        return []
    events = [Event(i, "test", kind, None, {}, "") for i, kind in enumerate(["A", "B", "A", "A", "B"])]
    await start_reactions(redis, {"A": [react], "C": [react]}, events)
    assert seen == [[0, 2, 3]]
