"""Steps 3–6 of §4.2 for one *choice* (which lines join which shop/platform promotion, which
coupon per shop, which platform coupon), and the best-price search of §4.3/§4.6 over choices.

The search is exhaustive when the choice space has at most `SEARCH_BOUND` combinations; beyond
that a greedy construction is used and the result is marked approximate (docs/pricing.md).
"""

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.pricing.apportion import percent_off, split_largest_remainder
from app.pricing.item import default_funding
from app.pricing.model import (
    Coupon,
    CouponKind,
    Funding,
    Level,
    Line,
    Promotion,
    PromotionKind,
)

SEARCH_BOUND = 2048      # combinations evaluated exhaustively; beyond ⇒ greedy, approximate
ORDER_KINDS = (PromotionKind.FULL_REDUCTION, PromotionKind.FULL_DISCOUNT)


def promotion_discount(p: Promotion, base: int, items: int) -> int:
    """FULL_REDUCTION / FULL_DISCOUNT over the joined lines' amount and item count; never more
    than the base."""
    if p.kind is PromotionKind.FULL_REDUCTION:
        if p.per_every is not None:
            rule = p.per_every
            off = base // rule.step * rule.amount if rule.step > 0 else 0
            off = off if rule.cap is None else min(rule.cap, off)
        else:
            off = max((t.amount for t in p.tiers if base >= t.threshold), default=0)
    else:
        if p.threshold_amount is not None:
            met = base >= p.threshold_amount
        else:
            met = items >= (p.threshold_items or 0)
        off = percent_off(base, p.rate if p.rate is not None else 100) if met else 0
    return max(0, min(off, base))


def coupon_discount(c: Coupon, base: int) -> int:
    if base <= 0 or base < c.threshold:
        return 0
    if c.amount is not None:
        off = c.amount
    else:
        off = percent_off(base, c.rate if c.rate is not None else 100)
        off = off if c.cap is None else min(c.cap, off)
    return max(0, min(off, base))


def coupon_covers(c: Coupon, line: Line) -> bool:
    if c.kind is CouponKind.SHOP and c.merchant_id != line.merchant_id:
        return False
    return not c.category_ids or not c.category_ids.isdisjoint(line.category_ids)


def default_coupon_funding(c: Coupon) -> Funding:
    if c.funding is not None:
        return c.funding
    return Funding.merchant() if c.kind is CouponKind.SHOP else Funding.platform()


@dataclass(frozen=True)
class Plan:
    """Everything fixed before the search: line amounts after item level and the options."""
    lines: tuple[Line, ...]
    after_item: tuple[int, ...]
    item_blocked: tuple[bool, ...]
    promotions: dict[int, Promotion]                  # shop- and platform-level candidates
    shop_options: tuple[tuple[int | None, ...], ...]  # per line: None, then promotion ids
    platform_options: tuple[tuple[int | None, ...], ...]
    merchants: tuple[int, ...]
    shop_coupon_options: tuple[tuple[Coupon | None, ...], ...]   # per merchant
    platform_coupon_options: tuple[Coupon | None, ...]
    coupon_lines: dict[int, tuple[int, ...]]          # coupon id → in-scope, unblocked lines
    payments: tuple[Promotion, ...]                   # request channel, by priority then id
    payment_lines: dict[int, tuple[int, ...]]
    picked: tuple[int, ...]                           # coupon ids in pick order (pick mode)


@dataclass(frozen=True)
class Choice:
    shop: tuple[int | None, ...]
    platform: tuple[int | None, ...]
    shop_coupons: tuple[Coupon | None, ...]
    platform_coupon: Coupon | None


@dataclass(frozen=True)
class Applied:
    """One discount above item level as applied under a choice, with its line shares."""
    level: Level
    promotion: Promotion | None
    coupon: Coupon | None
    line_indexes: tuple[int, ...]
    shares: tuple[int, ...]
    base: int
    discount: int
    funding: Funding


@dataclass(frozen=True)
class Outcome:
    choice: Choice
    applied: tuple[Applied, ...]
    amounts: tuple[int, ...]                          # per line after every share
    after_shop_coupon: tuple[int, ...]                # per line, for free shipping
    total: int
    key: tuple


def evaluate(plan: Plan, choice: Choice) -> Outcome | None:
    """Apply one choice in the order of §4.2. None when a joined non-stackable platform
    promotion turns out worth 0 (its block on coupons would be for nothing: the same choice
    without the join is always in the space and at least as good)."""
    amounts = list(plan.after_item)
    blocked = list(plan.item_blocked)
    applied: list[Applied] = []
    for i, pid in enumerate(choice.platform):
        if pid is not None and not plan.promotions[pid].stackable_with_coupons:
            blocked[i] = True
    for pid, idx in _groups(choice.shop):
        p = plan.promotions[pid]
        if _apply_promotion(plan, p, idx, amounts, applied, Level.SHOP) and \
                not p.stackable_with_coupons:
            for i in idx:
                blocked[i] = True
    for coupon in choice.shop_coupons:
        if coupon is not None:
            _apply_coupon(plan, coupon, Level.SHOP_COUPON, amounts, blocked, applied)
    after_shop_coupon = tuple(amounts)
    for pid, idx in _groups(choice.platform):
        p = plan.promotions[pid]
        if not _apply_promotion(plan, p, idx, amounts, applied, Level.PLATFORM) and \
                not p.stackable_with_coupons:
            return None
    if choice.platform_coupon is not None:
        _apply_coupon(plan, choice.platform_coupon, Level.PLATFORM_COUPON, amounts, blocked,
                      applied)
    payment = best_payment(plan, amounts)
    if payment is not None:
        p, idx, base, discount = payment
        _record(applied, Level.PAYMENT, p, None, idx, amounts, base, discount,
                default_funding(p))
    total = sum(a.discount for a in applied)
    return Outcome(choice, tuple(applied), tuple(amounts), after_shop_coupon, total,
                   _key(plan, applied, choice, total))


def best_payment(plan: Plan, amounts: list[int]
                 ) -> tuple[Promotion, tuple[int, ...], int, int] | None:
    """At most one payment discount: the largest whose threshold (after coupons) is met and
    whose remaining budget covers it whole; ties keep the higher priority, then lower id."""
    best = None
    for p in plan.payments:
        idx = plan.payment_lines[p.id]
        base = sum(amounts[i] for i in idx)
        if base < (p.threshold_amount or 0):
            continue
        discount = min(p.amount or 0, base)
        if discount <= 0 or (p.remaining_budget is not None and p.remaining_budget < discount):
            continue
        if best is None or discount > best[3]:
            best = (p, idx, base, discount)
    return best


def _groups(assignment: tuple[int | None, ...]) -> list[tuple[int, tuple[int, ...]]]:
    joined: dict[int, list[int]] = {}
    for i, pid in enumerate(assignment):
        if pid is not None:
            joined.setdefault(pid, []).append(i)
    return [(pid, tuple(idx)) for pid, idx in sorted(joined.items())]


def _apply_promotion(plan: Plan, p: Promotion, idx: tuple[int, ...], amounts: list[int],
                     applied: list[Applied], level: Level) -> bool:
    base = sum(amounts[i] for i in idx)
    discount = promotion_discount(p, base, sum(plan.lines[i].quantity for i in idx))
    if discount <= 0:
        return False
    _record(applied, level, p, None, idx, amounts, base, discount, default_funding(p))
    return True


def _apply_coupon(plan: Plan, coupon: Coupon, level: Level, amounts: list[int],
                  blocked: list[bool], applied: list[Applied]) -> None:
    idx = tuple(i for i in plan.coupon_lines[coupon.id] if not blocked[i])
    base = sum(amounts[i] for i in idx)
    discount = coupon_discount(coupon, base)
    if discount > 0:
        _record(applied, level, None, coupon, idx, amounts, base, discount,
                default_coupon_funding(coupon))


def _record(applied: list[Applied], level: Level, p: Promotion | None, c: Coupon | None,
            idx: tuple[int, ...], amounts: list[int], base: int, discount: int,
            funding: Funding) -> None:
    shares = split_largest_remainder(discount, [amounts[i] for i in idx])
    for i, share in zip(idx, shares):
        amounts[i] -= share
    applied.append(Applied(level, p, c, idx, tuple(shares), base, discount, funding))


def _key(plan: Plan, applied: list[Applied], choice: Choice, total: int) -> tuple:
    """Larger is better (§4.6 Search): the buyer's picks honoured in pick order, total discount,
    priorities from highest down, coupon expiries from earliest (no coupon beats a coupon),
    ids ascending, more line joins."""
    coupons = [a.coupon for a in applied if a.coupon is not None]
    promos = [a.promotion for a in applied if a.promotion is not None]
    used = {c.id for c in coupons}
    honoured = tuple(cid in used for cid in plan.picked)
    priorities = tuple(sorted((p.priority for p in promos), reverse=True))
    slots = len(plan.merchants) + 1
    expiries = sorted(_instant(c.expires_at) for c in coupons)
    expiry_key = tuple((0, -e) for e in expiries) + ((1,),) * (slots - len(expiries))
    ids = (tuple(-pid for pid in sorted(p.id for p in promos)),
           tuple(-cid for cid in sorted(used)))
    joins = sum(len(a.line_indexes) for a in applied if a.promotion is not None)
    return (honoured, total, priorities, expiry_key, ids, joins)


def _instant(moment: datetime) -> float:
    return moment.timestamp()


# ---------------------------------------------------------------- the search

def space_size(plan: Plan) -> int:
    sizes = [len(o) for o in plan.shop_options] + [len(o) for o in plan.platform_options]
    sizes += [len(o) for o in plan.shop_coupon_options] + [len(plan.platform_coupon_options)]
    return math.prod(sizes)


def all_choices(plan: Plan):
    """Every combination, in a fixed order (the first of equal keys wins)."""
    # a product of the per-part products walks the same order as one flat product
    for shop, platform, shop_coupons, platform_coupon in itertools.product(
            itertools.product(*plan.shop_options), itertools.product(*plan.platform_options),
            itertools.product(*plan.shop_coupon_options), plan.platform_coupon_options):
        yield Choice(shop, platform, shop_coupons, platform_coupon)


def best_outcome(plan: Plan) -> tuple[Outcome, bool]:
    """The best choice and whether it is approximate (greedy beyond the bound)."""
    if space_size(plan) <= SEARCH_BOUND:
        return _best(evaluate(plan, c) for c in all_choices(plan)), False
    return _greedy(plan), True


def _best(outcomes: Iterable[Outcome | None]) -> Outcome:
    best: Outcome | None = None
    for outcome in outcomes:
        if outcome is not None and (best is None or outcome.key > best.key):
            best = outcome
    assert best is not None, "the choice of no promotion and no coupon is always among them, and feasible"
    return best


def _greedy(plan: Plan) -> Outcome:
    """Documented fallback: every line joins the promotion worth most when all its candidate
    lines join (ties: priority, then id), once with and once without non-stackable promotions
    (once when there are none); then each shop takes its coupon worth most on that outcome
    (ties: earliest expiry, then id), then the platform coupon option (or none) with the best
    key. The better of the two variants wins."""
    outcomes = []
    blocking = any(not p.stackable_with_coupons for p in plan.promotions.values())
    for allow_blocking in (True, False) if blocking else (True,):   # the same walk twice otherwise
        shop = _greedy_assignment(plan, plan.shop_options, allow_blocking)
        platform = _greedy_assignment(plan, plan.platform_options, allow_blocking)
        no_coupons = tuple(None for _ in plan.merchants)
        current = evaluate(plan, Choice(shop, platform, no_coupons, None))
        if current is None:
            platform = tuple(None for _ in plan.lines)
            current = evaluate(plan, Choice(shop, platform, no_coupons, None))
            assert current is not None, "evaluate refuses only a joined platform promotion, and none is joined"
        shop_coupons = _best_shop_coupons(plan, current)
        for option in plan.platform_coupon_options:
            candidate = evaluate(plan, Choice(shop, platform, shop_coupons, option))
            if candidate is not None and candidate.key > current.key:
                current = candidate
        outcomes.append(current)
    return _best(outcomes)


def _best_shop_coupons(plan: Plan, outcome: Outcome) -> tuple[Coupon | None, ...]:
    blocked = set(i for i, b in enumerate(plan.item_blocked) if b)
    for a in outcome.applied:
        if a.promotion is not None and not a.promotion.stackable_with_coupons:
            blocked.update(a.line_indexes)
    amounts = outcome.after_shop_coupon
    chosen = []
    for options in plan.shop_coupon_options:
        best, best_key = None, None
        for c in options[1:]:
            assert c is not None, "an option list holds None first, then only coupons"
            worth = coupon_discount(c, sum(amounts[i] for i in plan.coupon_lines[c.id]
                                           if i not in blocked))
            key = (worth, -_instant(c.expires_at), -c.id)
            if worth > 0 and (best_key is None or key > best_key):
                best, best_key = c, key
        chosen.append(best)
    return tuple(chosen)


def _greedy_assignment(plan: Plan, options: tuple[tuple[int | None, ...], ...],
                       allow_blocking: bool) -> tuple[int | None, ...]:
    assignment: list[int | None] = [None] * len(plan.lines)
    joinable: dict[int, list[int]] = {}
    for i, o in enumerate(options):
        for pid in o[1:]:
            assert pid is not None, "an option list holds None first, then only promotion ids"
            if allow_blocking or plan.promotions[pid].stackable_with_coupons:
                joinable.setdefault(pid, []).append(i)
    candidates = sorted(joinable)
    while True:
        best = None
        for pid in candidates:
            p = plan.promotions[pid]
            idx = [i for i in joinable[pid] if assignment[i] is None]
            worth = promotion_discount(p, sum(plan.after_item[i] for i in idx),
                                       sum(plan.lines[i].quantity for i in idx)) if idx else 0
            key = (worth, p.priority, -pid)
            if worth > 0 and (best is None or key > best[0]):
                best = (key, pid, idx)
        if best is None:
            return tuple(assignment)
        _, pid, idx = best
        for i in idx:
            assignment[i] = pid
        candidates.remove(pid)


def shop_and_platform_candidates(lines: tuple[Line, ...], after_item: tuple[int, ...],
                                 promotions: list[Promotion], covered: dict[int, tuple[int, ...]]
                                 ) -> list[Promotion]:
    """Order-level promotions that can be worth something with every candidate line joined
    (discounts only grow with the joined amount and count, so the others never apply)."""
    keep = []
    for p in promotions:
        if p.kind not in ORDER_KINDS:
            continue
        idx = covered[p.id]
        if idx and promotion_discount(p, sum(after_item[i] for i in idx),
                                      sum(lines[i].quantity for i in idx)) > 0:
            keep.append(p)
    return keep
