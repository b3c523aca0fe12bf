"""Installment arithmetic (app/credit/schedule.py) against DOMAIN §8 / §8.1: tables worked by
hand, then properties against deliberately plain references (a cent-by-cent repayment, a
totals-only replay of refunds)."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.credit.schedule import (
    Allocation,
    Bill,
    Installment,
    allocate,
    apply,
    bills_of,
    daily_penalty,
    due_dates,
    fee_after_refund,
    owed,
    payoff,
    refund,
    schedule,
)

RATES = {3: Decimal("2.3"), 6: Decimal("4.5"), 9: Decimal("6.5"), 12: Decimal("8.8")}


def loan(principal: int, periods: int, rate: Decimal, start=date(2026, 1, 15), due_day=10) -> list[Bill]:
    return bills_of(schedule(principal, periods, rate), due_dates(start, due_day, periods))


# --- schedules -------------------------------------------------------------------------------

@pytest.mark.parametrize(("principal", "periods", "rate", "expected"), [
    # the worked example: fee 300000 × 2.3% = 6900, 2300 a period, 100000 principal each
    (300000, 3, RATES[3], [(100000, 2300)] * 3),
    # 1.00 over 3: principal 34 + 33 + 33; fee 100 × 2.3% = 2.3 ⇒ 2, all on period 1
    (100, 3, RATES[3], [(34, 2), (33, 0), (33, 0)]),
    # P = 1 over 12: the cent on period 1, fee 0.088 ⇒ 0, later bills 0
    (1, 12, RATES[12], [(1, 0)] + [(0, 0)] * 11),
    # P < n: 5 cents over 9: 5 on period 1; fee 5 × 6.5% = 0.325 ⇒ 0
    (5, 9, RATES[9], [(5, 0)] + [(0, 0)] * 8),
    # half-up: 100 × 4.5% = 4.5 ⇒ 5; principal 100 // 6 = 16, remainder 4 on period 1
    (100, 6, RATES[6], [(20, 5)] + [(16, 0)] * 5),
    # odd cents: 12345 × 6.5% = 802.425 ⇒ 802 = 89 × 9 + 1; 12345 = 1371 × 9 + 6
    (12345, 9, RATES[9], [(1377, 90)] + [(1371, 89)] * 8),
    # 99999 × 8.8% = 8799.912 ⇒ 8800 = 733 × 12 + 4; 99999 = 8333 × 12 + 3
    (99999, 12, RATES[12], [(8336, 737)] + [(8333, 733)] * 11),
    # interest-free: the buyer's schedule at rate 0
    (300000, 3, Decimal(0), [(100000, 0)] * 3),
])
def test_schedules_are_equal_principal_equal_fee(principal, periods, rate, expected):
    assert schedule(principal, periods, rate) == [Installment(p, f) for p, f in expected]


def test_the_worked_example_bills_102300_three_times():
    assert [x.amount for x in schedule(300000, 3, Decimal("2.3"))] == [102300, 102300, 102300]


@pytest.mark.parametrize(("principal", "periods", "rate"), [(0, 3, RATES[3]), (100, 4, RATES[3]), (100, 3, Decimal(-1))])
def test_no_schedule_for_nonsense(principal, periods, rate):
    with pytest.raises(ValueError):
        schedule(principal, periods, rate)


@given(st.integers(1, 10**9), st.sampled_from(sorted(RATES)), st.decimals(0, 30, places=2))
def test_every_schedule_adds_up_with_the_remainders_on_period_one(principal, periods, rate):
    bills = schedule(principal, periods, rate)
    fee = int((Decimal(principal) * rate / 100 + Decimal("0.5")) // 1)      # half-up on a positive amount
    assert sum(b.principal for b in bills) == principal and sum(b.fee for b in bills) == fee
    assert len({(b.principal, b.fee) for b in bills[1:]}) <= 1
    assert bills[-1].principal == principal // periods and bills[-1].fee == fee // periods


def test_due_dates_fall_on_the_due_day_of_each_later_month():
    assert due_dates(date(2026, 1, 15), 10, 3) == [date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)]
    assert due_dates(date(2026, 11, 30), 28, 3) == [date(2026, 12, 28), date(2027, 1, 28), date(2027, 2, 28)]
    assert due_dates(date(2026, 12, 1), 1, 12)[-1] == date(2027, 12, 1)
    with pytest.raises(ValueError):
        due_dates(date(2026, 1, 1), 29, 3)


# --- penalties -------------------------------------------------------------------------------

def test_penalty_accrues_from_the_day_after_the_due_date_and_the_grace_days():
    bill = loan(300000, 3, RATES[3])[0]                       # due 2026-02-10, 102300 unpaid
    rate = Decimal("0.0005")
    assert daily_penalty(bill, date(2026, 2, 10), rate) == 0
    assert daily_penalty(bill, date(2026, 2, 11), rate) == 51          # 102300 × 0.05% = 51.15
    assert daily_penalty(bill, date(2026, 2, 13), rate, grace_days=3) == 0
    assert daily_penalty(bill, date(2026, 2, 14), rate, grace_days=3) == 51
    # no compounding: the accrued penalty is not charged again
    assert daily_penalty(Bill(1, date(2026, 2, 10), 1000, 30, penalty=5000), date(2026, 3, 1), rate) == 1   # 0.515
    # paid down: only the unpaid principal and fee count
    assert daily_penalty(Bill(1, date(2026, 2, 10), 1000, 30, paid_principal=1000), date(2026, 3, 1), rate) == 0


# --- repayments ------------------------------------------------------------------------------

def test_a_repayment_goes_oldest_bill_first_penalty_fee_principal():
    bills = loan(300000, 3, RATES[3])
    bills[0] = Bill(1, bills[0].due_on, 100000, 2300, penalty=51)
    assert allocate(bills, 60000) == [Allocation(1, 51, 2300, 57649)]
    # 102351 clears bill 1; 3000 more pays ahead: bill 2's fee first, then 700 of its principal
    assert allocate(bills, 105351) == [Allocation(1, 51, 2300, 100000), Allocation(2, 0, 2300, 700)]
    assert owed(bills) == 306951
    with pytest.raises(ValueError):
        allocate(bills, 306952)
    with pytest.raises(ValueError):
        allocate(bills, 0)
    paid = apply(bills, allocate(bills, 306951))
    assert owed(paid) == 0 and paid[2].paid_fee == 2300              # paying ahead pays future fees


def _cent_by_cent(bills: list[Bill], amount: int) -> dict[tuple[int, str], int]:
    """The plainest reading of the rule: each cent goes to the first unpaid thing in order."""
    order = [(b.period, part) for b in sorted(bills, key=lambda b: b.period) for part in ("penalty", "fee", "principal")]
    room = {(b.period, part): getattr(b, f"unpaid_{part}") for b in bills for part in ("penalty", "fee", "principal")}
    got: dict[tuple[int, str], int] = {}
    for _ in range(amount):
        key = next(k for k in order if room[k] > 0)
        room[key] -= 1
        got[key] = got.get(key, 0) + 1
    return got


bill_sizes = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 40), st.integers(0, 30)), min_size=3, max_size=6)


@settings(max_examples=200)
@given(bill_sizes, st.data())
def test_allocation_equals_the_cent_by_cent_reference(sizes, data):
    bills = [Bill(i, date(2026, i % 12 + 1, 5), p, f, penalty=pen) for i, (p, f, pen) in enumerate(sizes, 1)]
    if owed(bills) == 0:
        return
    amount = data.draw(st.integers(1, owed(bills)))
    got = {(a.period, part): getattr(a, part) for a in allocate(bills, amount) for part in ("penalty", "fee", "principal")}
    assert {k: v for k, v in got.items() if v} == _cent_by_cent(bills, amount)


# --- early payoff ----------------------------------------------------------------------------

def test_early_payoff_waives_exactly_the_later_fees():
    bills = loan(300000, 3, RATES[3])                               # due 02-10, 03-10, 04-10
    at_start = payoff(bills, date(2026, 1, 20))                     # bill 1 is current
    assert (at_start.amount, at_start.waived_fees) == (102300 + 100000 + 100000, {2: 2300, 3: 2300})
    bill1_paid = apply(bills, allocate(bills, 102300))
    mid = payoff(bill1_paid, date(2026, 2, 11))                     # bill 2 is current
    assert (mid.amount, mid.waived_fees) == (102300 + 100000, {3: 2300})
    late = [Bill(1, bills[0].due_on, 100000, 2300, penalty=102), *bills[1:]]
    overdue = payoff(late, date(2026, 2, 12))                       # bill 1 overdue, bill 2 current
    assert (overdue.amount, overdue.waived_fees) == (102402 + 102300 + 100000, {3: 2300})
    ahead = apply(bills, allocate(bills, 102300 + 102300 + 2300))   # bills 1, 2 and bill 3's fee paid ahead
    assert payoff(ahead, date(2026, 1, 20)) == payoff(ahead, date(2026, 3, 1))   # the paid fee is kept
    assert (payoff(ahead, date(2026, 1, 20)).amount, payoff(ahead, date(2026, 1, 20)).waived_fees) == (100000, {})
    after_all = payoff(bills, date(2026, 5, 1))                     # every bill overdue: nothing waived
    assert (after_all.amount, after_all.waived_fees) == (306900, {})


# --- refunds ---------------------------------------------------------------------------------

def test_partial_refunds_lower_principal_and_fee_from_the_last_bill_then_return_overpayment():
    bills = apply(loan(300000, 3, RATES[3]), [Allocation(1, 0, 2300, 100000)])      # bill 1 repaid
    # refund 1500.00: principal off bills 3 then 2; fee recomputed 150000 × 2.3% = 3450, so 3450 lowered
    first = refund(bills, 300000, RATES[3], 0, 150000)
    assert [(b.principal, b.fee) for b in first.bills] == [(100000, 2300), (50000, 1150), (0, 0)]
    assert (first.principal_lowered, first.fee_lowered, first.overpayment) == (150000, 3450, 0)
    # refund 1000.00 more: 500.00 of unpaid principal left, 500.00 was repaid ⇒ overpayment; fee
    # 50000 × 2.3% = 1150, so 2300 lowered: 1150 unpaid on bill 2, 1150 of bill 1's paid fee back
    second = refund(first.bills, 300000, RATES[3], 150000, 100000)
    assert [(b.principal, b.paid_principal, b.fee, b.paid_fee) for b in second.bills] == [
        (50000, 50000, 1150, 1150), (0, 0, 0, 0), (0, 0, 0, 0)]
    assert (second.principal_lowered, second.fee_lowered, second.overpayment) == (50000, 2300, 51150)
    assert owed(second.bills) == 0          # 50000 principal + 1150 fee of what is left: paid


def test_a_full_refund_waives_everything_and_returns_everything_repaid():
    bills = loan(300000, 3, RATES[3])
    bills[0] = Bill(1, bills[0].due_on, 100000, 2300, penalty=51, paid_principal=100000, paid_fee=2300, paid_penalty=51)
    bills[1] = Bill(2, bills[1].due_on, 100000, 2300, penalty=30)
    done = refund(bills, 300000, RATES[3], 0, 300000)
    assert (done.principal_lowered, done.fee_lowered, done.penalty_waived, done.overpayment) == (200000, 6900, 30, 102351)
    assert owed(done.bills) == 0


def test_penalties_are_untouched_by_a_partial_refund_and_the_fee_is_never_raised():
    bills = loan(300000, 3, RATES[3])
    bills[0] = Bill(1, bills[0].due_on, 100000, 2300, penalty=51)
    cut = refund(bills, 300000, RATES[3], 0, 1)                    # 299999 × 2.3% = 6899.977 ⇒ 6900
    assert cut.fee_lowered == 0 and cut.bills[0].penalty == 51 and cut.bills[2].principal == 99999
    assert fee_after_refund(100, 300000, RATES[3], 0) == 100       # never raised above what was charged
    with pytest.raises(ValueError):
        refund(bills, 300000, RATES[3], 299000, 1001)


@settings(max_examples=200)
@given(st.integers(3, 50000), st.sampled_from(sorted(RATES)), st.data())
def test_refunds_after_repayments_match_a_totals_replay(principal, periods, data):
    """Reference: only totals. After refunds totalling ΣR the loan is P' = P − ΣR with fee
    F' = min(F, fee(P')); whatever was repaid beyond P' of principal or F' of fee comes back."""
    rate = RATES[periods]
    bills = loan(principal, periods, rate)
    refunded = paid_p = paid_f = returned = 0
    fee_now = sum(b.fee for b in bills)
    for _ in range(data.draw(st.integers(1, 6))):
        if data.draw(st.booleans()) and owed(bills):
            parts = allocate(bills, data.draw(st.integers(1, owed(bills))))
            bills = apply(bills, parts)
            paid_p += sum(a.principal for a in parts)
            paid_f += sum(a.fee for a in parts)
        elif refunded < principal - 1:
            amount = data.draw(st.integers(1, principal - refunded - 1))      # partial refunds only
            out = refund(bills, principal, rate, refunded, amount)
            refunded += amount
            fee_now = min(fee_now, int((Decimal(principal - refunded) * rate / 100 + Decimal("0.5")) // 1))
            back = max(0, paid_p - (principal - refunded)) + max(0, paid_f - fee_now)
            assert out.overpayment == back
            paid_p, paid_f = min(paid_p, principal - refunded), min(paid_f, fee_now)
            returned += back
            bills = out.bills
        assert sum(b.principal for b in bills) == principal - refunded and sum(b.fee for b in bills) == fee_now
        assert sum(b.paid_principal for b in bills) == paid_p and sum(b.paid_fee for b in bills) == paid_f
        assert all(0 <= b.paid_principal <= b.principal and 0 <= b.paid_fee <= b.fee for b in bills)
