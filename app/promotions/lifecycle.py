"""Status of promotions and coupon templates (DOMAIN §4.1): DRAFT → ACTIVE ⇄ PAUSED → ENDED.

A merchant's own promotion or coupon goes live when published, unless it asks the platform to
pay part of it (funding PLATFORM or SPLIT): then an operator reviews it first (PENDING_REVIEW →
ACTIVE, or back to DRAFT with a note). Platform ones are run by operators only. Only a DRAFT can
be edited; ENDED is final.

Both kinds run on one `StateMachine` each (app/state_machine.py): a guarded UPDATE, a row in
`promotion_status_history` and an outbox event `<PROMOTION|COUPON>_<STATUS>` per change, so two
operators racing on one promotion cannot both act on the same status. Who may review is declared
on the GraphQL field (operators); this module checks ownership only.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError, NotFound
from app.pricing.model import PromotionStatus
from app.promotions.errors import PromotionError
from app.state_machine import StateMachine

S = PromotionStatus
MAX_NOTE = 500
HISTORY_TABLE = "promotion_status_history"


class Action(StrEnum):
    PUBLISH = "PUBLISH"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    END = "END"


# What the owner does (changePromotionStatus); APPROVE/REJECT are an operator's review.
OWNER_ACTIONS = (Action.PUBLISH, Action.PAUSE, Action.RESUME, Action.END)

# action → (statuses it may start from, status it leads to); PUBLISH of a merchant's promotion
# that asks platform funding leads to PENDING_REVIEW instead (`_target`).
RULES: dict[Action, tuple[frozenset[PromotionStatus], PromotionStatus]] = {
    Action.PUBLISH: (frozenset({S.DRAFT}), S.ACTIVE),
    Action.APPROVE: (frozenset({S.PENDING_REVIEW}), S.ACTIVE),
    Action.REJECT: (frozenset({S.PENDING_REVIEW}), S.DRAFT),
    Action.PAUSE: (frozenset({S.ACTIVE}), S.PAUSED),
    Action.RESUME: (frozenset({S.PAUSED}), S.ACTIVE),
    Action.END: (frozenset({S.DRAFT, S.PENDING_REVIEW, S.ACTIVE, S.PAUSED}), S.ENDED),
}


@dataclass(frozen=True)
class Table:
    """What differs between the two kinds of thing this machine runs."""
    machine: StateMachine[PromotionStatus, Action]
    window_end: str      # the column after which publishing makes no sense

    @property
    def name(self) -> str:
        return self.machine.table

    @property
    def noun(self) -> str:
        return self.machine.noun


def _machine(noun: str, table: str, history_key: str, topic: str) -> StateMachine[PromotionStatus, Action]:
    return StateMachine(noun=noun, table=table, history_table=HISTORY_TABLE, history_key=history_key,
                        topic=topic, transitions=RULES, field="action")


PROMOTIONS = Table(_machine("promotion", "promotions", "promotion_id", "promotion"), "ends_at")
COUPON_TEMPLATES = Table(_machine("coupon", "coupon_templates", "coupon_template_id", "coupon"), "claim_ends_at")


def _target(table: Table, row: asyncpg.Record, action: Action) -> PromotionStatus:
    target = table.machine.target(PromotionStatus(row["status"]), action)
    if action is Action.PUBLISH and row["merchant_id"] is not None and row["funder"] in ("PLATFORM", "SPLIT"):
        return S.PENDING_REVIEW
    return target


async def lock_owned(conn: asyncpg.Connection, table: Table, principal: Principal, pk: int) -> asyncpg.Record:
    """Lock a row the caller may manage. Merchant staff manage their merchant's rows; platform
    rows (merchant_id NULL) and everyone else's look like they do not exist."""
    row = await conn.fetchrow(f"SELECT * FROM {table.name} WHERE id = $1 FOR UPDATE", pk)
    if row is None or not principal.can_manage_merchant(row["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, f"{table.noun} not found", "id")
    return row


def require_draft(row: asyncpg.Record, table: Table) -> None:
    if row["status"] != S.DRAFT:
        raise DomainError.of(PromotionError.NOT_EDITABLE,
                             f"only a draft {table.noun} can be changed; end it and create another", "id")


async def record_created(conn: asyncpg.Connection, table: Table, pk: int, actor: str) -> None:
    """The first history row of a new draft: who created it."""
    await conn.execute(f"INSERT INTO {HISTORY_TABLE} ({table.machine.history_key}, to_status, actor)"
                       " VALUES ($1, $2, $3)", pk, S.DRAFT.value, actor)


async def _move(conn: asyncpg.Connection, table: Table, principal: Principal, pk: int, action: Action,
                note: str, now: datetime) -> PromotionStatus:
    row = await lock_owned(conn, table, principal, pk)
    if len(note) > MAX_NOTE:
        raise DomainError.of(PromotionError.INVALID_NOTE, f"a note is at most {MAX_NOTE} characters", "note")
    target = _target(table, row, action)
    if target in (S.ACTIVE, S.PENDING_REVIEW) and row[table.window_end] <= now:
        raise DomainError.of(PromotionError.WINDOW_OVER, f"the {table.noun}'s window is over", "id")
    rejected = action is Action.REJECT
    sets, args = ("updated_at = now(), review_note = $4", (note,)) if rejected else ("updated_at = now()", ())
    await table.machine.move(conn, [pk], action, actor=principal.subject, reason=note or None, target=target,
                             sets=sets, args=args, payload=lambda r: {"id": r["id"]})
    return target


async def change_status(conn: asyncpg.Connection, table: Table, principal: Principal, pk: int, action: Action,
                        note: str | None, now: datetime) -> PromotionStatus:
    """The owner's PUBLISH, PAUSE, RESUME or END; `note` (optional) is kept in the history."""
    if action not in OWNER_ACTIONS:
        raise DomainError.of(CommonError.INVALID_VALUE, "APPROVE and REJECT are a review", "action")
    return await _move(conn, table, principal, pk, action, (note or "").strip(), now)


async def review(conn: asyncpg.Connection, table: Table, principal: Principal, pk: int, approve: bool,
                 note: str | None, now: datetime) -> PromotionStatus:
    """An operator's decision on a PENDING_REVIEW row: ACTIVE, or back to DRAFT with the reason."""
    note = (note or "").strip()
    if not approve and not note:
        raise DomainError.of(PromotionError.NOTE_REQUIRED, "say why it is sent back", "note")
    return await _move(conn, table, principal, pk, Action.APPROVE if approve else Action.REJECT, note, now)


async def status_history(conn: asyncpg.Connection, table: Table, principal: Principal, pk: int,
                         after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Status changes of a row the caller manages, oldest first (keyset on the history id)."""
    merchant = await conn.fetchrow(f"SELECT merchant_id FROM {table.name} WHERE id = $1", pk)
    if merchant is None or not principal.can_manage_merchant(merchant["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, f"{table.noun} not found", "id")
    return await conn.fetch(
        f"SELECT id, from_status, to_status, actor, reason, created_at FROM {HISTORY_TABLE}"
        f" WHERE {table.machine.history_key} = $1 AND ($2::bigint IS NULL OR id > $2) ORDER BY id LIMIT $3",
        pk, after_id, limit)
