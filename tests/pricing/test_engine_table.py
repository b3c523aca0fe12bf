"""Table tests of DOMAIN §4.2–§4.6 with hand-computed cents."""

from datetime import timedelta

from app.pricing import price, refund_amount, unit_amounts
from app.pricing.apportion import split_largest_remainder
from app.pricing.model import (
    BundleItem,
    Buyer,
    CouponKind,
    CouponStatus,
    FreightTemplate,
    Funder,
    Funding,
    Level,
    PerEvery,
    PromotionStatus,
    Reason,
    Scope,
    Tier,
)
from app.pricing.model import (
    PromotionKind as K,
)
from tests.pricing.builders import NOW, coupon, line, promo, request, skus

TIERS = (Tier(30000, 3000), Tier(50000, 6000))


def reasons(result):
    return {r.promotion_id: r.reason for r in result.promotion_reasons}


def coupon_reasons(result):
    return {c.coupon_id: c.reason for c in result.coupon_outcomes}


# ------------------------------------------------------------------ step 1 and item level

def test_member_price_is_the_unit_price_when_the_level_qualifies():
    lines = [line(1, 10000, qty=2, member_price=9000, member_level=2)]
    gold = price(request(lines, buyer=Buyer(member_level=2)))
    assert (gold.lines[0].unit_price, gold.goods_total, gold.total_discount) == (9000, 18000, 0)
    assert gold.lines[0].member_price_applied
    plain = price(request(lines, buyer=Buyer(member_level=1)))
    assert (plain.lines[0].unit_price, plain.payable) == (10000, 20000)


def test_direct_lowest_price_wins_and_ties_go_to_priority():
    lines = [line(1, 10000)]
    off = promo(1, K.DIRECT, unit_amount_off=1500)                    # 8500
    fixed = promo(2, K.DIRECT, promo_unit_price=8000)                 # 8000: lowest
    same = promo(3, K.DIRECT, promo_unit_price=8000, priority=5)      # tie, higher priority
    result = price(request(lines, [off, fixed, same]))
    assert result.lines[0].item_promotion_id == 3
    assert result.lines[0].item_discount == 2000
    assert reasons(result) == {1: Reason.NOT_LOWEST_PRICE, 2: Reason.NOT_LOWEST_PRICE}
    assert result.payable == 8000


def test_direct_per_buyer_cap_counts_earlier_purchases():
    lines = [line(1, 1000, qty=4)]
    capped = promo(7, K.DIRECT, unit_amount_off=200, per_buyer_cap=3)
    result = price(request(lines, [capped], buyer=Buyer(earlier_purchases={7: 1})))
    assert (result.lines[0].promo_units, result.lines[0].item_discount) == (2, 400)
    assert result.payable == 3600
    spent = price(request(lines, [capped], buyer=Buyer(earlier_purchases={7: 3})))
    assert reasons(spent) == {7: Reason.PER_BUYER_CAP_REACHED}
    assert spent.payable == 4000


def test_bundle_sets_split_by_largest_remainder_and_extra_units_pay_normal():
    lines = [line(1, 3000, qty=2), line(2, 2000)]
    bundle = promo(5, K.BUNDLE, bundle_items=(BundleItem(1, 1), BundleItem(2, 1)),
                   bundle_price=4000)
    result = price(request(lines, [bundle]))
    # one set: 5000 → 4000, 1000 off split 3000:2000; the second unit of SKU 1 pays 3000
    assert [r.item_discount for r in result.lines] == [600, 400]
    assert [r.amount_after_item for r in result.lines] == [5400, 1600]
    assert result.payable == 7000


def test_bundle_partly_present_and_tie_with_direct_keeps_direct():
    incomplete = price(request([line(1, 3000)], [
        promo(5, K.BUNDLE, bundle_items=(BundleItem(1, 1), BundleItem(2, 1)), bundle_price=4000)]))
    assert reasons(incomplete) == {5: Reason.BUNDLE_INCOMPLETE}
    lines = [line(1, 3000, qty=2), line(2, 2000)]
    bundle = promo(5, K.BUNDLE, bundle_items=(BundleItem(1, 1), BundleItem(2, 1)),
                   bundle_price=4000)
    direct = promo(6, K.DIRECT, scope=skus(1), unit_amount_off=500)   # 2 × 500 = 1000 = bundle
    tie = price(request(lines, [bundle, direct]))
    assert tie.lines[0].item_promotion_id == 6 and tie.lines[1].item_promotion_id is None
    assert reasons(tie) == {5: Reason.NOT_LOWEST_PRICE}
    cheaper = promo(5, K.BUNDLE, bundle_items=bundle.bundle_items, bundle_price=3900)
    won = price(request(lines, [cheaper, direct]))
    assert [r.item_promotion_id for r in won.lines] == [5, 5]
    assert won.item_discount == 1100 and reasons(won) == {6: Reason.NOT_LOWEST_PRICE}


# ------------------------------------------------------------------ shop level

def test_full_reduction_takes_the_best_tier_met_and_hints_the_next():
    result = price(request([line(1, 20000), line(2, 15000)],
                           [promo(1, K.FULL_REDUCTION, tiers=TIERS)]))
    assert result.total_discount == 3000
    # 3000 over 20000:15000 → 1714.28 / 1285.71 → 1714 + 1285 = 2999, the cent to line 2
    assert [r.shares[0].amount for r in result.lines] == [1714, 1286]
    (hint,) = result.hints
    assert (hint.current, hint.threshold, hint.missing, hint.current_discount,
            hint.next_discount) == (35000, 50000, 15000, 3000, 6000)


def test_per_every_is_capped():
    every = promo(1, K.FULL_REDUCTION, per_every=PerEvery(30000, 3000, cap=5000))
    assert price(request([line(1, 95000)], [every])).total_discount == 5000
    uncapped = promo(1, K.FULL_REDUCTION, per_every=PerEvery(30000, 3000))
    result = price(request([line(1, 95000)], [uncapped]))
    assert result.total_discount == 9000
    assert result.hints[0].missing == 25000 and result.hints[0].next_discount == 12000


def test_full_discount_item_count_threshold_rounds_half_up():
    rule = promo(1, K.FULL_DISCOUNT, rate=90, threshold_items=3)
    # 3 × 3333 = 9999; 10% = 999.9 → 1000
    assert price(request([line(1, 3333, qty=3)], [rule])).total_discount == 1000
    short = price(request([line(1, 3333, qty=2)], [rule]))
    assert reasons(short) == {1: Reason.THRESHOLD_NOT_MET}
    assert (short.hints[0].is_item_count, short.hints[0].missing) == (True, 1)


def test_gift_needs_its_threshold_and_stock_and_takes_no_slot():
    lines = [line(1, 30000)]
    gift = promo(2, K.GIFT, threshold_amount=20000, gift_sku_id=99)
    reduction = promo(1, K.FULL_REDUCTION, tiers=TIERS)
    given = price(request(lines, [gift, reduction], gift_stock={99: 1}))
    assert given.merchants[0].gifts[0].sku_id == 99
    assert given.total_discount == 3000                     # the reduction still applies
    out = price(request(lines, [gift], gift_stock={99: 0}))
    assert reasons(out) == {2: Reason.GIFT_OUT_OF_STOCK} and out.merchants[0].gifts == ()


# ------------------------------------------------------------------ coupons

def test_shop_coupon_threshold_is_checked_after_shop_promotions():
    lines = [line(1, 30000)]
    reduction = promo(1, K.FULL_REDUCTION, tiers=TIERS)
    low = price(request(lines, [reduction], [coupon(10, threshold=27000, amount=2000)]))
    assert low.total_discount == 5000
    # 30000 − 3000 = 27000 < 30000: both cannot apply; the reduction alone is worth more
    high = price(request(lines, [reduction], [coupon(10, threshold=30000, amount=2000)]))
    assert high.total_discount == 3000 and coupon_reasons(high) == {10: Reason.NOT_BEST}
    # picked, it is honoured: the reduction is left out to keep the coupon's threshold
    picked = price(request(lines, [reduction], [coupon(10, threshold=30000, amount=2000)],
                           picked_coupon_ids=(10,)))
    assert picked.total_discount == 2000 and coupon_reasons(picked) == {10: None}
    assert reasons(picked) == {1: Reason.NOT_BENEFICIAL}


def test_percent_coupon_cap_applies_after_rounding():
    result = price(request([line(1, 12345)], [], [coupon(1, rate=85, cap=1800)]))
    assert result.total_discount == 1800                    # 15% of 12345 = 1851.75 → 1852
    result = price(request([line(1, 10003)], [], [coupon(1, rate=85)]))
    assert result.total_discount == 1500                    # 1500.45 → 1500


def test_platform_coupon_across_two_merchants():
    lines = [line(1, 20000, merchant=1), line(2, 10001, merchant=2)]
    platform = coupon(1, CouponKind.PLATFORM, threshold=25000, amount=1000)
    result = price(request(lines, [], [platform]))
    # 1000 × 20000/30001 = 666.64, × 10001/30001 = 333.36 → 666 + 333 = 999, cent to line 1
    assert [r.shares[0].amount for r in result.lines] == [667, 333]
    assert [g.platform_discount for g in result.merchants] == [667, 333]
    assert all(r.shares[0].funder is Funder.PLATFORM for r in result.lines)


def test_platform_coupon_limited_to_categories():
    lines = [line(1, 20000, category=100), line(2, 10000, category=200)]
    limited = coupon(1, CouponKind.PLATFORM, category_ids=frozenset({200}), amount=500)
    result = price(request(lines, [], [limited]))
    assert [sum(s.amount for s in r.shares) for r in result.lines] == [0, 500]
    other = coupon(2, CouponKind.PLATFORM, category_ids=frozenset({300}), amount=500)
    assert coupon_reasons(price(request(lines, [], [other]))) == {2: Reason.OUT_OF_SCOPE}


def test_non_stackable_promotion_blocks_coupons_on_its_lines():
    blocking = promo(1, K.DIRECT, scope=skus(1), unit_amount_off=1000,
                     stackable_with_coupons=False)
    lines = [line(1, 10000), line(2, 5000)]
    ok = price(request(lines, [blocking], [coupon(10, threshold=5000, amount=500)]))
    assert [sum(s.amount for s in r.shares) for r in ok.lines] == [0, 500]
    below = price(request(lines, [blocking], [coupon(10, threshold=10000, amount=500)]))
    assert coupon_reasons(below) == {10: Reason.BELOW_THRESHOLD}
    alone = price(request([line(1, 10000)], [blocking], [coupon(10, amount=500)]))
    assert coupon_reasons(alone) == {10: Reason.NOT_STACKABLE}


def test_non_stackable_shop_promotion_is_left_out_when_the_coupon_is_worth_more():
    lines = [line(1, 10000)]
    reduction = promo(1, K.FULL_REDUCTION, tiers=(Tier(10000, 500),),
                      stackable_with_coupons=False)
    result = price(request(lines, [reduction], [coupon(10, amount=800)]))
    assert result.total_discount == 800 and reasons(result) == {1: Reason.NOT_BENEFICIAL}


def test_new_user_coupon_for_a_returning_buyer_and_precedence():
    wallet = [coupon(1, CouponKind.NEW_USER, amount=1000),
              coupon(2, status=CouponStatus.USED, expires_at=NOW - timedelta(days=1), amount=1),
              coupon(3, expires_at=NOW, amount=100),          # valid while now < expires_at
              coupon(4, amount=100, merchant=2),
              coupon(5, amount=0),
              coupon(6, threshold=99999, amount=100)]
    result = price(request([line(1, 5000)], [], wallet, buyer=Buyer(is_new_user=False)))
    assert coupon_reasons(result) == {1: Reason.NOT_NEW_USER, 2: Reason.USED, 3: Reason.EXPIRED,
                                      4: Reason.OUT_OF_SCOPE, 5: Reason.NO_DISCOUNT,
                                      6: Reason.BELOW_THRESHOLD}
    assert result.usable_coupon_ids == ()
    new = price(request([line(1, 5000)], [], wallet[:1], buyer=Buyer(is_new_user=True)))
    assert new.total_discount == 1000


def test_best_coupon_ties_go_to_the_earliest_expiry():
    wallet = [coupon(1, amount=500, expires_at=NOW + timedelta(days=9)),
              coupon(2, amount=500, expires_at=NOW + timedelta(days=3))]
    result = price(request([line(1, 5000)], [], wallet))
    assert [c.coupon_id for c in result.coupons] == [2]
    assert coupon_reasons(result) == {1: Reason.NOT_BEST, 2: None}


def test_buyer_pick_rules():
    wallet = [coupon(1, amount=100), coupon(2, amount=900),
              coupon(3, CouponKind.PLATFORM, amount=300),
              coupon(4, CouponKind.PLATFORM, amount=400)]
    lines = [line(1, 5000)]
    picked = price(request(lines, [], wallet, picked_coupon_ids=(1, 2, 3, 4, 77)))
    assert coupon_reasons(picked) == {1: None, 2: Reason.ONE_SHOP_COUPON_PER_SHOP, 3: None,
                                      4: Reason.ONE_PLATFORM_COUPON_PER_ORDER,
                                      77: Reason.UNKNOWN_COUPON}
    assert picked.total_discount == 400
    none = price(request(lines, [], wallet, picked_coupon_ids=()))
    assert none.total_discount == 0
    assert {c.reason for c in none.coupon_outcomes} == {Reason.NOT_PICKED}
    chosen = price(request(lines, [], wallet))
    assert [c.coupon_id for c in chosen.coupons] == [2, 4]


def test_picked_coupons_that_cannot_both_apply_keep_the_first():
    lines = [line(1, 10000)]
    shop = coupon(1, amount=2000)
    platform = coupon(2, CouponKind.PLATFORM, threshold=10000, amount=3000)
    result = price(request(lines, [], [shop, platform], picked_coupon_ids=(1, 2)))
    assert coupon_reasons(result) == {1: None, 2: Reason.CONFLICTS_WITH_PICK}
    assert result.total_discount == 2000


# ------------------------------------------------------------------ payment and shipping

def test_payment_discount_only_for_its_channel_threshold_after_coupons_and_budget():
    card = promo(1, K.PAYMENT, merchant=None, channel="BANK_CARD", threshold_amount=5000,
                 amount=1000)
    lines = [line(1, 6000)]
    assert price(request(lines, [card], payment_channel="BANK_CARD")).total_discount == 1000
    assert reasons(price(request(lines, [card], payment_channel="ALIPAY"))) == {
        1: Reason.CHANNEL_MISMATCH}
    assert reasons(price(request(lines, [card]))) == {1: Reason.CHANNEL_MISMATCH}
    # a 1500 coupon brings 6000 to 4500 < 5000; the coupon is worth more than the payment cut
    with_coupon = price(request(lines, [card], [coupon(9, amount=1500)],
                                payment_channel="BANK_CARD"))
    assert with_coupon.total_discount == 1500
    assert reasons(with_coupon) == {1: Reason.THRESHOLD_NOT_MET}
    poor = promo(1, K.PAYMENT, merchant=None, channel="BANK_CARD", amount=1000,
                 remaining_budget=999)
    assert reasons(price(request(lines, [poor], payment_channel="BANK_CARD"))) == {
        1: Reason.BUDGET_EXHAUSTED}


def test_shipping_free_threshold_after_shop_coupon_and_region_fees():
    template = FreightTemplate(1, default_fee=800, fee_by_region={"XZ": 2000},
                               free_threshold=9900)
    lines = [line(1, 10000)]
    free = price(request(lines, [], [], freight_templates={1: template}, region="XZ"))
    assert (free.shipping_total, free.payable) == (0, 10000)
    after_coupon = price(request(lines, [], [coupon(1, amount=200)],
                                 freight_templates={1: template}, region="XZ"))
    assert (after_coupon.shipping_total, after_coupon.payable) == (2000, 11800)
    unknown = price(request(lines, [], [coupon(1, amount=200)],
                            freight_templates={1: template}, region="ZZ"))
    assert unknown.shipping_total == 800
    blocked = price(request([line(1, 10000, deliverable=False)]))
    assert blocked.undeliverable_sku_ids == (1,)


def test_platform_reduction_thresholds_use_amounts_after_shop_coupons():
    lines = [line(1, 20000, merchant=1), line(2, 10000, merchant=2)]
    platform = promo(1, K.FULL_REDUCTION, merchant=None, tiers=(Tier(30000, 2000),))
    result = price(request(lines, [platform], [coupon(5, amount=100)]))
    # the platform reduction (2000) beats the shop coupon (100) that would break its threshold
    assert result.total_discount == 2000
    assert coupon_reasons(result) == {5: Reason.NOT_BEST}


def test_inactive_promotions_are_ignored():
    paused = promo(1, K.DIRECT, unit_amount_off=100, status=PromotionStatus.PAUSED)
    ended = promo(2, K.DIRECT, unit_amount_off=100, ends_at=NOW)
    result = price(request([line(1, 1000)], [paused, ended]))
    assert result.total_discount == 0 and result.promotion_reasons == ()


# ------------------------------------------------------------------ apportionment and funding

def test_split_funding_rounds_the_platform_part_half_up():
    lines = [line(1, 20000, merchant=1), line(2, 10001, merchant=2)]
    split = coupon(1, CouponKind.PLATFORM, amount=1000, funding=Funding(Funder.SPLIT, 30))
    result = price(request(lines, [], [split]))
    first = result.lines[0].shares[0]
    assert (first.amount, first.platform_amount, first.merchant_amount) == (667, 200, 467)
    second = result.lines[1].shares[0]
    assert (second.platform_amount, second.merchant_amount) == (100, 233)   # 99.9 → 100


def test_shop_promotion_on_disjoint_lines_and_levels_recorded():
    lines = [line(1, 30000), line(2, 20000)]
    a = promo(1, K.FULL_REDUCTION, scope=skus(1), tiers=(Tier(30000, 3000),))
    b = promo(2, K.FULL_DISCOUNT, scope=skus(2), rate=80, threshold_amount=20000)
    result = price(request(lines, [a, b]))
    assert result.total_discount == 7000
    assert [(s.level, s.promotion_id, s.amount) for r in result.lines for s in r.shares] == [
        (Level.SHOP, 1, 3000), (Level.SHOP, 2, 4000)]


def test_largest_remainder_ties_go_to_the_earlier_line():
    assert split_largest_remainder(1, [100, 100, 100]) == [1, 0, 0]
    assert split_largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert sum(split_largest_remainder(999, [7, 13, 29, 51])) == 999


def test_unit_split_for_partial_refunds():
    assert unit_amounts(1000, 3) == [334, 333, 333]
    steps = [refund_amount(1000, 3, 0, 1), refund_amount(1000, 3, 1, 2)]
    assert steps == [334, 666] and sum(steps) == 1000


def test_scope_by_category_ancestor_and_merchant():
    lines = [line(1, 10000, category=100), line(2, 10000, category=200, merchant=2)]
    by_ancestor = promo(1, K.FULL_REDUCTION, merchant=None,
                        scope=Scope(category_ids=frozenset({1})), tiers=(Tier(20000, 101),))
    result = price(request(lines, [by_ancestor]))
    assert [r.shares[0].amount for r in result.lines] == [51, 50]
    by_merchant = promo(2, K.FULL_REDUCTION, merchant=None, scope=Scope(merchant_id=2),
                        tiers=(Tier(10000, 100),))
    result = price(request(lines, [by_merchant]))
    assert result.promotions[0].sku_ids == (2,) and result.total_discount == 100


def test_copies_of_one_coupon_count_once_and_the_earliest_expiring_is_used():
    """Three copies of one platform coupon (as a buyer claiming it thrice holds) act alike: the
    earliest-expiring is applied, the others are usable and NOT_BEST; a copy with other terms is
    still a choice of its own."""
    lines = [line(1, 30000), line(2, 20000, merchant=2)]
    copies = [coupon(cid, CouponKind.PLATFORM, threshold=10000, amount=1000, expires_at=NOW + timedelta(days=d))
              for cid, d in ((1, 5), (2, 2), (3, 9))]
    better = coupon(4, CouponKind.PLATFORM, threshold=60000, amount=3000)
    result = price(request(lines, coupons=[*copies, better]))
    assert [(c.coupon_id, c.discount) for c in result.coupons] == [(2, 1000)]
    assert {o.coupon_id: (o.usable, o.reason) for o in result.coupon_outcomes} == {
        1: (True, Reason.NOT_BEST), 2: (True, None), 3: (True, Reason.NOT_BEST), 4: (False, Reason.BELOW_THRESHOLD)}
