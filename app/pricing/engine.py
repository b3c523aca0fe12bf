"""The trial-pricing engine (DOMAIN §4.2–§4.6): `price(request)` → `PricingResult`.

Pure: no I/O, no clock (the request carries `now`), deterministic for equal input. The order
placement of the next issue calls the same function, so a preview and an order agree.
"""

from collections.abc import Mapping

from app.pricing.apportion import percent_off, platform_part
from app.pricing.item import ItemPrice, covers, price_items
from app.pricing.model import (
    AppliedCoupon,
    AppliedPromotion,
    Coupon,
    CouponKind,
    CouponOutcome,
    CouponStatus,
    Gift,
    Level,
    Line,
    LineResult,
    MerchantGroupResult,
    PricingRequest,
    PricingResult,
    Promotion,
    PromotionKind,
    PromotionReason,
    PromotionStatus,
    Reason,
    Share,
    ThresholdHint,
)
from app.pricing.search import (
    ORDER_KINDS,
    Outcome,
    Plan,
    best_outcome,
    coupon_covers,
    coupon_discount,
    shop_and_platform_candidates,
)


def price(request: PricingRequest) -> PricingResult:
    """Price the selected lines of one checkout."""
    lines = tuple(sorted(request.lines, key=lambda line: line.position))
    active = sorted((p for p in request.promotions if is_running(p, request)),
                    key=lambda p: p.id)
    items, reasons = price_items(lines, request.buyer, active)
    after_item = tuple(item.amount(line.quantity) for item, line in zip(items, lines))
    blocked = tuple(item.blocks_coupons for item in items)
    covered = {p.id: tuple(i for i, line in enumerate(lines) if covers(p, line)) for p in active}
    wallet = sorted(request.coupons, key=lambda c: c.id)
    scopes = {c.id: tuple(i for i, line in enumerate(lines) if coupon_covers(c, line))
              for c in wallet}
    unusable = {c.id: unusable_reason(c, scopes[c.id], after_item, blocked, request)
                for c in wallet}
    plan, pick_outcomes = _plan(request, lines, after_item, blocked, active, covered, wallet,
                                scopes, unusable)
    outcome, approximate = best_outcome(plan)
    applied_ids = {a.promotion.id for a in outcome.applied if a.promotion is not None}
    applied_ids.update(item.promotion_id for item in items if item.promotion_id is not None)
    gifts, gift_reasons = _gifts(after_item, active, covered, request.gift_stock)
    reasons.update(gift_reasons)
    reasons.update(_order_reasons(lines, after_item, active, covered, outcome, request,
                                  applied_ids))
    return _result(request, lines, items, outcome, approximate, active, covered, reasons, gifts,
                   _coupon_outcomes(wallet, unusable, outcome, pick_outcomes, request))


def is_running(p: Promotion, request: PricingRequest) -> bool:
    return (p.status is PromotionStatus.ACTIVE
            and (p.starts_at is None or p.starts_at <= request.now)
            and (p.ends_at is None or request.now < p.ends_at))


def unusable_reason(c: Coupon, scope: tuple[int, ...], after_item: tuple[int, ...],
                    blocked: tuple[bool, ...], request: PricingRequest) -> Reason | None:
    """The first reason in §4.6 precedence why the coupon cannot apply under any choice of
    promotions (leaving every line out of shop/platform promotions gives its largest base)."""
    if c.status is CouponStatus.USED:
        return Reason.USED
    if c.status is CouponStatus.EXPIRED or request.now >= c.expires_at:
        return Reason.EXPIRED
    if c.kind is CouponKind.NEW_USER and not request.buyer.is_new_user:
        return Reason.NOT_NEW_USER
    if not scope:
        return Reason.OUT_OF_SCOPE
    free = [i for i in scope if not blocked[i]]
    if not free:
        return Reason.NOT_STACKABLE
    base = sum(after_item[i] for i in free)
    if base < c.threshold:
        return Reason.BELOW_THRESHOLD
    if coupon_discount(c, base) == 0:
        return Reason.NO_DISCOUNT
    return None


def _plan(request: PricingRequest, lines: tuple[Line, ...], after_item: tuple[int, ...],
          blocked: tuple[bool, ...], active: list[Promotion], covered: dict[int, tuple[int, ...]],
          wallet: list[Coupon], scopes: dict[int, tuple[int, ...]], unusable: dict[int, Reason | None]) -> tuple[Plan, dict[int, Reason]]:
    """The search space; in pick mode only the accepted picks, with the pick's own reasons."""
    order_level = shop_and_platform_candidates(lines, after_item, active, covered)
    shop = [p for p in order_level if p.merchant_id is not None]
    platform = [p for p in order_level if p.merchant_id is None]
    merchants = tuple(dict.fromkeys(line.merchant_id for line in lines))
    usable = [c for c in wallet if unusable[c.id] is None]
    pick_reasons: dict[int, Reason] = {}
    picked: tuple[int, ...] = ()
    if request.picked_coupon_ids is not None:
        usable, pick_reasons = _accept_picks(request.picked_coupon_ids, wallet, unusable)
        picked = tuple(c.id for c in usable)
    else:
        usable = _one_of_each(usable, scopes)
    payments = tuple(sorted(
        (p for p in active if p.kind is PromotionKind.PAYMENT
         and request.payment_channel is not None and p.channel == request.payment_channel),
        key=lambda p: (-p.priority, p.id)))
    plan = Plan(
        lines=lines, after_item=after_item, item_blocked=blocked,
        promotions={p.id: p for p in order_level},
        shop_options=_options(len(lines), shop, covered),
        platform_options=_options(len(lines), platform, covered),
        merchants=merchants,
        shop_coupon_options=tuple(
            (None, *(c for c in usable if c.kind is CouponKind.SHOP and c.merchant_id == m))
            for m in merchants),
        platform_coupon_options=(None, *(c for c in usable if c.kind is not CouponKind.SHOP)),
        coupon_lines={c.id: tuple(i for i in scopes[c.id] if not blocked[i]) for c in usable},
        payments=payments,
        payment_lines={p.id: covered[p.id] for p in payments},
        picked=picked,
    )
    return plan, pick_reasons


def _one_of_each(coupons: list[Coupon], scopes: dict[int, tuple[int, ...]]) -> list[Coupon]:
    """Of coupons that would act alike on this cart (same terms, same lines), only the one the
    tie-break prefers (earliest expiry, then lowest id) can ever be chosen: the others leave the
    search (a buyer holding three copies of one coupon no longer triples the choices) and are
    reported NOT_BEST like any usable coupon not chosen."""
    kept: dict[tuple, Coupon] = {}
    for c in sorted(coupons, key=lambda c: (c.expires_at, c.id)):
        kept.setdefault((c.kind, c.merchant_id, c.threshold, c.amount, c.rate, c.cap, c.funding, scopes[c.id]), c)
    return sorted(kept.values(), key=lambda c: c.id)


def _options(n: int, promotions: list[Promotion], covered: dict[int, tuple[int, ...]]
             ) -> tuple[tuple[int | None, ...], ...]:
    """Per line: None (left out), then every covering promotion by id."""
    options: list[list[int | None]] = [[None] for _ in range(n)]
    for p in promotions:
        for i in covered[p.id]:
            options[i].append(p.id)
    return tuple(tuple(o) for o in options)


def _accept_picks(picked_ids: tuple[int, ...], wallet: list[Coupon],
                  unusable: dict[int, Reason | None]) -> tuple[list[Coupon], dict[int, Reason]]:
    """First picked wins its slot (one per shop, one platform); unknown ids are named."""
    by_id = {c.id: c for c in wallet}
    reasons: dict[int, Reason] = {}
    shops: set[int | None] = set()
    platform_taken = False
    accepted: list[Coupon] = []
    for cid in dict.fromkeys(picked_ids):
        c = by_id.get(cid)
        if c is None:
            reasons[cid] = Reason.UNKNOWN_COUPON
        elif c.kind is CouponKind.SHOP and c.merchant_id in shops:
            reasons[cid] = Reason.ONE_SHOP_COUPON_PER_SHOP
        elif c.kind is not CouponKind.SHOP and platform_taken:
            reasons[cid] = Reason.ONE_PLATFORM_COUPON_PER_ORDER
        else:
            if c.kind is CouponKind.SHOP:
                shops.add(c.merchant_id)
            else:
                platform_taken = True
            reason = unusable[cid]
            if reason is not None:
                reasons[cid] = reason
            else:
                accepted.append(c)
    return accepted, reasons


def _coupon_outcomes(wallet: list[Coupon], unusable: dict[int, Reason | None], outcome: Outcome,
                     pick_reasons: dict[int, Reason], request: PricingRequest
                     ) -> tuple[CouponOutcome, ...]:
    applied = {a.coupon.id for a in outcome.applied if a.coupon is not None}
    picked = request.picked_coupon_ids
    result = []
    for c in wallet:
        usable = unusable[c.id] is None
        if c.id in applied:
            result.append(CouponOutcome(c.id, True, True, None))
        elif picked is None:
            result.append(CouponOutcome(c.id, usable, False,
                                        Reason.NOT_BEST if usable else unusable[c.id]))
        elif c.id not in picked:
            result.append(CouponOutcome(c.id, usable, False,
                                        Reason.NOT_PICKED if usable else unusable[c.id]))
        else:
            result.append(CouponOutcome(c.id, usable, False,
                                        pick_reasons.get(c.id, Reason.CONFLICTS_WITH_PICK)))
    known = {c.id for c in wallet}
    for cid, reason in pick_reasons.items():
        if cid not in known:
            result.append(CouponOutcome(cid, False, False, reason))
    return tuple(result)


def _gifts(after_item: tuple[int, ...], active: list[Promotion],
           covered: dict[int, tuple[int, ...]], stock: Mapping[int, int]) -> tuple[dict[int, Gift], dict[int, Reason]]:
    """Gifts take no line slot and change no amount: threshold on the covered lines' amount
    after item level; stock is shared by gifts of one SKU, higher priority first."""
    left = dict(stock)
    gifts: dict[int, Gift] = {}
    reasons: dict[int, Reason] = {}
    for p in sorted((p for p in active if p.kind is PromotionKind.GIFT),
                    key=lambda p: (-p.priority, p.id)):
        idx = list(covered[p.id])
        if not idx:
            reasons[p.id] = Reason.NO_LINE_IN_SCOPE
        elif sum(after_item[i] for i in idx) < (p.threshold_amount or 0):
            reasons[p.id] = Reason.THRESHOLD_NOT_MET
        elif p.gift_sku_id is None or left.get(p.gift_sku_id, 0) < p.gift_quantity:
            reasons[p.id] = Reason.GIFT_OUT_OF_STOCK
        else:
            left[p.gift_sku_id] -= p.gift_quantity
            gifts[p.id] = Gift(p.id, p.gift_sku_id, p.gift_quantity)
    return gifts, reasons


def threshold_met(p: Promotion, base: int, items: int) -> bool:
    if p.kind is PromotionKind.FULL_REDUCTION:
        if p.per_every is not None:
            return base >= p.per_every.step
        return any(base >= t.threshold for t in p.tiers)
    if p.threshold_amount is not None:
        return base >= p.threshold_amount
    return items >= (p.threshold_items or 0)


def _order_reasons(lines: tuple[Line, ...], after_item: tuple[int, ...], active: list[Promotion],
                   covered: dict[int, tuple[int, ...]], outcome: Outcome, request: PricingRequest, applied_ids: set[int]
                   ) -> dict[int, Reason]:
    """One reason for every shop/platform/payment promotion the chosen outcome did not apply:
    scope first, then the kind's own condition, then value (docs/pricing.md)."""
    reasons: dict[int, Reason] = {}
    before_payment = _before(outcome, {Level.PAYMENT})
    for p in active:
        if p.id in applied_ids or p.kind not in (*ORDER_KINDS, PromotionKind.PAYMENT):
            continue
        idx = list(covered[p.id])
        if not idx:
            reasons[p.id] = Reason.NO_LINE_IN_SCOPE
        elif p.kind is PromotionKind.PAYMENT:
            base = sum(before_payment[i] for i in idx)
            if request.payment_channel is None or p.channel != request.payment_channel:
                reasons[p.id] = Reason.CHANNEL_MISMATCH
            elif base < (p.threshold_amount or 0):
                reasons[p.id] = Reason.THRESHOLD_NOT_MET
            elif p.remaining_budget is not None and p.remaining_budget < min(p.amount or 0, base):
                reasons[p.id] = Reason.BUDGET_EXHAUSTED
            else:
                reasons[p.id] = Reason.NOT_BENEFICIAL
        elif not threshold_met(p, sum(after_item[i] for i in idx),
                               sum(lines[i].quantity for i in idx)):
            reasons[p.id] = Reason.THRESHOLD_NOT_MET
        else:
            reasons[p.id] = Reason.NOT_BENEFICIAL
    return reasons


def _before(outcome: Outcome, levels: set[Level]) -> list[int]:
    """Per line amounts before the discounts of `levels` (their shares added back)."""
    amounts = list(outcome.amounts)
    for a in outcome.applied:
        if a.level in levels:
            for i, share in zip(a.line_indexes, a.shares):
                amounts[i] += share
    return amounts


def _hints(lines: tuple[Line, ...], after_item: tuple[int, ...], active: list[Promotion],
           covered: dict[int, tuple[int, ...]], outcome: Outcome, request: PricingRequest) -> tuple[ThresholdHint, ...]:
    """The nearest unmet threshold of every promotion that has one within reach: the amount it
    is computed on now, what is missing, and what the discount would become."""
    applied = {a.promotion.id: a for a in outcome.applied if a.promotion is not None}
    at_level = {Level.SHOP: list(after_item), Level.PLATFORM: list(outcome.after_shop_coupon)}
    before_payment = _before(outcome, {Level.PAYMENT})
    hints = []
    for p in active:
        idx = list(covered[p.id])
        if not idx:
            continue
        if p.kind in ORDER_KINDS:
            level = Level.SHOP if p.merchant_id is not None else Level.PLATFORM
            if p.id in applied:
                a = applied[p.id]
                base, done, idx = a.base, a.discount, list(a.line_indexes)
            else:
                same_level = {i for a in applied.values() if a.level is level
                              for i in a.line_indexes}
                idx = [i for i in idx if i not in same_level]
                base, done = sum(at_level[level][i] for i in idx), 0
            hint = _next_threshold(p, base, sum(lines[i].quantity for i in idx), done)
        elif p.kind is PromotionKind.GIFT:
            base = sum(after_item[i] for i in idx)
            threshold = p.threshold_amount or 0
            hint = (ThresholdHint(p.id, base, threshold, threshold - base, False, 0, 0)
                    if base < threshold else None)
        elif (p.kind is PromotionKind.PAYMENT and request.payment_channel == p.channel
              and p.id not in applied):
            base = sum(before_payment[i] for i in idx)
            threshold = p.threshold_amount or 0
            hint = (ThresholdHint(p.id, base, threshold, threshold - base, False, 0,
                                  min(p.amount or 0, threshold))
                    if base < threshold else None)
        else:
            hint = None
        if hint is not None:
            hints.append(hint)
    return tuple(hints)


def _next_threshold(p: Promotion, base: int, items: int, done: int) -> ThresholdHint | None:
    if p.kind is PromotionKind.FULL_REDUCTION and p.per_every is not None:
        rule = p.per_every
        if rule.step <= 0 or (rule.cap is not None and done >= rule.cap):
            return None
        target = (base // rule.step + 1) * rule.step
        gain = target // rule.step * rule.amount
        gain = gain if rule.cap is None else min(rule.cap, gain)
        return ThresholdHint(p.id, base, target, target - base, False, done, min(gain, target))
    if p.kind is PromotionKind.FULL_REDUCTION:
        for tier in sorted(p.tiers, key=lambda t: (t.threshold, t.amount)):
            if tier.threshold > base and tier.amount > done:
                return ThresholdHint(p.id, base, tier.threshold, tier.threshold - base, False,
                                     done, min(tier.amount, tier.threshold))
        return None
    rate = p.rate if p.rate is not None else 100
    if p.threshold_amount is not None:
        if base >= p.threshold_amount:
            return None
        return ThresholdHint(p.id, base, p.threshold_amount, p.threshold_amount - base, False,
                             done, percent_off(p.threshold_amount, rate))
    needed = p.threshold_items or 0
    if items >= needed:
        return None
    return ThresholdHint(p.id, items, needed, needed - items, True, done,
                         percent_off(base, rate))


def _result(request: PricingRequest, lines: tuple[Line, ...], items: list[ItemPrice],
            outcome: Outcome, approximate: bool, active: list[Promotion],
            covered: dict[int, tuple[int, ...]], reasons: dict[int, Reason], gifts: dict[int, Gift],
            coupon_outcomes: tuple[CouponOutcome, ...]) -> PricingResult:
    shares: list[list[Share]] = [[] for _ in lines]
    for a in outcome.applied:
        for i, amount in zip(a.line_indexes, a.shares):
            if amount:
                platform = platform_part(amount, a.funding)
                shares[i].append(Share(a.level, a.promotion.id if a.promotion else None,
                                       a.coupon.id if a.coupon else None, amount,
                                       a.funding.funder, platform, amount - platform))
    line_results = tuple(
        LineResult(
            sku_id=line.sku_id, position=line.position, merchant_id=line.merchant_id,
            quantity=line.quantity, price=line.price, unit_price=item.unit_price,
            member_price_applied=item.member_price_applied,
            goods_amount=item.unit_price * line.quantity, item_promotion_id=item.promotion_id,
            item_discount=item.discount, item_discount_platform=item.platform_discount,
            promo_units=item.promo_units, amount_after_item=item.amount(line.quantity),
            shares=tuple(shares[i]), paid_amount=outcome.amounts[i])
        for i, (line, item) in enumerate(zip(lines, items)))
    groups = tuple(_merchant_group(m, line_results, outcome, request,
                                   [g for pid, g in sorted(gifts.items())
                                    if _promotion(active, pid).merchant_id in (m, None)])
                   for m in dict.fromkeys(line.merchant_id for line in lines))
    goods = sum(r.goods_amount for r in line_results)
    item_discount = sum(r.item_discount for r in line_results)
    discount = item_discount + sum(a.discount for a in outcome.applied)
    shipping = sum(g.shipping for g in groups)
    by_id = {p.id: p for p in active}
    return PricingResult(
        lines=line_results, merchants=groups, goods_total=goods, item_discount=item_discount,
        total_discount=discount, shipping_total=shipping, payable=goods - discount + shipping,
        promotions=_item_promotions(line_results, by_id) + tuple(
            AppliedPromotion(a.promotion.id, a.promotion.kind, a.level,
                             a.promotion.merchant_id, a.discount, a.base,
                             tuple(lines[i].sku_id for i in a.line_indexes))
            for a in outcome.applied if a.promotion is not None) + tuple(
            AppliedPromotion(pid, PromotionKind.GIFT, Level.SHOP, by_id[pid].merchant_id, 0, 0,
                             ()) for pid in sorted(gifts)),
        coupons=tuple(AppliedCoupon(a.coupon.id, a.coupon.kind, a.level, a.coupon.merchant_id,
                                    a.discount, a.base,
                                    tuple(lines[i].sku_id for i in a.line_indexes))
                      for a in outcome.applied if a.coupon is not None),
        promotion_reasons=tuple(PromotionReason(pid, reasons[pid]) for pid in sorted(reasons)),
        coupon_outcomes=coupon_outcomes,
        hints=_hints(lines, tuple(r.amount_after_item for r in line_results), active, covered,
                     outcome, request),
        undeliverable_sku_ids=tuple(line.sku_id for line in lines if not line.deliverable),
        approximate=approximate,
    )


def _promotion(active: list[Promotion], pid: int) -> Promotion:
    return next(p for p in active if p.id == pid)


def _item_promotions(line_results: tuple[LineResult, ...], by_id: dict[int, Promotion]
                     ) -> tuple[AppliedPromotion, ...]:
    joined: dict[int, list[LineResult]] = {}
    for r in line_results:
        if r.item_promotion_id is not None:
            joined.setdefault(r.item_promotion_id, []).append(r)
    return tuple(
        AppliedPromotion(pid, by_id[pid].kind, Level.ITEM, by_id[pid].merchant_id,
                         sum(r.item_discount for r in rs), sum(r.goods_amount for r in rs),
                         tuple(r.sku_id for r in rs))
        for pid, rs in sorted(joined.items()))


def _merchant_group(merchant_id: int, line_results: tuple[LineResult, ...], outcome: Outcome,
                    request: PricingRequest, gifts: list[Gift]) -> MerchantGroupResult:
    """Shipping from the merchant's template: free at or over its threshold on the amount after
    shop promotions and the shop coupon; an unknown region pays the default fee; no template
    means no fee."""
    mine = [i for i, r in enumerate(line_results) if r.merchant_id == merchant_id]
    by_level = {level: 0 for level in Level}
    for i in mine:
        for s in line_results[i].shares:
            by_level[s.level] += s.amount
    subtotal = sum(line_results[i].goods_amount for i in mine)
    item_discount = sum(line_results[i].item_discount for i in mine)
    after_shop_coupon = sum(outcome.after_shop_coupon[i] for i in mine)
    template = request.freight_templates.get(merchant_id)
    if template is None or (template.free_threshold is not None and after_shop_coupon >= template.free_threshold):
        shipping = 0
    elif request.region is None:
        shipping = template.default_fee
    else:
        shipping = template.fee_by_region.get(request.region, template.default_fee)
    discount = item_discount + sum(by_level.values())
    return MerchantGroupResult(
        merchant_id=merchant_id, subtotal=subtotal, item_discount=item_discount,
        shop_promotion_discount=by_level[Level.SHOP],
        shop_coupon_discount=by_level[Level.SHOP_COUPON],
        platform_discount=by_level[Level.PLATFORM] + by_level[Level.PLATFORM_COUPON],
        payment_discount=by_level[Level.PAYMENT], discount=discount,
        amount_after_shop_coupon=after_shop_coupon, shipping=shipping,
        free_shipping=shipping == 0, gifts=tuple(gifts), paid_amount=subtotal - discount)
