"""Financing (app/credit/financing.py) on the real database: routing by priority then lowest id
under the asset rules, capital reserved at once and never overspent by loans routed at the same
time, self-funded when nobody accepts, never once closed; the ledger's funder cash; buyback."""

import asyncio
from datetime import UTC, datetime

import pytest

from app.credit import financing
from app.ledger.accounts import Account
from app.ledger.journal import balances
from tests.credit.helpers import make_loan

NOW = datetime(2026, 1, 15, 10, tzinfo=UTC)
_names = iter(range(10**6))


@pytest.fixture(autouse=True)
async def no_other_funders(db):
    """Each test sees only the funders it makes (the module's database is shared)."""
    async with db.transaction() as conn:
        await conn.execute("UPDATE funders SET active = false")


async def funder(db, capital=1_000_000, max_amount=1_000_000, periods=(3, 6, 9, 12), min_tier="C", priority=0,
                 kind="DIRECT_LENDING") -> int:
    async with db.transaction() as conn:
        return await financing.create_funder(conn, "admin:1", f"funder {next(_names)}", kind, capital, max_amount,
                                             list(periods), min_tier, priority, NOW)


async def finance(db, loan_id: int) -> str:
    async with db.transaction() as conn:
        return await financing.finance(conn, loan_id, NOW)


async def test_the_highest_priority_funder_that_accepts_takes_the_loan(db, settings):
    await funder(db, priority=1)
    await funder(db, priority=5, max_amount=200_000)         # too small a maximum for 3000.00
    await funder(db, priority=5, periods=(6, 12))            # not 3 periods
    await funder(db, priority=5, min_tier="A")               # the buyer is B
    taker = await funder(db, priority=5, kind="TRUST")
    await funder(db, priority=5)                             # as good, but a higher id
    loan = await make_loan(db, settings, 300_000, 3, tier="B")
    assert await finance(db, loan) == "FUNDED"
    row = await db.fetchrow("SELECT funding, funder_id, financed_at FROM loans WHERE id = $1", loan)
    assert (row["funding"], row["funder_id"], row["financed_at"]) == ("FUNDED", taker, NOW)
    assert await db.fetchval("SELECT capital FROM funders WHERE id = $1", taker) == 700_000
    moves = await db.fetch("SELECT kind, amount FROM funder_capital_moves WHERE funder_id = $1 ORDER BY id", taker)
    assert [(m["kind"], m["amount"]) for m in moves] == [("TOP_UP", 1_000_000), ("FINANCED", -300_000)]
    async with db.connection() as conn:       # the funder's cash came in: Dr CASH / Cr FUNDER
        assert (await balances(conn, taker, [Account.FUNDER]))[Account.FUNDER] == 300_000
    assert await finance(db, loan) == "FUNDED"               # routed once
    assert await db.fetchval("SELECT count(*) FROM postings WHERE entry_id = $1", f"loan:{loan}:financed") == 2


async def test_a_tier_no_worse_than_the_minimum_is_accepted(db, settings):
    b_or_better = await funder(db, min_tier="B")
    a_loan, c_loan = await make_loan(db, settings, tier="A"), await make_loan(db, settings, tier="C")
    assert await finance(db, a_loan) == "FUNDED"
    assert await finance(db, c_loan) == "SELF_FUNDED"
    assert await db.fetchval("SELECT funder_id FROM loans WHERE id = $1", a_loan) == b_or_better
    assert await db.fetchval("SELECT funder_id FROM loans WHERE id = $1", c_loan) is None


async def test_loans_routed_at_once_never_overspend_a_funder(db, settings):
    small = await funder(db, capital=500_000, priority=9)      # room for one 3000.00 loan
    backup = await funder(db, capital=10_000_000, priority=1)
    loans = [await make_loan(db, settings, 300_000) for _ in range(4)]
    outcomes = await asyncio.gather(*(finance(db, loan) for loan in loans))
    assert outcomes == ["FUNDED"] * 4
    owners = [await db.fetchval("SELECT funder_id FROM loans WHERE id = $1", loan) for loan in loans]
    assert owners.count(small) == 1 and owners.count(backup) == 3
    assert await db.fetchval("SELECT capital FROM funders WHERE id = $1", small) == 200_000


async def test_a_loan_closed_before_its_financing_time_is_never_financed(db, settings):
    await funder(db)
    loan = await make_loan(db, settings)
    async with db.transaction() as conn:
        await conn.execute("UPDATE loans SET status = 'CLOSED' WHERE id = $1", loan)
        assert loan in await financing.due_for_financing(conn, "RECEIPT", 1000)
    assert await finance(db, loan) == "NEVER"
    assert await db.fetchval("SELECT funder_id FROM loans WHERE id = $1", loan) is None
    async with db.connection() as conn:
        assert loan not in await financing.due_for_financing(conn, "PAYMENT", 1000)


async def test_at_receipt_a_loan_without_received_orders_waits(db, settings):
    loan = await make_loan(db, settings)        # no payment, so no orders: never "received"
    async with db.connection() as conn:
        assert loan not in await financing.due_for_financing(conn, "RECEIPT", 1000)
        assert loan in await financing.due_for_financing(conn, "PAYMENT", 1000)


async def test_buyback_returns_the_funders_money_once(db, settings):
    owner = await funder(db)
    loan = await make_loan(db, settings, 300_000)
    await finance(db, loan)
    async with db.transaction() as conn:
        assert await financing.buy_back(conn, loan, 120_000, "refund:77", NOW) == 120_000
        assert await financing.buy_back(conn, loan, 120_000, "refund:77", NOW) == 0     # the same refund
    assert await db.fetchval("SELECT capital FROM funders WHERE id = $1", owner) == 1_000_000 - 300_000 + 120_000
    assert await db.fetchval("SELECT bought_back FROM loans WHERE id = $1", loan) == 120_000
    async with db.connection() as conn:
        assert (await balances(conn, owner, [Account.FUNDER]))[Account.FUNDER] == 180_000
    own = await make_loan(db, settings, 300_000)
    async with db.transaction() as conn:
        await conn.execute("UPDATE funders SET active = false")
    assert await finance(db, own) == "SELF_FUNDED"
    async with db.transaction() as conn:
        assert await financing.buy_back(conn, own, 50_000, "refund:78", NOW) == 0       # the platform's already
