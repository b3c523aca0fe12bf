"""Matching the provider's statement for a day against our books (docs/reconciliation.md).

1. the statement is downloaded (signed GET, app/reconciliation/statement.py) with no
   transaction held;
2. our side of the day: payments of that provider that succeeded on the day (UTC) and their
   refunds that succeeded on it, keyed by the provider's ids;
3. matching, by the provider's id of each row: a statement row we do not have at all is
   MISSING_OURS (one we have on another day is matched: a callback applied just after midnight);
   one with another amount is AMOUNT_MISMATCH; a row of ours for the day absent from the
   statement is MISSING_THEIRS;
4. in one transaction, under the run's row lock (two runs of a day at once queue up): the run is
   upserted, each difference found is inserted or updated (OPEN ones; a CLEARED one found again
   is reopened; RESOLVED ones stay resolved), and OPEN differences no longer found are CLEARED.
   Re-running a day therefore changes nothing unless the books or the statement changed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import httpx

from app.auth.principal import Principal
from app.config import Settings
from app.db import Database
from app.errors import CommonError, DomainError
from app.events import emit
from app.reconciliation import statement
from app.reconciliation.errors import ReconciliationError
from app.reconciliation.status import DIFFERENCE, TOPIC, DifferenceAction, DifferenceKind, DifferenceStatus

ACTOR = "system:reconciliation"
MAX_NOTE = 500


@dataclass(frozen=True)
class Ours:
    item_kind: str            # PAYMENT | REFUND
    provider_ref: str
    amount: int
    payment_id: int
    refund_id: int | None


@dataclass(frozen=True)
class Difference:
    item_kind: str
    provider_ref: str
    kind: DifferenceKind
    our_amount: int | None
    their_amount: int | None
    payment_id: int | None
    refund_id: int | None


@dataclass(frozen=True)
class Result:
    run_id: int
    their_rows: int
    our_rows: int
    matched: int
    differences: list[Difference]


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


async def our_rows(conn: asyncpg.Connection, provider: str, day: date) -> list[Ours]:
    start, end = _bounds(day)
    rows = await conn.fetch(
        "SELECT 'PAYMENT' AS item_kind, provider_txn_id AS ref, amount, id AS payment_id, NULL::bigint AS refund_id"
        "  FROM payments WHERE provider = $1 AND provider_txn_id IS NOT NULL"
        "   AND succeeded_at >= $2 AND succeeded_at < $3"
        " UNION ALL"
        " SELECT 'REFUND', r.provider_refund_id, r.amount, r.payment_id, r.id FROM refunds r"
        "  JOIN payments p ON p.id = r.payment_id"
        " WHERE p.provider = $1 AND r.status = 'SUCCEEDED' AND r.provider_refund_id IS NOT NULL"
        "   AND r.settled_at >= $2 AND r.settled_at < $3", provider, start, end)
    return [Ours(r["item_kind"], r["ref"], r["amount"], r["payment_id"], r["refund_id"]) for r in rows]


async def _ours_anywhen(conn: asyncpg.Connection, provider: str, rows: list[statement.Row]) -> dict[tuple[str, str], Ours]:
    """Our rows of any day for the statement's ids."""
    payments = [r.id for r in rows if r.type == "PAYMENT"]
    refunds = [r.id for r in rows if r.type == "REFUND"]
    found = await conn.fetch(
        "SELECT 'PAYMENT' AS item_kind, provider_txn_id AS ref, amount, id AS payment_id, NULL::bigint AS refund_id"
        "  FROM payments WHERE provider = $1 AND provider_txn_id = ANY($2::text[]) AND succeeded_at IS NOT NULL"
        " UNION ALL"
        " SELECT 'REFUND', r.provider_refund_id, r.amount, r.payment_id, r.id FROM refunds r"
        "  JOIN payments p ON p.id = r.payment_id"
        " WHERE p.provider = $1 AND r.provider_refund_id = ANY($3::text[]) AND r.status = 'SUCCEEDED'",
        provider, payments, refunds)
    return {(r["item_kind"], r["ref"]): Ours(r["item_kind"], r["ref"], r["amount"], r["payment_id"], r["refund_id"])
            for r in found}


def match(theirs: list[statement.Row], ours_of_day: list[Ours],
          ours_anywhen: dict[tuple[str, str], Ours]) -> tuple[int, list[Difference]]:
    """(rows matched, differences) — pure, so it is table-tested on its own."""
    differences, matched = [], 0
    their_keys = set()
    for row in theirs:
        key = (row.type, row.id)
        their_keys.add(key)
        ours = ours_anywhen.get(key)
        if ours is None:
            differences.append(Difference(row.type, row.id, DifferenceKind.MISSING_OURS, None, row.amount, None, None))
        elif ours.amount != row.amount:
            differences.append(Difference(row.type, row.id, DifferenceKind.AMOUNT_MISMATCH, ours.amount, row.amount,
                                          ours.payment_id, ours.refund_id))
        else:
            matched += 1
    for ours in ours_of_day:
        if (ours.item_kind, ours.provider_ref) not in their_keys:
            differences.append(Difference(ours.item_kind, ours.provider_ref, DifferenceKind.MISSING_THEIRS, ours.amount,
                                          None, ours.payment_id, ours.refund_id))
    return matched, differences


async def reconcile(db: Database, settings: Settings, http: httpx.AsyncClient, day: date,
                    progress: Callable[[str], None] = lambda _: None) -> Result:
    provider = settings.reconciliation_provider
    progress(f"downloading the {provider} statement for {day}")
    try:
        theirs = await statement.download(http, settings, provider, day)
    except statement.StatementUnavailable as exc:
        await _failed(db, provider, day, str(exc))
        raise DomainError.of(ReconciliationError.STATEMENT_UNAVAILABLE, str(exc), "date") from exc
    progress(f"statement: {len(theirs)} rows; matching against our payments and refunds")
    async with db.transaction() as conn:
        run = await conn.fetchrow(
            "INSERT INTO reconciliation_runs (provider, day, status, runs) VALUES ($1, $2, 'RUNNING', 1)"
            " ON CONFLICT (provider, day) DO UPDATE SET runs = reconciliation_runs.runs + 1, status = 'RUNNING',"
            " started_at = now() RETURNING *", provider, day)
        ours = await our_rows(conn, provider, day)
        matched, differences = match(theirs, ours, await _ours_anywhen(conn, provider, theirs))
        await _write_differences(conn, run["id"], differences)
        open_count = await conn.fetchval("SELECT count(*) FROM reconciliation_differences WHERE run_id = $1"
                                         " AND status = 'OPEN'", run["id"])
        await conn.execute(
            "UPDATE reconciliation_runs SET status = 'DONE', their_rows = $2, our_rows = $3, matched = $4,"
            " open_differences = $5, last_error = NULL, finished_at = now() WHERE id = $1",
            run["id"], len(theirs), len(ours), matched, open_count)
        await emit(conn, TOPIC, "RECONCILIATION_COMPLETED",
                   {"run_id": run["id"], "provider": provider, "day": day.isoformat(), "their_rows": len(theirs),
                    "our_rows": len(ours), "matched": matched, "open_differences": open_count})
    progress(f"{matched} matched, {len(differences)} differences ({open_count} open)")
    return Result(run["id"], len(theirs), len(ours), matched, differences)


async def _failed(db: Database, provider: str, day: date, why: str) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO reconciliation_runs (provider, day, status, last_error, runs) VALUES ($1, $2, 'FAILED', $3, 1)"
            " ON CONFLICT (provider, day) DO UPDATE SET last_error = $3, runs = reconciliation_runs.runs + 1,"
            " status = CASE WHEN reconciliation_runs.status = 'DONE' THEN 'DONE' ELSE 'FAILED' END",
            provider, day, why[:500])


async def _write_differences(conn: asyncpg.Connection, run_id: int, differences: list[Difference]) -> None:
    rows = await conn.fetch(
        "INSERT INTO reconciliation_differences (run_id, item_kind, provider_ref, kind, our_amount, their_amount,"
        "  payment_id, refund_id)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],"
        "  $8::bigint[])"
        " ON CONFLICT (run_id, item_kind, provider_ref) DO UPDATE SET kind = excluded.kind,"
        "  our_amount = excluded.our_amount, their_amount = excluded.their_amount,"
        "  payment_id = excluded.payment_id, refund_id = excluded.refund_id"
        "  WHERE reconciliation_differences.status <> 'RESOLVED'"
        " RETURNING id, status",
        run_id, [d.item_kind for d in differences], [d.provider_ref for d in differences],
        [d.kind.value for d in differences], [d.our_amount for d in differences], [d.their_amount for d in differences],
        [d.payment_id for d in differences], [d.refund_id for d in differences])
    await DIFFERENCE.move(conn, [r["id"] for r in rows if r["status"] == DifferenceStatus.CLEARED],
                          DifferenceAction.REOPEN, actor=ACTOR, reason="found again")
    found = [(d.item_kind, d.provider_ref) for d in differences]
    gone = await conn.fetch(
        "SELECT id FROM reconciliation_differences WHERE run_id = $1 AND status = 'OPEN'"
        " AND (item_kind, provider_ref) NOT IN (SELECT * FROM unnest($2::text[], $3::text[]))",
        run_id, [k for k, _ in found], [r for _, r in found])
    await DIFFERENCE.move(conn, [r["id"] for r in gone], DifferenceAction.CLEAR, actor=ACTOR,
                          reason="no longer found by a re-run")


async def resolve(conn: asyncpg.Connection, principal: Principal, difference_id: int, note: str) -> int:
    note = note.strip()
    if not 1 <= len(note) <= MAX_NOTE:
        raise DomainError.of(ReconciliationError.NOTE_REQUIRED, "resolving needs a note (1 to 500 characters)", "note")
    current = await conn.fetchval("SELECT status FROM reconciliation_differences WHERE id = $1", difference_id)
    if current is None:
        raise DomainError.of(CommonError.NOT_FOUND, "no such difference", "differenceId")
    moved = await DIFFERENCE.move(conn, [difference_id], DifferenceAction.RESOLVE, actor=principal.subject, reason=note,
                                  sets="note = $4, resolved_by = $5, resolved_at = now()", args=(note, principal.subject))
    if not moved:
        DIFFERENCE.target(DifferenceStatus(current), DifferenceAction.RESOLVE)
    run_id = await conn.fetchval("SELECT run_id FROM reconciliation_differences WHERE id = $1", difference_id)
    await conn.execute("UPDATE reconciliation_runs SET open_differences = (SELECT count(*) FROM"
                       " reconciliation_differences WHERE run_id = $1 AND status = 'OPEN') WHERE id = $1", run_id)
    return difference_id


async def runs(conn: asyncpg.Connection, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM reconciliation_runs WHERE ($1::bigint IS NULL OR id < $1)"
                            " ORDER BY id DESC LIMIT $2", after_id, limit)


async def run_of_day(conn: asyncpg.Connection, provider: str, day: date) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM reconciliation_runs WHERE provider = $1 AND day = $2", provider, day)


async def differences(conn: asyncpg.Connection, status: str | None, run_id: int | None, after_id: int | None,
                      limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT d.*, r.day, r.provider FROM reconciliation_differences d JOIN reconciliation_runs r ON r.id = d.run_id"
        " WHERE ($1::text IS NULL OR d.status = $1) AND ($2::bigint IS NULL OR d.run_id = $2)"
        " AND ($3::bigint IS NULL OR d.id < $3) ORDER BY d.id DESC LIMIT $4", status, run_id, after_id, limit)


async def difference(conn: asyncpg.Connection, difference_id: int) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT d.*, r.day, r.provider FROM reconciliation_differences d JOIN reconciliation_runs r ON r.id = d.run_id"
        " WHERE d.id = $1", difference_id)
