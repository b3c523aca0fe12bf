"""Installment arithmetic of DOMAIN §8 / §8.1, exact to the cent and free of I/O, so every rule
is tested on its own (tests/credit/test_schedule.py: hand-worked tables, and properties against
a plain reference) and the loan services only store what these functions return.

- `schedule`: 等本等费 — principal per period floor(P / n), remainder on period 1; total fee
  round-half-up(P × rate); fee per period floor(fee / n), remainder on period 1.
- `due_dates`: bill i falls on the due day of the i-th calendar month after the loan's month.
- `daily_penalty`: what one overdue day adds to a bill (no compounding).
- `allocate`: a repayment, oldest bill first, within a bill penalty → fee → principal.
- `payoff`: early payoff — overdue bills and the current bill in full, later bills' principal;
  later unpaid fees waived.
- `refund`: a refund of R on a credit order — unpaid principal lowered from the last bill
  backwards, the fee recomputed on what is left (never raised) and lowered the same way,
  whatever exceeds the unpaid amounts becomes overpayment.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

PERIODS = (3, 6, 9, 12)


def half_up(value: Decimal) -> int:
    """Round a cent amount to whole cents, halves away from zero (amounts here are never negative)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def total_fee(principal: int, rate_percent: Decimal) -> int:
    """The plan's fee: `rate_percent` is the total fee in percent of principal (2.3 for 2.3%)."""
    return half_up(Decimal(principal) * rate_percent / 100)


@dataclass(frozen=True)
class Installment:
    principal: int
    fee: int

    @property
    def amount(self) -> int:
        return self.principal + self.fee


def _spread(total: int, n: int) -> list[int]:
    """floor(total / n) per period, the remainder on period 1."""
    each, rest = divmod(total, n)
    return [each + rest] + [each] * (n - 1)


def schedule(principal: int, periods: int, rate_percent: Decimal) -> list[Installment]:
    """The bills of a loan of `principal` cents over `periods` at `rate_percent` (等本等费). An
    interest-free plan is the same schedule with rate 0 for the buyer; its subsidiser pays
    `total_fee` of the plan's own rate."""
    if principal <= 0 or periods not in PERIODS or rate_percent < 0:
        raise ValueError(f"no schedule for principal {principal}, {periods} periods, rate {rate_percent}%")
    fee = total_fee(principal, rate_percent)
    return [Installment(p, f) for p, f in zip(_spread(principal, periods), _spread(fee, periods), strict=True)]


def due_dates(loan_day: date, due_day: int, periods: int) -> list[date]:
    """Due dates of the bills: the `due_day` (1–28, so every month has it) of each of the
    `periods` calendar months after the loan's month (loan 01-15, due day 10 ⇒ 02-10, 03-10…)."""
    if not 1 <= due_day <= 28:
        raise ValueError("the due day is 1..28")
    months = loan_day.year * 12 + loan_day.month - 1
    return [date((months + i) // 12, (months + i) % 12 + 1, due_day) for i in range(1, periods + 1)]


@dataclass(frozen=True)
class Bill:
    """One period of a loan as it stands: what it asks (principal, fee, penalty accrued so far)
    and what was paid of each."""
    period: int
    due_on: date
    principal: int
    fee: int
    penalty: int = 0
    paid_principal: int = 0
    paid_fee: int = 0
    paid_penalty: int = 0

    @property
    def unpaid_principal(self) -> int:
        return self.principal - self.paid_principal

    @property
    def unpaid_fee(self) -> int:
        return self.fee - self.paid_fee

    @property
    def unpaid_penalty(self) -> int:
        return self.penalty - self.paid_penalty

    @property
    def owed(self) -> int:
        return self.unpaid_principal + self.unpaid_fee + self.unpaid_penalty

    def overdue_on(self, day: date) -> bool:
        """Overdue from the day after its due date while anything is unpaid."""
        return day > self.due_on and self.owed > 0


def bills_of(installments: Sequence[Installment], dues: Sequence[date]) -> list[Bill]:
    return [Bill(i, d, x.principal, x.fee) for i, (x, d) in enumerate(zip(installments, dues, strict=True), 1)]


def daily_penalty(bill: Bill, day: date, daily_rate: Decimal, grace_days: int = 0) -> int:
    """What `day` adds to the bill's penalty: round-half-up((unpaid principal + unpaid fee) ×
    daily rate) once the day is past the due date and the grace days; never on the penalty itself."""
    if (day - bill.due_on).days <= grace_days:
        return 0
    return half_up(Decimal(bill.unpaid_principal + bill.unpaid_fee) * daily_rate)


@dataclass(frozen=True)
class Allocation:
    period: int
    penalty: int
    fee: int
    principal: int

    @property
    def amount(self) -> int:
        return self.penalty + self.fee + self.principal


def owed(bills: Sequence[Bill]) -> int:
    """Everything the buyer still owes: the most one repayment may be."""
    return sum(b.owed for b in bills)


def allocate(bills: Sequence[Bill], amount: int) -> list[Allocation]:
    """Where a repayment of `amount` goes: oldest bill first, within a bill penalty → fee →
    principal (paying ahead pays future fees too). More than is owed is refused."""
    if amount <= 0 or amount > owed(bills):
        raise ValueError(f"a repayment is 1..{owed(bills)} cents, not {amount}")
    left, parts = amount, []
    for b in sorted(bills, key=lambda b: b.period):
        pen = min(left, b.unpaid_penalty)
        fee = min(left - pen, b.unpaid_fee)
        prin = min(left - pen - fee, b.unpaid_principal)
        if pen or fee or prin:
            parts.append(Allocation(b.period, pen, fee, prin))
        left -= pen + fee + prin
        if not left:
            break
    return parts


def apply(bills: Sequence[Bill], parts: Sequence[Allocation]) -> list[Bill]:
    """The bills after the allocations are paid."""
    by_period = {a.period: a for a in parts}
    return [b if b.period not in by_period else
            replace(b, paid_penalty=b.paid_penalty + by_period[b.period].penalty,
                    paid_fee=b.paid_fee + by_period[b.period].fee,
                    paid_principal=b.paid_principal + by_period[b.period].principal)
            for b in bills]


@dataclass(frozen=True)
class Payoff:
    amount: int                     # what the buyer pays today to close the loan
    waived_fees: dict[int, int]     # period → unpaid fee waived


def payoff(bills: Sequence[Bill], today: date) -> Payoff:
    """Early payoff on `today`: overdue bills in full, the current bill (the first due on or
    after today) in full, and the unpaid principal of every later bill, whose unpaid fees are
    waived (fees already paid are kept)."""
    ordered = sorted(bills, key=lambda b: b.period)
    current = next((b.period for b in ordered if b.due_on >= today), None)
    amount, waived = 0, {}
    for b in ordered:
        if current is None or b.period <= current:
            amount += b.owed
        else:
            amount += b.unpaid_principal + b.unpaid_penalty
            if b.unpaid_fee:
                waived[b.period] = b.unpaid_fee
    return Payoff(amount, waived)


@dataclass(frozen=True)
class Refunded:
    bills: list[Bill]
    principal_lowered: int          # unpaid principal no longer owed
    fee_lowered: int                # fee no longer charged (unpaid part waived + paid part returned)
    penalty_waived: int             # unpaid penalty no longer owed (a full refund only)
    overpayment: int                # repaid money owed back to the buyer (溢缴款)


def fee_after_refund(fee_now: int, principal: int, rate_percent: Decimal, refunded_total: int) -> int:
    """The fee once `refunded_total` of `principal` is refunded: recomputed on what is left, never
    raised. Also what an interest-free plan's subsidiser is charged after the refund."""
    return min(fee_now, total_fee(principal - refunded_total, rate_percent))


def _lower_from_last(bills: list[Bill], amount: int, room, lower) -> tuple[list[Bill], int]:
    """Lower `amount` from the bills, last bill first, each by at most room(bill); returns the
    bills and what could not be lowered."""
    out = list(bills)
    for i in range(len(out) - 1, -1, -1):
        if not amount:
            break
        cut = min(amount, room(out[i]))
        if cut:
            out[i] = lower(out[i], cut)
            amount -= cut
    return out, amount


def refund(bills: Sequence[Bill], principal: int, rate_percent: Decimal, refunded_before: int,
           amount: int) -> Refunded:
    """A refund of `amount` on a loan of `principal` at `rate_percent` that had `refunded_before`
    refunded already (§8.1). Unpaid principal is lowered from the last bill backwards; the fee is
    recomputed on what is left (never raised) and lowered the same way; what exceeds the unpaid
    amounts was repaid and comes back as overpayment (the bills' paid amounts fall with it).
    Penalties are untouched. A refund bringing the total to the whole principal closes the loan:
    everything owed is waived and everything repaid, penalties too, comes back."""
    if amount <= 0 or refunded_before + amount > principal:
        raise ValueError(f"a refund is 1..{principal - refunded_before} cents, not {amount}")
    ordered = sorted(bills, key=lambda b: b.period)
    if refunded_before + amount == principal:
        return Refunded([replace(b, principal=0, fee=0, penalty=0, paid_principal=0, paid_fee=0, paid_penalty=0)
                         for b in ordered],
                        sum(b.unpaid_principal for b in ordered), sum(b.fee for b in ordered),
                        sum(b.unpaid_penalty for b in ordered),
                        sum(b.paid_principal + b.paid_fee + b.paid_penalty for b in ordered))
    fee_now = sum(b.fee for b in ordered)
    fee_cut = fee_now - fee_after_refund(fee_now, principal, rate_percent, refunded_before + amount)
    lowered, principal_repaid = _lower_from_last(ordered, amount, lambda b: b.unpaid_principal,
                                                 lambda b, cut: replace(b, principal=b.principal - cut))
    lowered, fee_repaid = _lower_from_last(lowered, fee_cut, lambda b: b.unpaid_fee,
                                           lambda b, cut: replace(b, fee=b.fee - cut))
    # what was repaid already comes back: every unpaid amount of its kind is 0 by now
    lowered, left = _lower_from_last(lowered, principal_repaid, lambda b: b.paid_principal,
                                     lambda b, cut: replace(b, principal=b.principal - cut,
                                                            paid_principal=b.paid_principal - cut))
    lowered, left2 = _lower_from_last(lowered, fee_repaid, lambda b: b.paid_fee,
                                      lambda b, cut: replace(b, fee=b.fee - cut, paid_fee=b.paid_fee - cut))
    assert not left and not left2, "refund beyond what the loan holds"
    return Refunded(lowered, amount - principal_repaid, fee_cut, 0, principal_repaid + fee_repaid)
