"""The one status-machine helper: orders, products, promotions and every stateful thing to come
(shipments, after-sales, loans, withdrawals) declare their transitions as data and move through
`StateMachine.move`.

A move is one guarded statement, `UPDATE … WHERE id = ANY($ids) AND status = ANY($sources)` on
rows it locks, so a change applied twice — a retried job, a duplicate callback, two operators at
once — has exactly one effect: the second finds the status moved on and changes nothing. In the
same transaction every row moved gets a history row and an outbox event `<TOPIC>_<TARGET>`.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import asyncpg

from app.errors import CommonError, DomainError
from app.events import emit_many

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)


@dataclass(frozen=True)
class StateMachine(Generic[S, A]):
    noun: str                                       # for messages: "order"
    table: str                                      # rows with `id` and `status` columns
    history_table: str                              # (<history_key>, from_status, to_status, actor, reason)
    history_key: str                                # e.g. "order_id"
    topic: str                                      # outbox topic; events are <TOPIC>_<TARGET>
    transitions: Mapping[A, tuple[frozenset[S], S]]  # action → (statuses it leaves, status it leads to)
    field: str = "id"                               # input field an invalid transition is reported at
    events: Mapping[A, str] = dataclass_field(default_factory=dict)  # event type of an action, if not <TOPIC>_<TARGET>
    merchant_column: str = "merchant_id"            # the row's column naming whose console sees its events

    def target(self, current: S, action: A) -> S:
        """The status `action` leads to from `current`, or INVALID_TRANSITION."""
        sources, target = self.transitions[action]
        if current not in sources:
            raise DomainError.of(CommonError.INVALID_TRANSITION,
                                 f"cannot {action.value.lower()} a {self.noun} that is {current.value}",
                                 self.field)
        return target

    def sources(self, action: A) -> frozenset[S]:
        return self.transitions[action][0]

    async def move(self, conn: asyncpg.Connection, ids: Sequence[int], action: A, *, actor: str,
                   reason: str | None = None, target: S | None = None, sets: str = "", args: tuple = (),
                   only_if: str = "true",
                   payload: Callable[[asyncpg.Record], dict[str, Any]] | None = None) -> list[asyncpg.Record]:
        """Move the rows of `ids` still in a status `action` leaves (and meeting `only_if`, SQL over
        the row) to `target` (the action's own unless a rule picked another), also setting `sets`
        (SQL; its parameters `args` are $4 onwards). Returns the rows as they were before, the ones
        that did not move left out; their history rows and events are written."""
        sources, default = self.transitions[action]
        target = target or default
        extra = f", {sets}" if sets else ""
        rows = await conn.fetch(
            f"""
            WITH before AS (SELECT * FROM {self.table}
                            WHERE id = ANY($1::bigint[]) AND status = ANY($2::text[]) AND {only_if}
                            ORDER BY id FOR UPDATE)
            UPDATE {self.table} t SET status = $3{extra} FROM before WHERE t.id = before.id
            RETURNING before.*
            """, list(ids), [s.value for s in sources], target.value, *args)
        if rows:
            await conn.execute(
                f"INSERT INTO {self.history_table} ({self.history_key}, from_status, to_status, actor, reason)"
                " SELECT id, from_status, $3, $4, $5 FROM unnest($1::bigint[], $2::text[]) AS t(id, from_status)",
                [r["id"] for r in rows], [r["status"] for r in rows], target.value, actor, reason)
            await emit_many(conn, self.topic, [
                (self.events.get(action, f"{self.topic.upper()}_{target.value}"),
                 {self.history_key: r["id"], "from": r["status"], "to": target.value, "actor": actor,
                  "reason": reason, **(payload(r) if payload else {})},
                 r[self.merchant_column] if self.merchant_column in r.keys() else None)
                for r in rows])
        return rows
