"""The daily billing run (app/credit/billing.py) on the real database: bills turn overdue after
the grace days, penalties accrue exactly per day on unpaid principal + fee (no compounding),
a day counted once, a missed day caught up, nothing once paid; reminders go out once. Then a
property: the SQL run equals a day-by-day replay of schedule.daily_penalty."""

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.credit import lines
from app.credit.billing import run_billing
from app.credit.schedule import Bill, daily_penalty
from tests.credit.helpers import make_loan

LOAN_DAY = datetime(2026, 1, 15, 9, tzinfo=UTC)       # bills due 02-10, 03-10, 04-10


async def loan_of(db, settings, principal: int = 300000, periods: int = 3, rate: str = "2.3") -> int:
    return await make_loan(db, settings, principal, periods, rate, at=LOAN_DAY)


async def bill(db, loan_id: int, period: int = 1):
    return await db.fetchrow("SELECT * FROM bills WHERE loan_id = $1 AND period = $2", loan_id, period)


async def pay(db, loan_id: int, period: int, principal: int = 0, fee: int = 0, penalty: int = 0) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE bills SET paid_principal = paid_principal + $3, paid_fee = paid_fee + $4,"
            " paid_penalty = paid_penalty + $5 WHERE loan_id = $1 AND period = $2", loan_id, period, principal, fee,
            penalty)
        await conn.execute("UPDATE bills SET status = 'PAID' WHERE loan_id = $1 AND period = $2"
                           " AND principal = paid_principal AND fee = paid_fee AND penalty = paid_penalty",
                           loan_id, period)


async def test_a_loan_has_its_bills_and_its_principal_is_outstanding(db, settings):
    loan = await loan_of(db, settings)
    rows = await db.fetch("SELECT period, due_on, principal, fee FROM bills WHERE loan_id = $1 ORDER BY period", loan)
    assert [tuple(r) for r in rows] == [(1, date(2026, 2, 10), 100000, 2300), (2, date(2026, 3, 10), 100000, 2300),
                                        (3, date(2026, 4, 10), 100000, 2300)]
    line = await db.fetchrow("SELECT l.* FROM credit_lines l JOIN loans o ON o.buyer_id = l.buyer_id WHERE o.id = $1",
                             loan)
    assert (line["frozen"], line["outstanding_principal"], lines.available(line)) == (0, 300000, line["credit_limit"] - 300000)


async def test_penalties_accrue_per_day_and_stop_when_paid(db, settings):
    loan = await loan_of(db, settings)
    await run_billing(db, settings, date(2026, 2, 10))                 # the due day itself: nothing
    assert (await bill(db, loan))["status"] == "PENDING"
    first = await run_billing(db, settings, date(2026, 2, 11))
    b1 = await bill(db, loan)
    # 102300 unpaid × 0.05% = 51.15 ⇒ 51
    assert (b1["status"], b1["penalty"], b1["penalty_through"]) == ("OVERDUE", 51, date(2026, 2, 11))
    assert first.overdue >= 1
    await run_billing(db, settings, date(2026, 2, 11))                 # the same day again: nothing more
    assert (await bill(db, loan))["penalty"] == 51
    await run_billing(db, settings, date(2026, 2, 13))                 # 02-12 was missed: caught up, 2 days
    assert (await bill(db, loan))["penalty"] == 51 + 2 * 51
    await pay(db, loan, 1, principal=50000)                            # 52300 unpaid × 0.05% = 26.15 ⇒ 26
    await run_billing(db, settings, date(2026, 2, 14))
    assert (await bill(db, loan))["penalty"] == 153 + 26
    await pay(db, loan, 1, principal=50000, fee=2300, penalty=179)
    await run_billing(db, settings, date(2026, 2, 20))
    b1 = await bill(db, loan)
    assert (b1["status"], b1["penalty"]) == ("PAID", 179)
    assert (await bill(db, loan, 2))["penalty"] == 0                   # bill 2 is not due yet
    notices = await db.fetch("SELECT template, payload FROM buyer_notifications n JOIN loans l ON l.buyer_id = n.buyer_id"
                             " WHERE l.id = $1 AND template LIKE 'CREDIT_BILL_%' ORDER BY n.id", loan)
    assert [(n["template"], n["payload"]["period"]) for n in notices] == [("CREDIT_BILL_OVERDUE", 1)]


async def test_grace_days_and_half_up_per_day(db, settings):
    lenient = settings.model_copy(update={"credit_grace_days": 3})
    loan = await loan_of(db, settings)
    await run_billing(db, lenient, date(2026, 2, 13))                  # due 02-10 + 3 grace days
    assert ((await bill(db, loan))["status"], (await bill(db, loan))["penalty"]) == ("PENDING", 0)
    await run_billing(db, lenient, date(2026, 2, 14))
    assert ((await bill(db, loan))["status"], (await bill(db, loan))["penalty"]) == ("OVERDUE", 51)
    # 1030 unpaid (principal 1000 + fee 30) × 0.05% = 0.515 ⇒ 1 a day
    small = await loan_of(db, settings, principal=3000, rate="3.0")    # bills 1000 + 30 each
    assert ((await bill(db, small))["principal"], (await bill(db, small))["fee"]) == (1000, 30)
    await run_billing(db, settings, date(2026, 2, 15))
    assert (await bill(db, small))["penalty"] == 5                     # 02-11 … 02-15


async def test_a_due_soon_reminder_goes_out_once(db, settings):
    loan = await loan_of(db, settings)
    await run_billing(db, settings, date(2026, 2, 6))                  # 4 days before: not yet
    await run_billing(db, settings, date(2026, 2, 7))
    await run_billing(db, settings, date(2026, 2, 8))
    notices = await db.fetch("SELECT n.payload FROM buyer_notifications n JOIN loans l ON l.buyer_id = n.buyer_id"
                             " WHERE l.id = $1 AND template = 'CREDIT_BILL_DUE_SOON'", loan)
    assert [(n["payload"]["period"], n["payload"]["owed"], n["payload"]["due_on"]) for n in notices] == [
        (1, 102300, "2026-02-10")]


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40000)), min_size=1, max_size=6))
async def test_the_run_equals_a_day_by_day_replay(db, settings, steps):
    """Each step: skip some days (then one billing run), then repay some principal of bill 1."""
    loan = await loan_of(db, settings)
    reference = Bill(1, date(2026, 2, 10), 100000, 2300)
    counted = date(2026, 2, 10)            # no penalty day before the due date + grace
    day = date(2026, 2, 10)
    for skip, repay in steps:
        day += timedelta(days=skip + 1)
        for d in range(1, (day - counted).days + 1):           # the reference: every day, on what is unpaid now
            reference = Bill(1, reference.due_on, reference.principal, reference.fee,
                             penalty=reference.penalty + daily_penalty(reference, counted + timedelta(days=d),
                                                                       settings.credit_penalty_daily_rate),
                             paid_principal=reference.paid_principal)
        counted = max(counted, day)
        await run_billing(db, settings, day)
        assert (await bill(db, loan))["penalty"] == reference.penalty
        repay = min(repay, reference.unpaid_principal)
        if repay:
            await pay(db, loan, 1, principal=repay)
            reference = Bill(1, reference.due_on, reference.principal, reference.fee, penalty=reference.penalty,
                             paid_principal=reference.paid_principal + repay)
