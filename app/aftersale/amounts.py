"""What an after-sale refunds (DOMAIN §4.4, §4.6, §10.1), as pure functions.

A line's paid amount is split over its units by largest remainder, earlier units first: every
unit gets floor(paid / quantity) and the first `paid mod quantity` units one cent more (the
remainders are all equal, so the tie rule decides). A case takes the lowest unit indexes no
other case holds (refunded, or under a case still open), so refunding every unit of a line, in
any number of cases, refunds exactly its paid amount. Shipping goes back only with the refund
that leaves no unit of the merchant order unrefunded, and only before the order ships.
"""

from collections.abc import Iterable, Sequence


def unit_amount(paid: int, quantity: int, unit: int) -> int:
    """The paid amount of unit `unit` (0-based) of a line."""
    assert 0 <= unit < quantity and paid >= 0
    return paid // quantity + (1 if unit < paid % quantity else 0)


def next_units(quantity: int, taken: Iterable[int], k: int) -> list[int]:
    """The `k` lowest unit indexes of a line of `quantity` units not in `taken`; fewer when
    fewer are left."""
    held = set(taken)
    return [u for u in range(quantity) if u not in held][:k]


def units_amount(paid: int, quantity: int, units: Sequence[int]) -> int:
    return sum(unit_amount(paid, quantity, u) for u in units)


def refunds_shipping(before_shipment: bool, units_left_after: int) -> bool:
    """Whether a refund also returns the order's shipping: the whole merchant order refunded
    (no unit left unrefunded once this refund counts) before it shipped."""
    return before_shipment and units_left_after == 0
