"""Loans (DOMAIN §8.1): a successful credit payment's amount becomes outstanding principal and a
loan with one bill per period, due on the buyer's due day of each following month. What the
bills ask is app/credit/schedule.py's; this module only stores it."""

from datetime import datetime

import asyncpg

from app.credit.plans import Plan
from app.credit.schedule import due_dates


async def create_loan(conn: asyncpg.Connection, buyer_id: int, payment_id: int | None, principal: int, plan: Plan,
                      now: datetime) -> int:
    """The loan and its bills for `principal` paid on `plan`; the principal leaves the line's
    frozen amount for its outstanding principal (the caller froze it when the payment began, and
    holds the line's row lock). Returns the loan id."""
    line = await conn.fetchrow("UPDATE credit_lines SET frozen = frozen - $2, outstanding_principal ="
                               " outstanding_principal + $2, updated_at = $3 WHERE buyer_id = $1 AND frozen >= $2"
                               " RETURNING due_day", buyer_id, principal, now)
    if line is None:
        raise ValueError(f"buyer {buyer_id} has no credit line with {principal} frozen")
    loan_id = await conn.fetchval(
        "INSERT INTO loans (buyer_id, payment_id, principal, periods, rate_percent, interest_free, subsidiser,"
        " subsidiser_merchant_id, subsidy_fee, due_day, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " RETURNING id", buyer_id, payment_id, principal, plan.periods, plan.rate_percent, plan.interest_free,
        plan.subsidiser, plan.subsidiser_merchant_id, plan.subsidy_fee, line["due_day"], now)
    dues = due_dates(now.date(), line["due_day"], plan.periods)
    await conn.execute(
        "INSERT INTO bills (loan_id, buyer_id, period, due_on, principal, fee)"
        " SELECT $1, $2, * FROM unnest($3::int[], $4::date[], $5::bigint[], $6::bigint[])",
        loan_id, buyer_id, list(range(1, plan.periods + 1)), dues, [x.principal for x in plan.installments],
        [x.fee for x in plan.installments])
    return loan_id


async def buyer_loans(conn: asyncpg.Connection, buyer_id: int, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM loans WHERE buyer_id = $1 AND ($2::bigint IS NULL OR id < $2)"
                            " ORDER BY id DESC LIMIT $3", buyer_id, after_id, limit)


async def bills_of(conn: asyncpg.Connection, loan_ids: list[int]) -> dict[int, list[asyncpg.Record]]:
    """Each loan's bills in period order (one statement for a page of loans)."""
    rows = await conn.fetch("SELECT * FROM bills WHERE loan_id = ANY($1::bigint[]) ORDER BY loan_id, period", loan_ids)
    out: dict[int, list[asyncpg.Record]] = {i: [] for i in loan_ids}
    for r in rows:
        out[r["loan_id"]].append(r)
    return out


async def overdue_bills(conn: asyncpg.Connection, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """The back office's overdue list: every OVERDUE bill, oldest due first (cursor: bill id)."""
    return await conn.fetch("SELECT * FROM bills WHERE status = 'OVERDUE' AND ($1::bigint IS NULL OR id > $1)"
                            " ORDER BY id LIMIT $2", after_id, limit)
