"""GraphQL for the back office's risk tools (DOMAIN §11): the blacklist placement checks and the
log of every risk decision. Admins only."""

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from app.ids import encode_id
from app.risk import blacklist
from schema.context import Info
from schema.errors import UserError
from schema.ids import input_pk, optional_pk
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin
from schema.use_cases import change, read

BlacklistKind = strawberry.enum(Enum("BlacklistKind", {k: k for k in blacklist.KINDS}))


@strawberry.type(description="ADDRESS values are digests of the normalised address (region + street).")
class BlacklistEntry:
    kind: BlacklistKind
    value: str
    reason: str
    created_at: datetime


@strawberry.type(description="One decision with the rule that fired (PASS, BLACKLIST_<KIND>, VELOCITY, AUTH_*).")
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
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _entry(i: BlacklistEntryInput, *field: str) -> blacklist.Entry:
    value = str(input_pk("Buyer", i.value or "", *field, "value")) if i.kind.value == "BUYER" else i.value
    return blacklist.Entry(i.kind.value, value, i.region_code, i.detail)


def _blacklisted(r) -> BlacklistEntry:
    return BlacklistEntry(kind=BlacklistKind(r["kind"]), value=r["value"], reason=r["reason"], created_at=r["created_at"])


def _decision(r) -> RiskDecision:
    return RiskDecision(id=strawberry.ID(encode_id("RiskDecision", r["id"])), stage=r["stage"],
                        buyer_id=None if r["buyer_id"] is None else strawberry.ID(encode_id("Buyer", r["buyer_id"])),
                        decision=r["decision"], rule=r["rule"], detail=r["detail"], created_at=r["created_at"])


@strawberry.type
class RiskQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="The newest blacklist entries (of one kind).")
    async def blacklist(self, info: Info, kind: BlacklistKind | None = None, first: int = 50) -> list[BlacklistEntry]:
        first = page_size(first)
        rows = await read(info, lambda conn: blacklist.entries(conn, kind.value if kind else None, first))
        return [_blacklisted(r) for r in rows]

    @strawberry.field(permission_classes=[IsAdmin], description="Every risk decision, newest first.")
    async def risk_decisions(self, info: Info, buyer_id: strawberry.ID | None = None, denied_only: bool = False,
                             first: int = 20, after: str | None = None) -> Connection[RiskDecision]:
        first = page_size(first)
        rows = await read(info, lambda conn: blacklist.decisions(
            conn, optional_pk("Buyer", buyer_id, "buyerId"), denied_only, after_id(after), first + 1))
        return connection_of(rows, first, after, _decision)


@strawberry.type
class RiskMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Refuse placements matching this entry.")
    async def add_to_blacklist(self, info: Info, input: AddToBlacklistInput) -> BlacklistPayload:
        row, errors = await change(info, lambda conn, who: blacklist.add(conn, who, _entry(input.entry, "entry"), input.reason))
        return BlacklistPayload(entry=None if row is None else _blacklisted(row), user_errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description="`removed: false` when it was not listed.")
    async def remove_from_blacklist(self, info: Info, input: BlacklistEntryInput) -> BlacklistPayload:
        removed, errors = await change(info, lambda conn, who: blacklist.remove(conn, who, _entry(input)))
        return BlacklistPayload(removed=bool(removed), user_errors=errors)
