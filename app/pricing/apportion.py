"""Whole-cent arithmetic of §4.4 and §4.6: largest-remainder splits, half-up percentages and the
funder's part of a share. Every split here sums exactly to what it splits."""

from app.pricing.model import Funder, Funding


def split_largest_remainder(total: int, weights: list[int]) -> list[int]:
    """`total` over `weights` in proportion, whole cents; the leftover cents go to the largest
    fractional remainders, ties to the earlier weight. With total ≤ Σ weights no part exceeds
    its weight, so no line goes below 0."""
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    parts = [total * w // whole for w in weights]
    left = total - sum(parts)
    if left:
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
        for i in order[:left]:
            parts[i] += 1
    return parts


def percent_off(base: int, rate: int) -> int:
    """Discount of paying `rate` percent of `base`, rounded half-up (90 = 10% off)."""
    return (base * (100 - rate) + 50) // 100


def platform_part(share: int, funding: Funding) -> int:
    """The platform's cents of one share: all, none, or round-half-up(share × p / 100)."""
    if funding.funder is Funder.PLATFORM:
        return share
    if funding.funder is Funder.MERCHANT:
        return 0
    return (share * funding.platform_percent + 50) // 100


def unit_amounts(paid_amount: int, quantity: int) -> list[int]:
    """A line's paid amount over its units (§4.6 partial refunds): equal weights, so the
    earlier units carry the leftover cents."""
    return split_largest_remainder(paid_amount, [1] * quantity)


def refund_amount(paid_amount: int, quantity: int, refunded_units: int, units: int) -> int:
    """What refunding the next `units` units returns after `refunded_units` were refunded; refunding
    every unit in any number of steps returns exactly `paid_amount`."""
    if units < 0 or refunded_units < 0 or refunded_units + units > quantity:
        raise ValueError("refund exceeds the line's quantity")
    return sum(unit_amounts(paid_amount, quantity)[refunded_units:refunded_units + units])
