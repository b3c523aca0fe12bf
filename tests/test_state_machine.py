"""The one status-machine helper: a guarded move, history rows and outbox events, exactly once."""

from enum import StrEnum

import pytest

from app.errors import DomainError
from app.state_machine import StateMachine


class Door(StrEnum):
    SHUT = "SHUT"
    OPEN = "OPEN"
    LOCKED = "LOCKED"


class Act(StrEnum):
    OPEN = "OPEN"
    LOCK = "LOCK"


DOORS = StateMachine[Door, Act](
    noun="door", table="sm_doors", history_table="sm_door_history", history_key="door_id", topic="door",
    transitions={Act.OPEN: (frozenset({Door.SHUT}), Door.OPEN), Act.LOCK: (frozenset({Door.SHUT}), Door.LOCKED)})


@pytest.fixture(scope="module")
async def doors(db):
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE sm_doors (id bigint PRIMARY KEY, status text NOT NULL, merchant_id bigint,"
                           " opened_by text)")
        await conn.execute("CREATE TABLE sm_door_history (door_id bigint, from_status text, to_status text,"
                           " actor text, reason text)")
        await conn.execute("INSERT INTO sm_doors VALUES (1, 'SHUT', 7, NULL), (2, 'SHUT', NULL, NULL),"
                           " (3, 'LOCKED', 7, NULL)")
    return db


def test_target_refuses_a_transition_not_declared():
    assert DOORS.target(Door.SHUT, Act.OPEN) is Door.OPEN
    with pytest.raises(DomainError) as refused:
        DOORS.target(Door.LOCKED, Act.OPEN)
    assert refused.value.problems[0].code == "INVALID_TRANSITION"


async def test_move_changes_only_rows_in_a_source_status_once_with_history_and_events(doors):
    async with doors.transaction() as conn:
        before = await conn.fetchval("SELECT count(*) FROM outbox")
        moved = await DOORS.move(conn, [1, 2, 3], Act.OPEN, actor="staff:1", reason="airing",
                                 sets="opened_by = $4", args=("staff:1",), payload=lambda r: {"was": r["status"]})
        again = await DOORS.move(conn, [1, 2, 3], Act.OPEN, actor="staff:1")
        rows = await conn.fetch("SELECT id, status, opened_by FROM sm_doors ORDER BY id")
        history = await conn.fetch("SELECT * FROM sm_door_history ORDER BY door_id")
        events = await conn.fetch("SELECT event_type, merchant_id, payload FROM outbox WHERE id > $1 ORDER BY id",
                                  before)
    assert [r["id"] for r in moved] == [1, 2] and again == []
    assert [tuple(r) for r in rows] == [(1, "OPEN", "staff:1"), (2, "OPEN", "staff:1"), (3, "LOCKED", None)]
    assert [(h["door_id"], h["from_status"], h["to_status"], h["reason"]) for h in history] == [
        (1, "SHUT", "OPEN", "airing"), (2, "SHUT", "OPEN", "airing")]
    assert [(e["event_type"], e["merchant_id"]) for e in events] == [("DOOR_OPEN", 7), ("DOOR_OPEN", None)]
    assert events[0]["payload"] == {"door_id": 1, "from": "SHUT", "to": "OPEN", "actor": "staff:1",
                                    "reason": "airing", "was": "SHUT"}
