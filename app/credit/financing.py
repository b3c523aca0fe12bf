"""Financing (融资, DOMAIN §8 / §8.1): a loan is sold to the highest-priority active funder whose
asset rules accept it — capital ≥ principal, principal ≤ its maximum, its period count allowed,
the buyer's tier no worse than its minimum (A best) — ties to the lowest id; the capital is
reserved at once. None accepts: the platform keeps it (self-funded, 自持). Financing happens at
payment or at receipt (`CREDIT_FINANCING_TIME`); a loan closed before then is never financed.

Financing changes who owns the loan, not its bills. Ledger: the funder's cash comes in
(Dr CASH / Cr FUNDER); a buyback (a refund removing unpaid principal of a funded loan) pays it
back (Dr FUNDER / Cr CASH) and returns the capital to the funder.
"""

from datetime import datetime

import asyncpg

from app.credit.errors import CreditError
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, post, transfer

KINDS = ("DIRECT_LENDING", "TRUST", "FACTORING")
MAX_CAPITAL = 10**14


async def finance(conn: asyncpg.Connection, loan_id: int, now: datetime, actor: str = "system:financing") -> str:
    """Route the loan if it is still waiting: FUNDED, SELF_FUNDED or NEVER (closed first); a
    loan routed before keeps its outcome. The caller's transaction holds the loan's row lock."""
    loan = await conn.fetchrow("SELECT l.*, c.tier FROM loans l JOIN credit_lines c ON c.buyer_id = l.buyer_id"
                               " WHERE l.id = $1 FOR UPDATE OF l", loan_id)
    if loan is None:
        raise NotFound.of(CommonError.NOT_FOUND, "loan not found")
    if loan["funding"] != "PENDING":
        return loan["funding"]
    if loan["status"] == "CLOSED":
        await conn.execute("UPDATE loans SET funding = 'NEVER' WHERE id = $1", loan_id)
        return "NEVER"
    principal = loan["principal"]
    candidates = await conn.fetch(
        "SELECT id FROM funders WHERE active AND capital >= $1 AND max_amount >= $1 AND periods @> ARRAY[$2::int]"
        " AND $3 <= min_tier ORDER BY priority DESC, id", principal, loan["periods"], loan["tier"])
    for c in candidates:    # reserve the capital; another loan may have taken it since the read
        if await conn.fetchval("UPDATE funders SET capital = capital - $2 WHERE id = $1 AND active AND capital >= $2"
                               " RETURNING id", c["id"], principal):
            await conn.execute("UPDATE loans SET funding = 'FUNDED', funder_id = $2, financed_at = $3 WHERE id = $1",
                               loan_id, c["id"], now)
            await _capital_moved(conn, c["id"], loan_id, "FINANCED", -principal, actor, now)
            await post(conn, [Entry(f"loan:{loan_id}:financed", "FINANCING", now,
                                    transfer(principal, (Account.CASH, PLATFORM), (Account.FUNDER, c["id"])))])
            await emit(conn, "credit", "LOAN_FINANCED", {"loan_id": loan_id, "buyer_id": loan["buyer_id"],
                                                          "funder_id": c["id"], "principal": principal})
            return "FUNDED"
    await conn.execute("UPDATE loans SET funding = 'SELF_FUNDED', financed_at = $2 WHERE id = $1", loan_id, now)
    await emit(conn, "credit", "LOAN_FINANCED", {"loan_id": loan_id, "buyer_id": loan["buyer_id"], "funder_id": None,
                                                  "principal": principal})
    return "SELF_FUNDED"


async def due_for_financing(conn: asyncpg.Connection, financing_time: str, limit: int) -> list[int]:
    """Loans still waiting whose financing time has come — at PAYMENT, all of them (the payment
    finances at once; these are what a crash left); at RECEIPT, those whose orders are all
    received (or completed, or closed, at least one received) — and closed ones, to be marked
    NEVER."""
    rows = await conn.fetch(
        """
        SELECT l.id FROM loans l
        WHERE l.funding = 'PENDING' AND (l.status = 'CLOSED' OR $1 = 'PAYMENT' OR EXISTS (
            SELECT 1 FROM payments p JOIN orders o ON o.payment_order_id = p.payment_order_id
            WHERE p.id = l.payment_id
            HAVING bool_and(o.status IN ('RECEIVED', 'COMPLETED', 'CLOSED'))
               AND bool_or(o.status IN ('RECEIVED', 'COMPLETED'))))
        ORDER BY l.id LIMIT $2
        """, financing_time, limit)
    return [r["id"] for r in rows]


async def buy_back(conn: asyncpg.Connection, loan_id: int, amount: int, fact_id: str, now: datetime) -> int:
    """The platform buys back `amount` of unpaid principal a refund removed (资产回购), for a
    funded loan only (a self-funded one is the platform's already); `fact_id` names the refund,
    so it is done once. Returns what was bought back."""
    loan = await conn.fetchrow("SELECT * FROM loans WHERE id = $1 FOR UPDATE", loan_id)
    if loan is None or loan["funding"] != "FUNDED" or amount <= 0:
        return 0
    if not await post(conn, [Entry(f"{fact_id}:buyback", "BUYBACK", now,
                                   transfer(amount, (Account.FUNDER, loan["funder_id"]), (Account.CASH, PLATFORM)))]):
        return 0
    await conn.execute("UPDATE loans SET bought_back = bought_back + $2 WHERE id = $1", loan_id, amount)
    await conn.execute("UPDATE funders SET capital = capital + $2 WHERE id = $1", loan["funder_id"], amount)
    await _capital_moved(conn, loan["funder_id"], loan_id, "BOUGHT_BACK", amount, "system:buyback", now)
    return amount


async def _capital_moved(conn: asyncpg.Connection, funder_id: int, loan_id: int | None, kind: str, amount: int,
                         actor: str, now: datetime) -> None:
    await conn.execute("INSERT INTO funder_capital_moves (funder_id, loan_id, kind, amount, actor, created_at)"
                       " VALUES ($1, $2, $3, $4, $5, $6)", funder_id, loan_id, kind, amount, actor, now)


# ---------------------------------------------------------------- the back office

def _check(kind: str, capital: int, max_amount: int, periods: list[int], min_tier: str, name: str) -> None:
    if (kind not in KINDS or not 0 <= capital <= MAX_CAPITAL or not 0 < max_amount <= MAX_CAPITAL or not periods
            or not set(periods) <= {3, 6, 9, 12} or min_tier not in ("A", "B", "C") or not 1 <= len(name.strip()) <= 100):
        raise DomainError.of(CreditError.INVALID_FUNDER, "kind DIRECT_LENDING/TRUST/FACTORING, a name, capital ≥ 0,"
                             " maxAmount > 0, periods among 3/6/9/12, minTier A/B/C")


async def create_funder(conn: asyncpg.Connection, actor: str, name: str, kind: str, capital: int, max_amount: int,
                        periods: list[int], min_tier: str, priority: int, now: datetime) -> int:
    _check(kind, capital, max_amount, periods, min_tier, name)
    funder_id = await conn.fetchval(
        "INSERT INTO funders (name, kind, capital, max_amount, periods, min_tier, priority, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING id",
        name.strip(), kind, capital, max_amount, sorted(set(periods)), min_tier, priority, now)
    if funder_id is None:
        raise DomainError.of(CreditError.FUNDER_NAME_TAKEN, "a funder of that name exists", "name")
    if capital:
        await _capital_moved(conn, funder_id, None, "TOP_UP", capital, actor, now)
    return funder_id


async def update_funder(conn: asyncpg.Connection, actor: str, funder_id: int, add_capital: int, active: bool | None,
                        priority: int | None, now: datetime) -> None:
    if not 0 <= add_capital <= MAX_CAPITAL:
        raise DomainError.of(CreditError.INVALID_FUNDER, "addCapital is 0 or more", "addCapital")
    if not await conn.fetchval("UPDATE funders SET capital = capital + $2, active = coalesce($3, active),"
                               " priority = coalesce($4, priority) WHERE id = $1 RETURNING id",
                               funder_id, add_capital, active, priority):
        raise NotFound.of(CommonError.NOT_FOUND, "funder not found", "funderId")
    if add_capital:
        await _capital_moved(conn, funder_id, None, "TOP_UP", add_capital, actor, now)


async def funders(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT f.*, (SELECT count(*) FROM loans l WHERE l.funder_id = f.id) AS loans,"
        " (SELECT coalesce(sum(l.principal - l.refunded), 0) FROM loans l WHERE l.funder_id = f.id) AS assets"
        " FROM funders f ORDER BY priority DESC, id")


async def funder_loans(conn: asyncpg.Connection, funder_id: int, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM loans WHERE funder_id = $1 AND ($2::bigint IS NULL OR id < $2)"
                            " ORDER BY id DESC LIMIT $3", funder_id, after_id, limit)
