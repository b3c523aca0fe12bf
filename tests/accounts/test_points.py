"""Points and levels (DOMAIN §1): earned on completion, taken back by later refunds, levels by
lifetime points — numbers worked by hand, then random histories against a plain replay."""

import math
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.accounts.points import LEVEL_THRESHOLDS, level_for, points_for, taken_back_total
from app.orders import service
from tests.accounts.helpers import merchant, new_buyer, order


def now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- pure rules, by hand

@pytest.mark.parametrize(("paid", "points"), [(0, 0), (99, 0), (100, 1), (199, 1), (12_345, 123), (99_999, 999)])
def test_one_point_per_whole_yuan_paid(paid, points):
    assert points_for(paid) == points


@pytest.mark.parametrize(("lifetime", "level"), [(0, 0), (999, 0), (1_000, 1), (4_999, 1), (5_000, 2),
                                                  (19_999, 2), (20_000, 3), (50_000, 4), (10**9, 4)])
def test_levels_by_lifetime_points(lifetime, level):
    assert level_for(lifetime) == level


@pytest.mark.parametrize(("granted", "basis", "refunded", "back"), [
    (123, 12_345, 0, 0),
    (123, 12_345, 12_345, 123),        # a full refund takes back everything
    (123, 12_345, 5_000, 50),          # 123 × 5000 / 12345 = 49.82 → 50 (half-up)
    (123, 12_345, 6_172, 61),          # 61.49 → 61
    (123, 12_345, 6_173, 62),          # 61.5013 → 62
    (3, 300, 50, 1),                   # 0.5 → 1 (half-up)
    (3, 300, 49, 0),                   # 0.49 → 0
    (5, 500, 600, 5),                  # never more than the grant
])
def test_take_back_is_the_refunded_share_of_the_grant_half_up(granted, basis, refunded, back):
    assert taken_back_total(granted, basis, refunded) == back


# ---------------------------------------------------------------- hooks on the real database

async def _account(db, buyer_id):
    return await db.fetchrow("SELECT points, lifetime_points, member_level FROM buyers WHERE id = $1", buyer_id)


async def _complete(db):
    async with db.transaction() as conn:
        return await service.complete_due(conn, now(), now())


async def _refund(db, order_id, amount):
    async with db.transaction() as conn:
        await service.count_refund(conn, order_id, amount, now(), "test", "TEST")


async def test_completion_credits_once_and_raises_the_level(db, settings):
    buyer, _ = await new_buyer(db, settings)
    shop = await merchant(db)
    first = await order(db, buyer, shop, 60_050)           # 600.50 yuan → 600 points
    await _complete(db)
    await _complete(db)                                     # a rerun credits nothing more
    assert dict(await _account(db, buyer)) == {"points": 600, "lifetime_points": 600, "member_level": 0}
    await order(db, buyer, shop, 40_000)                   # +400 → 1,000: level 1
    await _complete(db)
    assert dict(await _account(db, buyer)) == {"points": 1000, "lifetime_points": 1000, "member_level": 1}
    ledger = await db.fetch("SELECT order_id, kind, points, level_after FROM points_ledger WHERE buyer_id = $1"
                            " ORDER BY id", buyer)
    assert [(r["kind"], r["points"], r["level_after"]) for r in ledger] == [
        ("ORDER_COMPLETED", 600, 0), ("ORDER_COMPLETED", 400, 1)]
    assert ledger[0]["order_id"] == first
    notices = await db.fetch("SELECT template, payload FROM buyer_notifications WHERE buyer_id = $1", buyer)
    assert [(n["template"], n["payload"]) for n in notices] == [("MEMBER_LEVEL_UP", {"from": 0, "to": 1})]
    events = await db.fetch("SELECT payload FROM outbox WHERE topic = 'account' AND event_type = 'POINTS_CHANGED'"
                            " AND (payload->>'buyer_id')::bigint = $1", buyer)
    assert len(events) == 2


async def test_refunds_after_completion_take_points_back_and_can_lower_the_level(db, settings):
    buyer, _ = await new_buyer(db, settings)
    shop = await merchant(db)
    big = await order(db, buyer, shop, 123_456)              # 1,234 points, level 1
    await _complete(db)
    assert (await _account(db, buyer))["member_level"] == 1
    await _refund(db, big, 50_000)                           # 1234 × 50000/123456 = 499.77 → 500 back
    assert dict(await _account(db, buyer)) == {"points": 734, "lifetime_points": 734, "member_level": 0}
    await _refund(db, big, 20_000)                           # cumulative 70000: 699.68 → 700, so 200 more
    assert (await _account(db, buyer))["points"] == 534
    await _refund(db, big, 53_456)                           # the rest: everything back
    assert dict(await _account(db, buyer)) == {"points": 0, "lifetime_points": 0, "member_level": 0}


async def test_a_refund_before_completion_lowers_what_completion_credits(db, settings):
    buyer, _ = await new_buyer(db, settings)
    shop = await merchant(db)
    o = await order(db, buyer, shop, 10_000)
    await _refund(db, o, 2_550)                              # refunded while RECEIVED: 74.50 paid
    await _complete(db)
    assert (await _account(db, buyer))["points"] == 74
    await _refund(db, o, 7_450)                              # the rest after completion: all 74 back
    assert (await _account(db, buyer))["points"] == 0


async def test_orders_paying_less_than_a_yuan_earn_nothing(db, settings):
    buyer, _ = await new_buyer(db, settings)
    o = await order(db, buyer, await merchant(db), 99)
    await _complete(db)
    await _refund(db, o, 99)
    assert dict(await _account(db, buyer)) == {"points": 0, "lifetime_points": 0, "member_level": 0}
    assert await db.fetchval("SELECT count(*) FROM points_ledger WHERE buyer_id = $1", buyer) == 0


# ---------------------------------------------------------------- random histories vs. a replay

def _replay(history: list[tuple[int, list[int]]]) -> tuple[int, int]:
    """The plain reference: each order pays `payable`, completes, then refunds come in order;
    points = Σ floor(payable/100) − Σ take-backs, where an order's take-backs in total are the
    refunded fraction of its grant, rounded half-up."""
    balance = 0
    for payable, refunds in history:
        grant = payable // 100
        refunded = min(sum(refunds), payable)
        back = 0 if grant == 0 else math.floor(Fraction(grant * refunded, payable) + Fraction(1, 2))
        balance += grant - back
    return balance, max(i for i, t in enumerate(LEVEL_THRESHOLDS) if t <= balance)


@st.composite
def histories(draw):
    orders = []
    for _ in range(draw(st.integers(1, 4))):
        payable = draw(st.integers(0, 300_000))
        refunds, left = [], payable
        for _ in range(draw(st.integers(0, 3))):
            if left == 0:
                break
            amount = draw(st.integers(1, left))
            refunds.append(amount)
            left -= amount
        orders.append((payable, refunds))
    return orders


@given(history=histories())
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
async def test_points_follow_the_replay_of_any_history(db, settings, history):
    buyer, _ = await new_buyer(db, settings)
    shop = await merchant(db)
    ids = [await order(db, buyer, shop, payable) for payable, _ in history]
    await _complete(db)
    for oid, (_, refunds) in zip(ids, history):
        for amount in refunds:
            await _refund(db, oid, amount)
    balance, level = _replay(history)
    account = await _account(db, buyer)
    assert (account["points"], account["lifetime_points"], account["member_level"]) == (balance, balance, level)
    ledger = await db.fetch("SELECT order_id, kind, points FROM points_ledger WHERE buyer_id = $1", buyer)
    for oid in ids:
        rows = [r for r in ledger if r["order_id"] == oid]
        granted = sum(r["points"] for r in rows if r["kind"] == "ORDER_COMPLETED")
        assert 0 <= -sum(r["points"] for r in rows if r["kind"] != "ORDER_COMPLETED") <= granted
