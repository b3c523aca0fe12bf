"""GraphQL for the back office's risk tools (DOMAIN §11): the blacklist placement checks and the
log of every risk decision. Admins only."""

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.risk import blacklist
from app.risk.errors import RiskError
from schema.context import Info
from schema.errors import user_error_type
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import (
    Connection,
    Edge,
    after_id,
    connection_of,
    decode_cursor,
    encode_cursor,
    page_info,
    page_size,
)
from schema.permissions import IsAdmin

RiskUserError = user_error_type("Risk", RiskError)



@strawberry.enum
class BlacklistKind(Enum):
    """app.risk.blacklist.KINDS, spelled out for the type checker (tests/test_api_contract.py keeps
    them equal)."""
    BUYER = "BUYER"
    PHONE = "PHONE"
    ADDRESS = "ADDRESS"
    IP = "IP"
    DEVICE = "DEVICE"


@strawberry.type(description="ADDRESS values are digests of the normalised address (region + street).")
class BlacklistEntry:
    kind: BlacklistKind
    value: str
    reason: str
    created_at: datetime


@strawberry.type(description="One decision with the rule that fired (PASS, BLACKLIST_<KIND>, VELOCITY, AUTH_*, "
                                  "AFTER_SALE_FREQUENT); stage PLACEMENT, PAYMENT or AFTER_SALE.")
class RiskDecision:
    id: strawberry.ID
    stage: str
    buyer_id: strawberry.ID | None
    decision: str
    rule: str
    detail: JSON
    created_at: datetime


@strawberry.input(description="BUYER: `value` is the buyer's id; PHONE, IP, DEVICE: the value; ADDRESS: "
                              "`regionCode` and `detail` as a buyer types them.")
class BlacklistEntryInput:
    kind: BlacklistKind
    value: str | None = None
    region_code: str | None = None
    detail: str | None = None


@strawberry.input
class AddToBlacklistInput:
    entry: BlacklistEntryInput
    reason: str


@strawberry.type
class BlacklistPayload:
    entry: BlacklistEntry | None = None
    removed: bool = False
    user_errors: list[RiskUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


def _entry(i: BlacklistEntryInput, *field: str) -> blacklist.Entry:
    value = str(input_pk("Buyer", i.value or "", *field, "value")) if i.kind.value == "BUYER" else i.value
    return blacklist.Entry(i.kind.value, value, i.region_code, i.detail)


def _blacklisted(r) -> BlacklistEntry:
    return BlacklistEntry(kind=BlacklistKind(r["kind"]), value=r["value"], reason=r["reason"],
                          created_at=r["created_at"])


def _decision(r) -> RiskDecision:
    return RiskDecision(id=gid("RiskDecision", r["id"]), stage=r["stage"], buyer_id=gid("Buyer", r["buyer_id"]),
                        decision=r["decision"], rule=r["rule"], detail=r["detail"], created_at=r["created_at"])


@strawberry.type
class RiskQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="The blacklist, newest entries first (of one kind).")
    async def blacklist(self, info: Info, kind: BlacklistKind | None = None, first: int = 50,
                        after: str | None = None) -> Connection[BlacklistEntry]:
        async def act(conn) -> Connection[BlacklistEntry]:
            size = page_size(first)
            rows = await blacklist.entries(conn, kind.value if kind else None, decode_cursor(after), size + 1)
            shown = rows[:size]
            cursors = [encode_cursor(blacklist.entry_position(r)) for r in shown]
            return Connection(edges=[Edge(node=_blacklisted(r), cursor=c) for r, c in zip(shown, cursors)],
                              page_info=page_info(cursors, len(rows) > size, after))
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description="Every risk decision, newest first.")
    async def risk_decisions(self, info: Info, buyer_id: strawberry.ID | None = None, denied_only: bool = False,
                             first: int = 20, after: str | None = None) -> Connection[RiskDecision]:
        async def act(conn) -> Connection[RiskDecision]:
            size = page_size(first)
            rows = await blacklist.decisions(conn, optional_pk("Buyer", buyer_id, "buyerId"), denied_only,
                                             after_id(after), size + 1)
            return connection_of(rows, size, after, _decision)
        return await query(info, act)


@strawberry.type
class RiskMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Refuse placements matching this entry.")
    async def add_to_blacklist(self, info: Info, input: AddToBlacklistInput) -> BlacklistPayload:
        return await mutate(info, BlacklistPayload,
                            lambda conn, _: blacklist.add(conn, _entry(input.entry, "entry"), input.reason),
                            lambda row: BlacklistPayload(entry=_blacklisted(row)))

    @strawberry.mutation(permission_classes=[IsAdmin], description="`removed: false` when it was not listed.")
    async def remove_from_blacklist(self, info: Info, input: BlacklistEntryInput) -> BlacklistPayload:
        return await mutate(info, BlacklistPayload, lambda conn, _: blacklist.remove(conn, _entry(input)),
                            lambda removed: BlacklistPayload(removed=removed))
