"""GraphQL for reconciliation (对账, docs/reconciliation.md): the back office's runs and
differences, running a day again, resolving a difference with a note, and live events."""

from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import TypeAlias

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.errors import CommonError
from app.events import Event
from app.reconciliation import service
from app.reconciliation.errors import ReconciliationError
from app.reconciliation.status import TOPIC, DifferenceKind, DifferenceStatus
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin
from schema.scalars import Money

ReconciliationUserError = user_error_type("Reconciliation", ReconciliationError, CommonError)
strawberry.enum(DifferenceStatus, name="ReconciliationDifferenceStatus", description=(
    "OPEN → RESOLVED (with a note) | CLEARED (a re-run no longer finds it); CLEARED → OPEN if found again."))
strawberry.enum(DifferenceKind, name="ReconciliationDifferenceKind", description=(
    "MISSING_OURS (on the statement, not in our books), MISSING_THEIRS (in our books for the day, not on the "
    "statement), AMOUNT_MISMATCH."))
DifferenceStatusEnum: TypeAlias = DifferenceStatus
DifferenceKindEnum: TypeAlias = DifferenceKind


@strawberry.type(description="One provider's statement for one day matched against our books.")
class ReconciliationRun:
    id: strawberry.ID
    provider: str
    day: date
    status: str = strawberry.field(description="RUNNING, DONE or FAILED (see lastError).")
    their_rows: int
    our_rows: int
    matched: int
    open_differences: int
    runs: int
    last_error: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, r: asyncpg.Record) -> "ReconciliationRun":
        return cls(id=gid("ReconciliationRun", r["id"]), provider=r["provider"], day=r["day"], status=r["status"],
                   their_rows=r["their_rows"], our_rows=r["our_rows"], matched=r["matched"],
                   open_differences=r["open_differences"], runs=r["runs"], last_error=r["last_error"],
                   started_at=r["started_at"], finished_at=r["finished_at"])


@strawberry.type(description="A difference between the provider's statement and our books. Money in cents.")
class ReconciliationDifference:
    id: strawberry.ID
    run_id: strawberry.ID
    provider: str
    day: date
    item_kind: str = strawberry.field(description="PAYMENT or REFUND.")
    provider_ref: str = strawberry.field(description="The provider's transaction or refund id.")
    kind: DifferenceKindEnum
    our_amount: Money | None
    their_amount: Money | None
    payment_id: strawberry.ID | None
    refund_id: strawberry.ID | None
    status: DifferenceStatusEnum
    note: str | None
    resolved_by: str | None
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, r: asyncpg.Record) -> "ReconciliationDifference":
        return cls(id=gid("ReconciliationDifference", r["id"]), run_id=gid("ReconciliationRun", r["run_id"]),
                   provider=r["provider"], day=r["day"], item_kind=r["item_kind"], provider_ref=r["provider_ref"],
                   kind=DifferenceKind(r["kind"]), our_amount=r["our_amount"], their_amount=r["their_amount"],
                   payment_id=gid("Payment", r["payment_id"]), refund_id=gid("Refund", r["refund_id"]),
                   status=DifferenceStatus(r["status"]), note=r["note"], resolved_by=r["resolved_by"],
                   created_at=r["created_at"], resolved_at=r["resolved_at"])


@strawberry.input
class RunReconciliationInput:
    date: date


@strawberry.input
class ResolveReconciliationDifferenceInput:
    difference_id: strawberry.ID
    note: str


@strawberry.type
class RunReconciliationPayload:
    run: ReconciliationRun | None = None
    user_errors: list[ReconciliationUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class ResolveReconciliationDifferencePayload:
    difference: ReconciliationDifference | None = None
    user_errors: list[ReconciliationUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="RECONCILIATION_COMPLETED (a run's counts) and RECONCILIATION_DIFFERENCE_RESOLVED / "
                             "_CLEARED / _OPEN.")
class ReconciliationEvent:
    event_id: str
    type: str
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "ReconciliationEvent":
        return cls(event_id=str(ev.id), type=ev.type, payload=JSON(ev.payload), created_at=ev.created_at)


@strawberry.type
class ReconciliationQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="Reconciliation runs, newest first.")
    async def reconciliation_runs(self, info: Info, first: int = 20,
                                  after: str | None = None) -> Connection[ReconciliationRun]:
        async def act(conn) -> Connection[ReconciliationRun]:
            size = page_size(first)
            return connection_of(await service.runs(conn, after_id(after), size + 1), size, after,
                                 ReconciliationRun.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "Differences to resolve, newest first: `status` null = all, `runId` null = every run."))
    async def reconciliation_differences(self, info: Info, status: DifferenceStatusEnum | None = None,
                                         run_id: strawberry.ID | None = None, first: int = 20,
                                         after: str | None = None) -> Connection[ReconciliationDifference]:
        async def act(conn) -> Connection[ReconciliationDifference]:
            size = page_size(first)
            rows = await service.differences(conn, status.value if status else None,
                                             optional_pk("ReconciliationRun", run_id, "runId"), after_id(after),
                                             size + 1)
            return connection_of(rows, size, after, ReconciliationDifference.of)
        return await query(info, act)


@strawberry.type
class ReconciliationMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Reconcile a day (UTC) now, as the daily job does: download the provider's statement and list every "
        "difference. Re-running a day changes nothing unless the books or the statement changed."))
    async def run_reconciliation(self, info: Info, input: RunReconciliationInput) -> RunReconciliationPayload:
        c = info.context

        async def act(db, _who) -> int:
            return (await service.reconcile(db, c.settings, c.http, input.date)).run_id

        async def present(run_id: int) -> RunReconciliationPayload:
            async def read(conn):
                return await conn.fetchrow("SELECT * FROM reconciliation_runs WHERE id = $1", run_id)
            return RunReconciliationPayload(run=ReconciliationRun.of(await query(info, read)))
        return await mutate(info, RunReconciliationPayload, act, present, transaction=False)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Resolve an OPEN difference with a note.")
    async def resolve_reconciliation_difference(
            self, info: Info, input: ResolveReconciliationDifferenceInput) -> ResolveReconciliationDifferencePayload:
        async def act(conn, who) -> int:
            return await service.resolve(conn, who, input_pk("ReconciliationDifference", input.difference_id,
                                                             "differenceId"), input.note)

        async def present(pk: int) -> ResolveReconciliationDifferencePayload:
            row = await query(info, lambda conn: service.difference(conn, pk))
            return ResolveReconciliationDifferencePayload(difference=ReconciliationDifference.of(row))
        return await mutate(info, ResolveReconciliationDifferencePayload, act, present)


@strawberry.type
class ReconciliationSubscription:
    @strawberry.subscription(permission_classes=[IsAdmin], description=(
        "Back office: live reconciliation events (runs completed, differences resolved or cleared)."))
    async def reconciliation_events(self, info: Info) -> AsyncGenerator[ReconciliationEvent, None]:
        async for ev in live_events(info, TOPIC):
            yield ReconciliationEvent.from_event(ev)

