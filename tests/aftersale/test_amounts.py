"""The refund of k units (DOMAIN §4.6): hand-worked tables, then a property test replaying refund
histories against a deliberately simple reference (cents dealt out one at a time)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.aftersale.amounts import next_units, refunds_shipping, unit_amount, units_amount


@pytest.mark.parametrize(("paid", "quantity", "units"), [
    (1000, 3, [334, 333, 333]),        # 1000 = 3 × 333 + 1: the first unit takes the extra cent
    (1001, 3, [334, 334, 333]),
    (999, 3, [333, 333, 333]),
    (5, 4, [2, 1, 1, 1]),
    (0, 2, [0, 0]),                    # a gift line refunds nothing
    (1, 3, [1, 0, 0]),
    (700, 1, [700]),
])
def test_the_unit_split(paid, quantity, units):
    assert [unit_amount(paid, quantity, u) for u in range(quantity)] == units
    assert sum(units) == paid


def test_refund_1_then_2_of_1000_over_3():
    first = next_units(3, [], 1)
    assert (first, units_amount(1000, 3, first)) == ([0], 334)
    rest = next_units(3, first, 2)
    assert (rest, units_amount(1000, 3, rest)) == ([1, 2], 666)
    assert next_units(3, first + rest, 1) == []


def test_a_unit_given_back_by_a_rejected_case_is_taken_first():
    # case A took unit 0 (334) and was rejected; case B holds unit 1: the next case takes unit 0
    assert next_units(3, [1], 1) == [0]
    assert units_amount(1000, 3, [0]) == 334
    assert next_units(3, [1, 0], 5) == [2]


@pytest.mark.parametrize(("before", "left", "refunds"), [
    (True, 0, True), (True, 1, False), (False, 0, False), (False, 3, False)])
def test_shipping_goes_back_only_with_the_whole_order_before_shipment(before, left, refunds):
    assert refunds_shipping(before, left) is refunds


def _reference_units(paid: int, quantity: int) -> list[int]:
    """Deal the cents out one at a time, unit after unit (the plainest largest remainder)."""
    units = [0] * quantity
    for cent in range(paid):
        units[cent % quantity] += 1
    return units


@st.composite
def histories(draw):
    quantity = draw(st.integers(1, 12))
    paid = draw(st.integers(0, 5000))
    # each step: ask for k units; the case is refunded or given back (rejected/closed)
    steps = draw(st.lists(st.tuples(st.integers(1, quantity), st.booleans()), max_size=20))
    return paid, quantity, steps


@given(histories())
def test_replayed_refund_histories_match_the_reference(history):
    paid, quantity, steps = history
    reference = _reference_units(paid, quantity)
    refunded: list[int] = []
    total = 0
    for k, refund in steps:
        units = next_units(quantity, refunded, k)
        assert units == sorted(set(range(quantity)) - set(refunded))[:k]     # the next free units
        amount = units_amount(paid, quantity, units)
        assert amount == sum(reference[u] for u in units)
        if refund:
            refunded += units
            total += amount
        assert total <= paid
    left = next_units(quantity, refunded, quantity)
    total += units_amount(paid, quantity, left)                              # refund what is left
    assert total == paid
