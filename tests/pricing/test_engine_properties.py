"""Invariants of the engine over random small carts (hypothesis), and its choice against a
brute-force oracle that evaluates every combination of promotion joins and coupons."""

import dataclasses
import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.pricing import price
from app.pricing.item import covers, price_items
from app.pricing.model import (
    Buyer,
    CouponKind,
    CouponStatus,
    PerEvery,
    Scope,
    Tier,
)
from app.pricing.model import (
    PromotionKind as K,
)
from app.pricing.search import ORDER_KINDS, Choice, Plan, coupon_covers, evaluate
from tests.pricing.builders import NOW, coupon, line, promo, request

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

money = st.integers(min_value=1, max_value=200) .map(lambda x: x * 100 + x % 7)


@st.composite
def carts(draw):
    n = draw(st.integers(1, 3))
    lines = [line(sku=i + 1, price=draw(money), qty=draw(st.integers(1, 3)),
                  merchant=draw(st.sampled_from([1, 2])), category=draw(st.sampled_from([100, 200])),
                  position=n - i)
             for i in range(n)]
    promotions = []
    for pid in range(1, draw(st.integers(0, 3)) + 1):
        kind = draw(st.sampled_from([K.FULL_REDUCTION, K.FULL_DISCOUNT, K.DIRECT]))
        merchant = draw(st.sampled_from([1, 2, None])) if kind is not K.DIRECT else 1
        scope = draw(st.sampled_from([Scope(whole_platform=True),
                                      Scope(category_ids=frozenset({100})),
                                      Scope(sku_ids=frozenset({1, 2}))]))
        common = dict(scope=scope, priority=draw(st.integers(0, 2)),
                      stackable_with_coupons=draw(st.booleans()))
        if kind is K.DIRECT:
            extra = dict(unit_amount_off=draw(st.integers(0, 3000)))
        elif kind is K.FULL_DISCOUNT:
            extra = dict(rate=draw(st.integers(50, 100)),
                         threshold_amount=draw(st.one_of(st.none(), money)),
                         threshold_items=draw(st.integers(0, 4)))
        elif draw(st.booleans()):
            extra = dict(per_every=PerEvery(draw(money), draw(money),
                                            draw(st.one_of(st.none(), money))))
        else:
            extra = dict(tiers=tuple(Tier(draw(money), draw(money))
                                     for _ in range(draw(st.integers(1, 2)))))
        promotions.append(promo(pid, kind, merchant, **common, **extra))
    coupons = []
    for cid in range(1, draw(st.integers(0, 3)) + 1):
        kind = draw(st.sampled_from(list(CouponKind)))
        value = (dict(amount=draw(money)) if draw(st.booleans())
                 else dict(rate=draw(st.integers(50, 99)), cap=draw(st.one_of(st.none(), money))))
        coupons.append(coupon(
            cid, kind, merchant=draw(st.sampled_from([1, 2])), threshold=draw(money) - 100,
            category_ids=draw(st.sampled_from([frozenset(), frozenset({200})])),
            expires_at=NOW + timedelta(days=draw(st.integers(0, 3))),
            status=draw(st.sampled_from([CouponStatus.UNUSED] * 4 + [CouponStatus.USED])),
            **value))
    picked = draw(st.one_of(st.none(), st.lists(st.integers(1, 4), max_size=3).map(tuple)))
    return request(lines, promotions, coupons, buyer=Buyer(is_new_user=draw(st.booleans())),
                   picked_coupon_ids=picked)


def oracle_best_total(req) -> int:
    """Every join of every line to every covering promotion and every coupon combination,
    without the engine's pruning or usability filters."""
    lines = tuple(sorted(req.lines, key=lambda x: x.position))
    items, _ = price_items(lines, req.buyer, list(req.promotions))
    after_item = tuple(i.amount(x.quantity) for i, x in zip(items, lines))
    blocked = tuple(i.blocks_coupons for i in items)
    order = [p for p in req.promotions if p.kind in ORDER_KINDS]
    wallet = [c for c in req.coupons
              if c.status is CouponStatus.UNUSED and NOW < c.expires_at
              and (c.kind is not CouponKind.NEW_USER or req.buyer.is_new_user)]
    merchants = tuple(dict.fromkeys(x.merchant_id for x in lines))
    plan = Plan(
        lines=lines, after_item=after_item, item_blocked=blocked,
        promotions={p.id: p for p in order},
        shop_options=tuple((None, *(p.id for p in order if p.merchant_id and covers(p, x)))
                           for x in lines),
        platform_options=tuple((None, *(p.id for p in order
                                        if p.merchant_id is None and covers(p, x)))
                               for x in lines),
        merchants=merchants,
        shop_coupon_options=tuple((None, *(c for c in wallet if c.kind is CouponKind.SHOP
                                           and c.merchant_id == m)) for m in merchants),
        platform_coupon_options=(None, *(c for c in wallet if c.kind is not CouponKind.SHOP)),
        coupon_lines={c.id: tuple(i for i, x in enumerate(lines)
                                  if coupon_covers(c, x) and not blocked[i]) for c in wallet},
        payments=(), payment_lines={}, picked=())
    n = len(lines)
    best = 0
    for combo in itertools.product(*plan.shop_options, *plan.platform_options,
                                   *plan.shop_coupon_options, plan.platform_coupon_options):
        outcome = evaluate(plan, Choice(combo[:n], combo[n:2 * n], combo[2 * n:-1], combo[-1]))
        if outcome is not None:
            best = max(best, outcome.total)
    return best


@SETTINGS
@given(carts())
def test_shares_sum_exactly_and_no_line_goes_below_zero(req):
    result = price(req)
    per_source: dict[tuple, int] = {}
    for r in result.lines:
        assert r.paid_amount >= 0
        assert r.paid_amount == r.amount_after_item - sum(s.amount for s in r.shares)
        for s in r.shares:
            assert s.amount > 0 and s.platform_amount + s.merchant_amount == s.amount
            key = (s.level, s.promotion_id, s.coupon_id)
            per_source[key] = per_source.get(key, 0) + s.amount
    applied = {(a.level, a.promotion_id, None): a.discount for a in result.promotions
               if a.discount and a.level.value != "ITEM"}
    applied.update({(c.level, None, c.coupon_id): c.discount for c in result.coupons})
    assert per_source == applied
    assert result.payable == result.goods_total - result.total_discount + result.shipping_total
    assert result.total_discount == result.item_discount + sum(applied.values())


@SETTINGS
@given(carts())
def test_every_candidate_gets_exactly_one_reason(req):
    result = price(req)
    for outcome in result.coupon_outcomes:
        assert (outcome.reason is None) == outcome.applied
    applied = {p.promotion_id for p in result.promotions}
    reasoned = {r.promotion_id for r in result.promotion_reasons}
    assert applied.isdisjoint(reasoned)
    assert applied | reasoned == {p.id for p in req.promotions}


@SETTINGS
@given(carts())
def test_engine_choice_is_as_good_as_the_brute_force_oracle(req):
    free = dataclasses.replace(req, picked_coupon_ids=None)
    result = price(free)
    found = result.total_discount - result.item_discount
    best = oracle_best_total(free)
    assert found <= best
    if not result.approximate:
        assert found == best


@SETTINGS
@given(carts(), st.randoms(use_true_random=False))
def test_same_input_same_output_whatever_the_input_order(req, rnd):
    shuffled = dataclasses.replace(
        req, lines=tuple(rnd.sample(req.lines, len(req.lines))),
        promotions=tuple(rnd.sample(req.promotions, len(req.promotions))),
        coupons=tuple(rnd.sample(req.coupons, len(req.coupons))))
    assert price(req) == price(req) == price(shuffled)
