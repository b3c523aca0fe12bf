"""Repayments, early payoff and refunds of credit orders (app/credit/repayments.py) on the real
database: numbers worked by hand; the limit restored by repaid and refunded principal; exactly
the overpayment back; a repayment after closure all overpayment; funders passed their principal
and bought back; and a property over random histories: the line's outstanding principal is the
bills' unpaid principal, the limit invariant holds, and every entry balances."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.credit import financing, lines, repayments
from app.errors import DomainError
from app.ledger.accounts import Account
from app.ledger.journal import balances
from tests.credit.helpers import make_loan

LOAN_DAY = datetime(2026, 1, 15, 9, tzinfo=UTC)     # 300000 over 3 at 2.3%: bills 102300 due 02-10, 03-10, 04-10


async def repay(db, loan: int, amount: int | None, at: datetime) -> int:
    async with db.transaction() as conn:
        buyer = await conn.fetchval("SELECT buyer_id FROM loans WHERE id = $1", loan)
        rid = await repayments.request_repayment(conn, buyer, loan, amount, "ALIPAY", at)
    async with db.transaction() as conn:
        await repayments.apply_repayment(conn, rid, at)
    return rid


async def refund(db, loan: int, amount: int, fact: str, at: datetime):
    async with db.transaction() as conn:
        return await repayments.refund_loan(conn, loan, amount, fact, at)


async def state(db, loan: int) -> dict:
    row = await db.fetchrow("SELECT l.status, c.outstanding_principal, c.credit_limit, c.frozen, c.buyer_id"
                            " FROM loans l JOIN credit_lines c ON c.buyer_id = l.buyer_id WHERE l.id = $1", loan)
    bills = await db.fetch("SELECT principal, fee, paid_principal, paid_fee, status FROM bills WHERE loan_id = $1"
                           " ORDER BY period", loan)
    line = await db.fetchrow("SELECT * FROM credit_lines WHERE buyer_id = $1", row["buyer_id"])
    return {"status": row["status"], "outstanding": row["outstanding_principal"], "available": lines.available(line),
            "limit": row["credit_limit"], "bills": [tuple(b) for b in bills], "buyer": row["buyer_id"]}


async def test_repay_bill_one_then_refunds_return_exactly_the_overpayment(db, settings):
    loan = await make_loan(db, settings, at=LOAN_DAY)
    before = await state(db, loan)
    await repay(db, loan, 102300, LOAN_DAY + timedelta(days=20))      # bill 1: 2300 fee, 100000 principal
    s = await state(db, loan)
    assert s["outstanding"] == 200000 and s["available"] == before["available"] + 100000
    assert s["bills"][0] == (100000, 2300, 100000, 2300, "PAID")
    # refund 1500.00: unpaid principal off bills 3, 2; fee 150000 × 2.3% = 3450 ⇒ 3450 lowered; nothing back
    out = await refund(db, loan, 150000, "refund:1", LOAN_DAY + timedelta(days=25))
    assert (out.principal_lowered, out.fee_lowered, out.overpayment) == (150000, 3450, 0)
    s = await state(db, loan)
    assert s["bills"] == [(100000, 2300, 100000, 2300, "PAID"), (50000, 1150, 0, 0, "PENDING"), (0, 0, 0, 0, "CLOSED")]
    assert (s["outstanding"], s["status"]) == (50000, "ACTIVE")
    # refund 1000.00 more: 500.00 unpaid lowered, 500.00 repaid back + fee 2300 lowered (1150 unpaid, 1150 paid back)
    out = await refund(db, loan, 100000, "refund:2", LOAN_DAY + timedelta(days=26))
    assert (out.principal_lowered, out.overpayment) == (50000, 51150)
    s = await state(db, loan)
    assert (s["outstanding"], s["status"], s["available"]) == (0, "PAID_OFF", s["limit"])
    assert await refund(db, loan, 100000, "refund:2", LOAN_DAY + timedelta(days=27)) is None     # once
    over = await db.fetch("SELECT source, amount FROM credit_overpayments WHERE loan_id = $1", loan)
    assert [(o["source"], o["amount"]) for o in over] == [("REFUND", 51150)]
    async with db.connection() as conn:
        got = await balances(conn, s["buyer"], [Account.OVERPAYMENT, Account.CREDIT_RECEIVABLES])
    assert got[Account.OVERPAYMENT] == 51150
    # the receivable: 300000 lent (the capture, not posted here) − 100000 repaid − 200000 refunded away
    assert got[Account.CREDIT_RECEIVABLES] == -300000


async def test_early_payoff_waives_the_later_fees_and_restores_the_limit(db, settings):
    loan = await make_loan(db, settings, at=LOAN_DAY)
    rid = await repay(db, loan, None, LOAN_DAY + timedelta(days=5))   # bill 1 current: 102300 + 100000 + 100000
    assert await db.fetchval("SELECT amount FROM credit_repayments WHERE id = $1", rid) == 302300
    s = await state(db, loan)
    assert s["bills"] == [(100000, 2300, 100000, 2300, "PAID"), (100000, 0, 100000, 0, "PAID"),
                          (100000, 0, 100000, 0, "PAID")]
    assert (s["status"], s["outstanding"], s["available"]) == ("PAID_OFF", 0, s["limit"])
    async with db.transaction() as conn:
        with pytest.raises(DomainError) as refused:
            await repayments.request_repayment(conn, s["buyer"], loan, 100, "ALIPAY", LOAN_DAY)
    assert refused.value.problems[0].code == "LOAN_NOT_ACTIVE"


async def test_refused_repayments(db, settings):
    loan = await make_loan(db, settings, at=LOAN_DAY)
    buyer = await db.fetchval("SELECT buyer_id FROM loans WHERE id = $1", loan)
    for amount in (0, 306901):             # nothing, or more than the 306900 owed
        async with db.transaction() as conn:
            with pytest.raises(DomainError) as refused:
                await repayments.request_repayment(conn, buyer, loan, amount, "ALIPAY", LOAN_DAY)
        assert refused.value.problems[0].code == "INVALID_REPAYMENT"
    other = await make_loan(db, settings, at=LOAN_DAY)
    async with db.transaction() as conn:
        with pytest.raises(DomainError) as refused:
            await repayments.request_repayment(conn, buyer, other, 100, "ALIPAY", LOAN_DAY)
    assert refused.value.problems[0].code == "NOT_FOUND"


async def test_a_full_refund_closes_the_loan_and_a_later_repayment_is_overpayment(db, settings):
    loan = await make_loan(db, settings, at=LOAN_DAY)
    async with db.transaction() as conn:
        buyer = await conn.fetchval("SELECT buyer_id FROM loans WHERE id = $1", loan)
        late = await repayments.request_repayment(conn, buyer, loan, 5000, "WECHAT", LOAN_DAY)
    await repay(db, loan, 102300, LOAN_DAY + timedelta(days=1))
    out = await refund(db, loan, 300000, "refund:full", LOAN_DAY + timedelta(days=2))
    assert (out.principal_lowered, out.fee_lowered, out.overpayment) == (200000, 6900, 102300)
    s = await state(db, loan)
    assert (s["status"], s["outstanding"], s["available"]) == ("CLOSED", 0, s["limit"])
    assert {b[4] for b in s["bills"]} == {"CLOSED"}
    async with db.transaction() as conn:         # the 50.00 asked for before the refund arrives now
        assert await repayments.apply_repayment(conn, late, LOAN_DAY + timedelta(days=3)) == "SUCCEEDED"
    over = await db.fetch("SELECT source, amount FROM credit_overpayments WHERE loan_id = $1 ORDER BY id", loan)
    assert [(o["source"], o["amount"]) for o in over] == [("REFUND", 102300), ("LATE_REPAYMENT", 5000)]


async def test_a_funded_loan_passes_principal_to_its_funder_and_is_bought_back(db, settings):
    async with db.transaction() as conn:
        await conn.execute("UPDATE funders SET active = false")
        funder = await financing.create_funder(conn, "admin:1", f"repay-funder-{datetime.now().timestamp()}",
                                               "FACTORING", 1_000_000, 1_000_000, [3], "C", 100, LOAN_DAY)
    loan = await make_loan(db, settings, at=LOAN_DAY)
    async with db.transaction() as conn:
        assert await financing.finance(conn, loan, LOAN_DAY) == "FUNDED"
    await repay(db, loan, 102300, LOAN_DAY + timedelta(days=20))        # 100000 principal on to the funder
    await refund(db, loan, 150000, "refund:f1", LOAN_DAY + timedelta(days=21))   # 150000 unpaid principal bought back
    assert await db.fetchval("SELECT capital FROM funders WHERE id = $1", funder) == 1_000_000 - 300000 + 100000 + 150000
    async with db.connection() as conn:
        owed_to_funder = (await balances(conn, funder, [Account.FUNDER]))[Account.FUNDER]
    assert owed_to_funder == 300000 - 100000 - 150000


@hsettings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 120000)), min_size=1, max_size=6))
async def test_any_history_keeps_the_line_and_the_ledger_consistent(db, settings, history):
    loan = await make_loan(db, settings, at=LOAN_DAY)
    refunded, at = 0, LOAN_DAY
    for n, (is_refund, amount) in enumerate(history):
        at += timedelta(days=3)
        s = await state(db, loan)
        if s["status"] != "ACTIVE":
            break
        if is_refund:
            amount = min(amount, 300000 - refunded)
            await refund(db, loan, amount, f"refund:p{loan}:{n}", at)
            refunded += amount
        else:
            owed_now = await db.fetchval("SELECT sum(principal - paid_principal + fee - paid_fee + penalty - paid_penalty)"
                                         " FROM bills WHERE loan_id = $1", loan)
            await repay(db, loan, min(amount, owed_now), at)
        s = await state(db, loan)
        unpaid = await db.fetchval("SELECT sum(principal - paid_principal) FROM bills WHERE loan_id = $1", loan)
        assert s["outstanding"] == unpaid
        assert s["available"] + s["outstanding"] + await db.fetchval(
            "SELECT frozen FROM credit_lines WHERE buyer_id = $1", s["buyer"]) == s["limit"]
        assert await db.fetchval("SELECT sum(principal) FROM bills WHERE loan_id = $1", loan) == 300000 - refunded
    unbalanced = await db.fetchval("SELECT count(*) FROM (SELECT entry_id FROM postings GROUP BY entry_id"
                                   " HAVING sum(amount) <> 0) x")
    assert unbalanced == 0
