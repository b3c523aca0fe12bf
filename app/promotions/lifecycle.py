"""Status of promotions and coupon templates (DOMAIN §4.1): DRAFT → ACTIVE ⇄ PAUSED → ENDED.

A merchant's own promotion or coupon goes live when published, unless it asks the platform to
pay part of it (funding PLATFORM or SPLIT): then an operator reviews it first (PENDING_REVIEW →
ACTIVE, or back to DRAFT with a note). Platform ones are run by operators only. Only a DRAFT can
be edited; ENDED is final. Every change is one conditional UPDATE, so two operators racing on one
promotion cannot both act on the same status, and it emits an outbox event.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

from app.auth.principal import Principal
from app.errors import DomainError, Forbidden, NotFound
from app.events import emit
from app.pricing.model import PromotionStatus

S = PromotionStatus


class Action(StrEnum):
    PUBLISH = "PUBLISH"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    END = "END"


# action → (statuses it may start from, status it leads to)
RULES: dict[Action, tuple[frozenset[PromotionStatus], PromotionStatus]] = {
    Action.PUBLISH: (frozenset({S.DRAFT}), S.ACTIVE),
    Action.APPROVE: (frozenset({S.PENDING_REVIEW}), S.ACTIVE),
    Action.REJECT: (frozenset({S.PENDING_REVIEW}), S.DRAFT),
    Action.PAUSE: (frozenset({S.ACTIVE}), S.PAUSED),
    Action.RESUME: (frozenset({S.PAUSED}), S.ACTIVE),
    Action.END: (frozenset({S.DRAFT, S.PENDING_REVIEW, S.ACTIVE, S.PAUSED}), S.ENDED),
}
ADMIN_ONLY = {Action.APPROVE, Action.REJECT}


@dataclass(frozen=True)
class Table:
    """What differs between the two kinds of thing this machine runs."""
    name: str            # promotions | coupon_templates
    noun: str            # for messages and error fields
    topic: str           # outbox topic
    window_end: str      # the column after which publishing makes no sense


PROMOTIONS = Table("promotions", "promotion", "promotion", "ends_at")
COUPON_TEMPLATES = Table("coupon_templates", "coupon", "coupon", "claim_ends_at")


def target_status(current: PromotionStatus, action: Action, merchant_id: int | None, funder: str | None
                  ) -> PromotionStatus:
    allowed_from, target = RULES[action]
    if current not in allowed_from:
        raise DomainError.of("INVALID_TRANSITION", f"cannot {action.value.lower()} when {current.value}", "action")
    if action is Action.PUBLISH and merchant_id is not None and funder in ("PLATFORM", "SPLIT"):
        return S.PENDING_REVIEW
    return target


async def lock_owned(conn: asyncpg.Connection, table: Table, principal: Principal, pk: int) -> asyncpg.Record:
    """Lock a row the caller may manage. Merchant staff manage their merchant's rows; platform
    rows (merchant_id NULL) and everyone else's look like they do not exist."""
    row = await conn.fetchrow(f"SELECT * FROM {table.name} WHERE id = $1 FOR UPDATE", pk)
    if row is None or not principal.can_manage_merchant(row["merchant_id"]):
        raise NotFound.of("NOT_FOUND", f"{table.noun} not found", "id")
    return row


def require_draft(row: asyncpg.Record, table: Table) -> None:
    if row["status"] != S.DRAFT:
        raise DomainError.of("NOT_EDITABLE", f"only a draft {table.noun} can be changed; end it and create another",
                             "id")


async def change_status(conn: asyncpg.Connection, table: Table, principal: Principal, pk: int, action: Action,
                        note: str | None, now: datetime) -> PromotionStatus:
    row = await lock_owned(conn, table, principal, pk)
    if action in ADMIN_ONLY and not principal.is_admin:
        raise Forbidden.of("FORBIDDEN", f"only platform operators review a {table.noun}", "action")
    note = (note or "").strip()
    if action is Action.REJECT and not note:
        raise DomainError.of("NOTE_REQUIRED", "say why it is sent back", "note")
    if len(note) > 500:
        raise DomainError.of("INVALID_NOTE", "a note is at most 500 characters", "note")
    current = PromotionStatus(row["status"])
    target = target_status(current, action, row["merchant_id"], row["funder"])
    if target in (S.ACTIVE, S.PENDING_REVIEW) and row[table.window_end] <= now:
        raise DomainError.of("WINDOW_OVER", f"the {table.noun}'s window is over", "id")
    await conn.execute(
        f"UPDATE {table.name} SET status = $2, updated_at = now(),"
        " review_note = CASE WHEN $3 = 'REJECT' THEN $4 ELSE review_note END WHERE id = $1",
        pk, target, action, note)
    await emit(conn, table.topic, f"{table.topic.upper()}_{target.value}",
               {"id": pk, "from": current, "to": target, "actor": principal.subject, "note": note},
               merchant_id=row["merchant_id"])
    return target
