"""Jobs started by events (app/jobs.py): the relay hands each published batch to the reactions,
which enqueue one job per event under a job id, so an event relayed twice starts one job."""

import uuid

from app.events import emit, relay_outbox
from app.jobs import start_reactions


async def test_a_published_event_starts_its_job_once(db, redis):
    marker = uuid.uuid4().hex
    reactions = {f"TEST_{marker}": [lambda ev: [("react_to_test", (ev.payload["n"],), f"test-reaction:{ev.payload['n']}")]]}
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
