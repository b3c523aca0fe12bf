"""The kind-specific rule of a promotion: which fields each kind takes, their checks, and the
mapping of a stored promotion onto the engine's `app.pricing.model.Promotion`.

A rule is stored as a JSON object whose keys are the engine's field names (`tiers`,
`per_every`, `rate`, …), so a stored promotion and an engine promotion never disagree on what a
field means. Money is int cents, `rate` is percent paid (90 = 10% off).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import Problem
from app.pricing.model import (
    BundleItem,
    Funder,
    Funding,
    PerEvery,
    Promotion,
    PromotionKind,
    PromotionStatus,
    Scope,
    Tier,
)
from app.promotions.errors import PromotionError

MAX_MONEY = 10**10               # ¥100,000,000: anything above is a typo
MAX_TIERS = 10
MAX_BUNDLE_ITEMS = 10
PAYMENT_CHANNELS = ("WECHAT", "ALIPAY", "BANK_CARD", "CREDIT")

# kind → (required rule fields, optional rule fields); "one of" groups are checked below
FIELDS: dict[PromotionKind, tuple[set[str], set[str]]] = {
    PromotionKind.DIRECT: (set(), {"unit_amount_off", "promo_unit_price", "per_buyer_cap"}),
    PromotionKind.PRESALE: ({"deposit_per_unit"}, {"unit_amount_off", "promo_unit_price", "per_buyer_cap"}),
    PromotionKind.FULL_REDUCTION: (set(), {"tiers", "per_every"}),
    PromotionKind.FULL_DISCOUNT: ({"rate"}, {"threshold_amount", "threshold_items"}),
    PromotionKind.PAYMENT: ({"channel", "amount"}, {"threshold_amount"}),
    PromotionKind.BUNDLE: ({"bundle_items", "bundle_price"}, set()),
    PromotionKind.GIFT: ({"threshold_amount", "gift_sku_id"}, {"gift_quantity"}),
}
EXACTLY_ONE = {
    PromotionKind.DIRECT: ("unit_amount_off", "promo_unit_price"),
    PromotionKind.PRESALE: ("unit_amount_off", "promo_unit_price"),
    PromotionKind.FULL_REDUCTION: ("tiers", "per_every"),
    PromotionKind.FULL_DISCOUNT: ("threshold_amount", "threshold_items"),
}
RULE_FIELDS = {name for required, optional in FIELDS.values() for name in required | optional}
SHOP_LEVEL = (PromotionKind.FULL_REDUCTION, PromotionKind.FULL_DISCOUNT)
MERCHANT_ONLY = (PromotionKind.BUNDLE, PromotionKind.GIFT, PromotionKind.PRESALE)


@dataclass(frozen=True)
class RuleSkus:
    """SKUs a rule names (bundle items, the gift): they must be the promotion merchant's own."""
    bundle: tuple[int, ...]
    gift: int | None


def _money(value: Any, field: str, problems: list[Problem], minimum: int = 1) -> None:
    if not isinstance(value, int) or not minimum <= value <= MAX_MONEY:
        problems.append(Problem(PromotionError.INVALID_AMOUNT,
                                f"{field} must be {minimum} to {MAX_MONEY} cents", ("rule", field)))


def _count(value: Any, field: str, problems: list[Problem], maximum: int = 9999) -> None:
    if not isinstance(value, int) or not 1 <= value <= maximum:
        problems.append(Problem(PromotionError.INVALID_QUANTITY, f"{field} must be 1 to {maximum}", ("rule", field)))


def check_rule(kind: PromotionKind, merchant_id: int | None, rule: Mapping[str, Any]) -> list[Problem]:
    """Problems of `rule` for a promotion of `kind` owned by `merchant_id` (None = platform)."""
    problems: list[Problem] = []
    required, optional = FIELDS[kind]
    given = {k for k, v in rule.items() if v is not None}
    for name in sorted(given - required - optional):
        problems.append(Problem(PromotionError.NOT_ALLOWED, f"{kind.value} promotions take no {name}", ("rule", name)))
    for name in sorted(required - given):
        problems.append(Problem(PromotionError.REQUIRED, f"{kind.value} promotions need {name}", ("rule", name)))
    if kind in EXACTLY_ONE:
        a, b = EXACTLY_ONE[kind]
        if (a in given) == (b in given):
            problems.append(Problem(PromotionError.INVALID_RULE, f"give exactly one of {a} and {b}", ("rule", a)))
    if merchant_id is None and kind in MERCHANT_ONLY:
        problems.append(Problem(PromotionError.MERCHANT_REQUIRED,
                                f"{kind.value} promotions belong to a merchant", ("merchantId",)))
    if merchant_id is not None and kind is PromotionKind.PAYMENT:
        problems.append(Problem(PromotionError.PLATFORM_ONLY,
                                "payment discounts are run by the platform", ("merchantId",)))
    if problems:
        return problems

    for name in ("unit_amount_off", "deposit_per_unit", "threshold_amount", "amount", "bundle_price"):
        if name in given:
            _money(rule[name], name, problems, minimum=0 if name == "threshold_amount" else 1)
    if "promo_unit_price" in given:
        _money(rule["promo_unit_price"], "promo_unit_price", problems, minimum=0)
    for name in ("per_buyer_cap", "threshold_items", "gift_quantity"):
        if name in given:
            _count(rule[name], name, problems)
    if "rate" in given and (not isinstance(rule["rate"], int) or not 1 <= rule["rate"] <= 99):
        problems.append(Problem(PromotionError.INVALID_RATE,
                                "rate is the percent paid, 1 to 99 (90 = 10% off)", ("rule", "rate")))
    if "channel" in given and rule["channel"] not in PAYMENT_CHANNELS:
        problems.append(Problem(PromotionError.INVALID_CHANNEL,
                                f"channel is one of {', '.join(PAYMENT_CHANNELS)}", ("rule", "channel")))
    if "tiers" in given:
        problems += _tier_problems(rule["tiers"])
    if "per_every" in given:
        every = rule["per_every"]
        _money(every.get("step"), "per_every.step", problems)
        _money(every.get("amount"), "per_every.amount", problems)
        if every.get("cap") is not None:
            _money(every["cap"], "per_every.cap", problems)
    if "bundle_items" in given:
        problems += _bundle_problems(rule["bundle_items"])
    return problems


def _tier_problems(tiers: list[dict]) -> list[Problem]:
    problems: list[Problem] = []
    if not 1 <= len(tiers) <= MAX_TIERS:
        return [Problem(PromotionError.INVALID_RULE, f"1 to {MAX_TIERS} tiers", ("rule", "tiers"))]
    for i, tier in enumerate(tiers):
        _money(tier.get("threshold"), f"tiers.{i}.threshold", problems)
        _money(tier.get("amount"), f"tiers.{i}.amount", problems)
    if problems:
        return problems
    ordered = sorted(tiers, key=lambda t: t["threshold"])
    if any(a["threshold"] == b["threshold"] or a["amount"] >= b["amount"] for a, b in zip(ordered, ordered[1:])):
        problems.append(Problem(PromotionError.INVALID_RULE,
                                "tier thresholds must differ and a higher tier must give more off",
                                ("rule", "tiers")))
    if any(t["amount"] > t["threshold"] for t in tiers):
        problems.append(Problem(PromotionError.INVALID_RULE,
                                "a tier cannot take off more than its threshold", ("rule", "tiers")))
    return problems


def _bundle_problems(items: list[dict]) -> list[Problem]:
    problems: list[Problem] = []
    if not 2 <= len(items) <= MAX_BUNDLE_ITEMS:
        return [Problem(PromotionError.INVALID_RULE,
                        f"a bundle has 2 to {MAX_BUNDLE_ITEMS} SKUs", ("rule", "bundle_items"))]
    if len({i["sku_id"] for i in items}) != len(items):
        problems.append(Problem(PromotionError.INVALID_RULE, "each SKU once per bundle", ("rule", "bundle_items")))
    for n, item in enumerate(items):
        _count(item.get("quantity"), f"bundle_items.{n}.quantity", problems, maximum=99)
    return problems


def rule_skus(rule: Mapping[str, Any]) -> RuleSkus:
    return RuleSkus(bundle=tuple(i["sku_id"] for i in rule.get("bundle_items") or ()),
                    gift=rule.get("gift_sku_id"))


def to_promotion(row: Mapping[str, Any], sku_ids: frozenset[int]) -> Promotion:
    """An engine promotion from a `promotions` row and the approved SKUs of its scope (at least
    those of the priced lines)."""
    rule = row["rule"]
    funding = None if row["funder"] is None else Funding(Funder(row["funder"]), row["platform_percent"])
    budget = row["budget"]
    return Promotion(
        id=row["id"], kind=PromotionKind(row["kind"]), merchant_id=row["merchant_id"],
        scope=Scope(sku_ids=sku_ids, category_ids=frozenset(row["category_ids"]),
                    whole_platform=row["whole_scope"]),
        priority=row["priority"], stackable_with_coupons=row["stackable_with_coupons"],
        starts_at=row["starts_at"], ends_at=row["ends_at"], status=PromotionStatus(row["status"]), funding=funding,
        tiers=tuple(Tier(t["threshold"], t["amount"]) for t in rule.get("tiers") or ()),
        per_every=PerEvery(**rule["per_every"]) if rule.get("per_every") else None,
        rate=rule.get("rate"), threshold_amount=rule.get("threshold_amount"),
        threshold_items=rule.get("threshold_items"), unit_amount_off=rule.get("unit_amount_off"),
        promo_unit_price=rule.get("promo_unit_price"), per_buyer_cap=rule.get("per_buyer_cap"),
        deposit_per_unit=rule.get("deposit_per_unit"),
        bundle_items=tuple(BundleItem(i["sku_id"], i["quantity"]) for i in rule.get("bundle_items") or ()),
        bundle_price=rule.get("bundle_price"), gift_sku_id=rule.get("gift_sku_id"),
        gift_quantity=rule.get("gift_quantity") or 1, channel=rule.get("channel"), amount=rule.get("amount"),
        remaining_budget=None if budget is None else budget - row["spent"])
