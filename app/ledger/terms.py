"""Settlement terms per merchant (DOMAIN §10): the cycle (DAILY: T+N days after completion,
WEEKLY: Sunday's run, MONTHLY: the run of a month's last day; both also T+N) — default DAILY
T+7 when a merchant has no row."""

from dataclasses import dataclass

import asyncpg

from app.errors import CommonError, DomainError, NotFound
from app.ledger.errors import LedgerError
from app.ledger.settlement import CYCLES, DEFAULT_DELAY_DAYS


@dataclass(frozen=True)
class Terms:
    merchant_id: int
    cycle: str
    delay_days: int


async def terms_of(conn: asyncpg.Connection, merchant_id: int) -> Terms:
    row = await conn.fetchrow("SELECT cycle, delay_days FROM settlement_terms WHERE merchant_id = $1", merchant_id)
    return Terms(merchant_id, row["cycle"], row["delay_days"]) if row else Terms(merchant_id, "DAILY",
                                                                                 DEFAULT_DELAY_DAYS)


async def set_terms(conn: asyncpg.Connection, merchant_id: int, cycle: str, delay_days: int, actor: str) -> Terms:
    """The back office sets a merchant's terms; they apply from the next run on."""
    if cycle not in CYCLES:
        raise DomainError.of(LedgerError.INVALID_CYCLE, f"the cycle is one of {', '.join(CYCLES)}", "cycle")
    if not 0 <= delay_days <= 90:
        raise DomainError.of(LedgerError.INVALID_DELAY, "settle 0 to 90 days after completion", "delayDays")
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)", merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    await conn.execute(
        "INSERT INTO settlement_terms (merchant_id, cycle, delay_days, updated_by) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (merchant_id) DO UPDATE SET cycle = $2, delay_days = $3, updated_by = $4, updated_at = now()",
        merchant_id, cycle, delay_days, actor)
    return Terms(merchant_id, cycle, delay_days)
