"""Reading settlement statements, their lines and runs (the merchant console sees its own
merchant's only, admins every one), and a statement as CSV."""

import csv
import io
from typing import Literal, overload

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError, NotFound

CSV_COLUMNS = ("line_id", "kind", "order_id", "order_line_id", "refund_id", "quantity", "goods_amount", "subsidy",
               "receivable", "commission_rate", "commission", "shipping", "deduction", "net", "entry_id")


@overload
def merchant_scope(principal: Principal, merchant_id: int | None, required: Literal[True]) -> int: ...
@overload
def merchant_scope(principal: Principal, merchant_id: int | None, required: bool = False) -> int | None: ...


def merchant_scope(principal: Principal, merchant_id: int | None, required: bool = False) -> int | None:
    """The merchant whose rows the caller may see: staff their own (another merchant's id finds
    nothing), admins the one asked or, unless `required`, all (None)."""
    if principal.is_admin:
        if merchant_id is None and required:
            raise DomainError.of(CommonError.INVALID_VALUE, "name the merchant", "merchantId")
        return merchant_id
    if merchant_id is not None and merchant_id != principal.merchant_id:
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    return principal.staff_merchant_id


async def statements(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None, after_id: int | None,
                     limit: int) -> list[asyncpg.Record]:
    """Newest first."""
    return await conn.fetch(
        "SELECT * FROM settlement_statements WHERE ($1::bigint IS NULL OR merchant_id = $1)"
        " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        merchant_scope(principal, merchant_id), after_id, limit)


async def statement_for(conn: asyncpg.Connection, principal: Principal, statement_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM settlement_statements WHERE id = $1", statement_id)
    if row is None or not principal.can_manage_merchant(row["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "statement not found", "id")
    return row


async def lines(conn: asyncpg.Connection, statement: asyncpg.Record, after_id: int | None,
                limit: int) -> list[asyncpg.Record]:
    """A statement's lines in the order they were settled."""
    return await conn.fetch(
        "SELECT * FROM settlement_lines WHERE run_day = $1 AND merchant_id = $2 AND ($3::bigint IS NULL OR id > $3)"
        " ORDER BY id LIMIT $4", statement["run_day"], statement["merchant_id"], after_id, limit)


async def as_csv(conn: asyncpg.Connection, statement: asyncpg.Record) -> str:
    """Every line of the statement (amounts in cents), then a TOTAL row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"# merchant {statement['merchant_id']}", f"run {statement['run_day']}", statement["cycle"]])
    writer.writerow(CSV_COLUMNS)
    after = None
    while True:
        page = await lines(conn, statement, after, 5000)
        for r in page:
            writer.writerow([r["id"], *(r[c] for c in CSV_COLUMNS[1:])])
        if len(page) < 5000:
            break
        after = page[-1]["id"]
    writer.writerow(["TOTAL", "", "", "", "", "", statement["goods_amount"], statement["subsidy"], "", "",
                     statement["commission"], statement["shipping"], statement["refund_deductions"], statement["net"],
                     ""])
    return out.getvalue()


async def runs(conn: asyncpg.Connection, before_day_ordinal: int | None, limit: int) -> list[asyncpg.Record]:
    """Newest first (the cursor: the day's ordinal)."""
    return await conn.fetch(
        "SELECT *, (run_day - date '0001-01-01') + 1 AS ordinal FROM settlement_runs"
        " WHERE ($1::int IS NULL OR (run_day - date '0001-01-01') + 1 < $1) ORDER BY run_day DESC LIMIT $2",
        before_day_ordinal, limit)
