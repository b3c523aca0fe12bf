"""Steps 1 and 2 of §4.2: unit price and the item-level rule (DIRECT/PRESALE, then BUNDLE).

Item level is a rule, not a search: each line takes the item promotion giving its lowest total.
"""

from dataclasses import dataclass

from app.pricing.apportion import platform_part, split_largest_remainder
from app.pricing.model import Buyer, Funding, Line, Promotion, PromotionKind, Reason, Scope

UNIT_PRICE_KINDS = (PromotionKind.DIRECT, PromotionKind.PRESALE)


@dataclass(frozen=True)
class ItemPrice:
    """What step 2 decided for one line."""
    unit_price: int
    member_price_applied: bool
    promotion_id: int | None
    discount: int
    platform_discount: int
    promo_units: int
    blocks_coupons: bool           # its item promotion is not stackable with coupons

    def amount(self, quantity: int) -> int:
        return self.unit_price * quantity - self.discount


def unit_price(line: Line, buyer: Buyer) -> tuple[int, bool]:
    """Member price is the unit price when the buyer's level qualifies and it is lower."""
    if (line.member_price is not None and line.member_level is not None
            and buyer.member_level >= line.member_level and line.member_price < line.price):
        return line.member_price, True
    return line.price, False


def in_scope(scope: Scope, line: Line) -> bool:
    return (scope.whole_platform or line.sku_id in scope.sku_ids
            or line.merchant_id == scope.merchant_id
            or not scope.category_ids.isdisjoint(line.category_ids))


def covers(promotion: Promotion, line: Line) -> bool:
    """A merchant's promotion only ever covers its own lines; a platform one any line in scope."""
    return ((promotion.merchant_id is None or promotion.merchant_id == line.merchant_id)
            and in_scope(promotion.scope, line))


def default_funding(promotion: Promotion) -> Funding:
    if promotion.funding is not None:
        return promotion.funding
    if promotion.kind is PromotionKind.PAYMENT or promotion.merchant_id is None:
        return Funding.platform()
    return Funding.merchant()


def promo_unit_price(promotion: Promotion, price: int) -> int:
    if promotion.promo_unit_price is not None:
        return min(promotion.promo_unit_price, price)
    return max(0, price - (promotion.unit_amount_off or 0))


def price_items(lines: tuple[Line, ...], buyer: Buyer, promotions: list[Promotion]
                ) -> tuple[list[ItemPrice], dict[int, Reason]]:
    """Per line (in cart order) its step-2 price, and the reason of every item promotion that
    ended up on no line."""
    by_id = {p.id: p for p in promotions}
    directs = sorted((p for p in promotions if p.kind in UNIT_PRICE_KINDS),
                     key=lambda p: (-p.priority, p.id))
    bundles = sorted((p for p in promotions if p.kind is PromotionKind.BUNDLE),
                     key=lambda p: (-p.priority, p.id))
    units_left = {p.id: (None if p.per_buyer_cap is None
                         else max(0, p.per_buyer_cap - buyer.earlier_purchases.get(p.id, 0)))
                  for p in directs}
    reasons: dict[int, Reason] = {}
    bases = [unit_price(line, buyer) for line in lines]
    prices: list[ItemPrice] = []
    for line, (price, member) in zip(lines, bases):
        best: tuple[int, int, int] | None = None       # (discount, units, promotion id)
        for p in directs:
            if not covers(p, line):
                continue
            reasons.setdefault(p.id, Reason.NO_LINE_IN_SCOPE)
            left = units_left[p.id]
            units = line.quantity if left is None else min(line.quantity, left)
            discount = units * (price - promo_unit_price(p, price))
            if units == 0:
                _worse(reasons, p.id, Reason.PER_BUYER_CAP_REACHED)
            elif discount <= 0:
                _worse(reasons, p.id, Reason.NOT_BENEFICIAL)
            else:
                _worse(reasons, p.id, Reason.NOT_LOWEST_PRICE)
                if best is None or discount > best[0]:    # directs come by priority, then id
                    best = (discount, units, p.id)
        if best is None:
            prices.append(ItemPrice(price, member, None, 0, 0, 0, False))
            continue
        discount, units, pid = best
        cap_left = units_left[pid]
        if cap_left is not None:
            units_left[pid] = cap_left - units
        prices.append(_item_price(price, member, by_id[pid], discount, units))
    _apply_bundles(lines, prices, bundles, reasons)
    applied = {price.promotion_id for price in prices}
    return prices, {p.id: reasons.get(p.id, Reason.NO_LINE_IN_SCOPE)
                    for p in directs + bundles if p.id not in applied}


_ITEM_PRECEDENCE = (Reason.NO_LINE_IN_SCOPE, Reason.BUNDLE_INCOMPLETE, Reason.PER_BUYER_CAP_REACHED,
                    Reason.NOT_BENEFICIAL, Reason.NOT_LOWEST_PRICE)


def _worse(reasons: dict[int, Reason], pid: int, reason: Reason) -> None:
    """Keep the reason of the line that came closest to taking the promotion."""
    if _ITEM_PRECEDENCE.index(reason) > _ITEM_PRECEDENCE.index(reasons[pid]):
        reasons[pid] = reason


def _item_price(price: int, member: bool, promotion: Promotion, discount: int, units: int
                ) -> ItemPrice:
    return ItemPrice(price, member, promotion.id, discount,
                     platform_part(discount, default_funding(promotion)), units,
                     not promotion.stackable_with_coupons)


def _apply_bundles(lines: tuple[Line, ...], prices: list[ItemPrice], bundles: list[Promotion],
                   reasons: dict[int, Reason]) -> None:
    """Bundles replace the lines' DIRECT prices when the set's total is strictly lower; when
    bundles overlap, the largest saving goes first (ties: priority, then id)."""
    index = {line.sku_id: i for i, line in enumerate(lines)}
    taken: set[int] = set()
    offers: dict[int, tuple[list[int], list[int], int, int]] = {}
    for b in bundles:
        present = [index[item.sku_id] for item in b.bundle_items if item.sku_id in index]
        if not present:
            continue
        reasons[b.id] = Reason.BUNDLE_INCOMPLETE
        if len(present) < len(b.bundle_items):
            continue
        sets = min(lines[i].quantity // item.quantity for i, item in zip(present, b.bundle_items))
        if sets == 0:
            continue
        weights = [sets * item.quantity * prices[i].unit_price
                   for i, item in zip(present, b.bundle_items)]
        discount = sum(weights) - sets * (b.bundle_price or 0)
        if discount <= 0:
            reasons[b.id] = Reason.NOT_BENEFICIAL
            continue
        reasons[b.id] = Reason.NOT_LOWEST_PRICE
        offers[b.id] = (present, weights, discount, sets)
    by_id = {b.id: b for b in bundles}
    while True:
        best: tuple[int, int, int] | None = None    # (−saving, −priority, id)
        for bid, (present, _, discount, _) in offers.items():
            if taken.intersection(present):
                continue
            saving = discount - sum(prices[i].discount for i in present)
            if saving > 0:
                key = (-saving, -by_id[bid].priority, bid)
                best = key if best is None or key < best else best
        if best is None:
            return
        bid = best[2]
        present, weights, discount, sets = offers.pop(bid)
        shares = split_largest_remainder(discount, weights)
        bundle = by_id[bid]
        for i, share, item in zip(present, shares, bundle.bundle_items):
            prices[i] = _item_price(prices[i].unit_price, prices[i].member_price_applied, bundle,
                                    share, sets * item.quantity)
        taken.update(present)
