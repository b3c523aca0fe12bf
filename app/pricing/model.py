"""Inputs and outputs of the trial-pricing engine (DOMAIN §4). Plain frozen dataclasses so that
the cart, the promotions service and order placement map their rows onto the same shapes and
the engine stays a pure function.

Money is always int cents. Rates are int percent *paid* (90 = 10% off). Ids are the integer
primary keys of their tables. Mappings given as input are read only.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class PromotionKind(StrEnum):
    DIRECT = "DIRECT"
    PRESALE = "PRESALE"
    FULL_REDUCTION = "FULL_REDUCTION"
    FULL_DISCOUNT = "FULL_DISCOUNT"
    PAYMENT = "PAYMENT"
    BUNDLE = "BUNDLE"
    GIFT = "GIFT"


class PromotionStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING_REVIEW = "PENDING_REVIEW"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ENDED = "ENDED"


class CouponKind(StrEnum):
    SHOP = "SHOP"
    PLATFORM = "PLATFORM"
    NEW_USER = "NEW_USER"


class CouponStatus(StrEnum):
    UNUSED = "UNUSED"
    USED = "USED"
    EXPIRED = "EXPIRED"          # a wallet may store it; the engine also checks expires_at


class Funder(StrEnum):
    PLATFORM = "PLATFORM"
    MERCHANT = "MERCHANT"
    SPLIT = "SPLIT"              # platform pays platform_percent of each share, merchant the rest


class Level(StrEnum):
    """Where a discount sits in the calculation order §4.2."""
    ITEM = "ITEM"
    SHOP = "SHOP"
    SHOP_COUPON = "SHOP_COUPON"
    PLATFORM = "PLATFORM"
    PLATFORM_COUPON = "PLATFORM_COUPON"
    PAYMENT = "PAYMENT"


class Reason(StrEnum):
    """Why a promotion or coupon was not applied; exactly one per candidate (§4.6)."""
    # coupons, unusable, in this precedence
    USED = "USED"
    EXPIRED = "EXPIRED"
    NOT_NEW_USER = "NOT_NEW_USER"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    NOT_STACKABLE = "NOT_STACKABLE"
    BELOW_THRESHOLD = "BELOW_THRESHOLD"
    NO_DISCOUNT = "NO_DISCOUNT"
    # coupons, usable but not applied
    NOT_BEST = "NOT_BEST"
    NOT_PICKED = "NOT_PICKED"
    # the buyer's pick
    UNKNOWN_COUPON = "UNKNOWN_COUPON"
    ONE_SHOP_COUPON_PER_SHOP = "ONE_SHOP_COUPON_PER_SHOP"
    ONE_PLATFORM_COUPON_PER_ORDER = "ONE_PLATFORM_COUPON_PER_ORDER"
    CONFLICTS_WITH_PICK = "CONFLICTS_WITH_PICK"
    # promotions
    NOT_LOWEST_PRICE = "NOT_LOWEST_PRICE"
    BUNDLE_INCOMPLETE = "BUNDLE_INCOMPLETE"
    NOT_BENEFICIAL = "NOT_BENEFICIAL"
    PER_BUYER_CAP_REACHED = "PER_BUYER_CAP_REACHED"
    NO_LINE_IN_SCOPE = "NO_LINE_IN_SCOPE"
    THRESHOLD_NOT_MET = "THRESHOLD_NOT_MET"
    CHANNEL_MISMATCH = "CHANNEL_MISMATCH"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    GIFT_OUT_OF_STOCK = "GIFT_OUT_OF_STOCK"


# ---------------------------------------------------------------- inputs

@dataclass(frozen=True)
class Funding:
    funder: Funder
    platform_percent: int = 0    # only for SPLIT: 0..100

    @staticmethod
    def merchant() -> "Funding":
        return Funding(Funder.MERCHANT)

    @staticmethod
    def platform() -> "Funding":
        return Funding(Funder.PLATFORM)


@dataclass(frozen=True)
class Scope:
    """A line is in scope when it matches any of the given sets, or always when whole_platform.
    A shop-level promotion or shop coupon additionally only ever covers its own merchant's lines,
    so `Scope(merchant_id=m)` and `Scope(whole_platform=True)` mean the same for them."""
    sku_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()   # matched against a line's category and ancestors
    merchant_id: int | None = None
    whole_platform: bool = False


EVERYWHERE = Scope(whole_platform=True)


@dataclass(frozen=True)
class Tier:
    threshold: int               # cents, inclusive
    amount: int                  # cents off


@dataclass(frozen=True)
class PerEvery:
    """Per every `step`, `amount` off, at most `cap` (None = no cap)."""
    step: int
    amount: int
    cap: int | None = None


@dataclass(frozen=True)
class BundleItem:
    sku_id: int
    quantity: int


@dataclass(frozen=True)
class Promotion:
    """One promotion of any kind. The rule fields used depend on `kind`:

    - DIRECT / PRESALE: `unit_amount_off` or `promo_unit_price`; `per_buyer_cap` (units,
      counting the buyer's earlier purchases); PRESALE also `deposit_per_unit`.
    - FULL_REDUCTION: `tiers` or `per_every`.
    - FULL_DISCOUNT: `rate` with `threshold_amount` or `threshold_items`.
    - BUNDLE: `bundle_items` and `bundle_price` (price of one complete set).
    - GIFT: `threshold_amount`, `gift_sku_id`, `gift_quantity`.
    - PAYMENT: `channel`, `threshold_amount` (optional), `amount`, `remaining_budget` (None =
      unlimited).
    `merchant_id` None = a platform promotion (for FULL_REDUCTION / FULL_DISCOUNT).
    """
    id: int
    kind: PromotionKind
    merchant_id: int | None
    scope: Scope = EVERYWHERE
    priority: int = 0
    stackable_with_coupons: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: PromotionStatus = PromotionStatus.ACTIVE
    funding: Funding | None = None           # None = the default funder of §4.6
    tiers: tuple[Tier, ...] = ()
    per_every: PerEvery | None = None
    rate: int | None = None
    threshold_amount: int | None = None
    threshold_items: int | None = None
    unit_amount_off: int | None = None
    promo_unit_price: int | None = None
    per_buyer_cap: int | None = None
    deposit_per_unit: int | None = None
    bundle_items: tuple[BundleItem, ...] = ()
    bundle_price: int | None = None
    gift_sku_id: int | None = None
    gift_quantity: int = 1
    channel: str | None = None
    amount: int | None = None
    remaining_budget: int | None = None


@dataclass(frozen=True)
class Coupon:
    """A coupon in the buyer's wallet (`id` = the buyer's coupon, not the template)."""
    id: int
    template_id: int
    kind: CouponKind
    expires_at: datetime
    merchant_id: int | None = None           # SHOP coupons: the issuing merchant
    threshold: int = 0
    amount: int | None = None                # amount off, or
    rate: int | None = None                  # percent paid, with
    cap: int | None = None                   # at most this much off (after rounding)
    category_ids: frozenset[int] = frozenset()   # empty = every category
    status: CouponStatus = CouponStatus.UNUSED
    funding: Funding | None = None           # None = the default funder of §4.6


@dataclass(frozen=True)
class Line:
    """One selected cart line (one SKU). `position` orders lines over the whole order."""
    sku_id: int
    product_id: int
    merchant_id: int
    category_ids: tuple[int, ...]            # own category first, then its ancestors
    quantity: int
    price: int                               # SKU price, cents per unit
    position: int
    member_price: int | None = None
    member_level: int | None = None
    deliverable: bool = True                 # can the merchant ship this SKU to the address?


@dataclass(frozen=True)
class FreightTemplate:
    merchant_id: int
    default_fee: int
    fee_by_region: Mapping[str, int] = field(default_factory=dict)
    free_threshold: int | None = None        # free shipping when amount ≥ this


@dataclass(frozen=True)
class Buyer:
    member_level: int = 0
    is_new_user: bool = False                # no order in COMPLETED
    earlier_purchases: Mapping[int, int] = field(default_factory=dict)  # DIRECT id → units


@dataclass(frozen=True)
class PricingRequest:
    lines: tuple[Line, ...]
    buyer: Buyer
    promotions: tuple[Promotion, ...]
    coupons: tuple[Coupon, ...]              # the buyer's wallet (any status)
    now: datetime
    picked_coupon_ids: tuple[int, ...] | None = None   # None = engine chooses
    payment_channel: str | None = None
    region: str | None = None
    freight_templates: Mapping[int, FreightTemplate] = field(default_factory=dict)
    gift_stock: Mapping[int, int] = field(default_factory=dict)   # gift sku id → units left


# ---------------------------------------------------------------- outputs

@dataclass(frozen=True)
class Share:
    """A line's part of one discount above the item level, and who pays for it."""
    level: Level
    promotion_id: int | None
    coupon_id: int | None
    amount: int
    funder: Funder
    platform_amount: int
    merchant_amount: int


@dataclass(frozen=True)
class LineResult:
    sku_id: int
    position: int
    merchant_id: int
    quantity: int
    price: int                               # SKU price
    unit_price: int                          # step 1 (member price when it applies)
    member_price_applied: bool
    goods_amount: int                        # unit_price × quantity
    item_promotion_id: int | None
    item_discount: int
    item_discount_platform: int
    promo_units: int                         # units priced by the item promotion
    amount_after_item: int
    shares: tuple[Share, ...]
    paid_amount: int


@dataclass(frozen=True)
class Gift:
    promotion_id: int
    sku_id: int
    quantity: int


@dataclass(frozen=True)
class AppliedPromotion:
    promotion_id: int
    kind: PromotionKind
    level: Level
    merchant_id: int | None
    discount: int
    base: int                                # amount of the joined lines before it
    sku_ids: tuple[int, ...]                 # lines that joined it


@dataclass(frozen=True)
class AppliedCoupon:
    coupon_id: int
    kind: CouponKind
    level: Level
    merchant_id: int | None
    discount: int
    base: int
    sku_ids: tuple[int, ...]


@dataclass(frozen=True)
class PromotionReason:
    promotion_id: int
    reason: Reason


@dataclass(frozen=True)
class CouponOutcome:
    """Every coupon of the wallet and every picked id: usable or not, applied or why not."""
    coupon_id: int
    usable: bool
    applied: bool
    reason: Reason | None                    # None exactly when applied


@dataclass(frozen=True)
class ThresholdHint:
    """"Add ¥20 more for another ¥30 off": the nearest unmet threshold of one promotion."""
    promotion_id: int
    current: int                             # cents (or items for item-count thresholds)
    threshold: int
    missing: int                             # threshold − current
    is_item_count: bool
    current_discount: int
    next_discount: int                       # discount (cents) once the threshold is met


@dataclass(frozen=True)
class MerchantGroupResult:
    merchant_id: int
    subtotal: int                            # Σ goods_amount
    item_discount: int
    shop_promotion_discount: int
    shop_coupon_discount: int
    platform_discount: int                   # shares of platform promotions/coupon
    payment_discount: int
    discount: int                            # all of the above
    amount_after_shop_coupon: int            # what the free-shipping threshold is checked on
    shipping: int
    free_shipping: bool
    gifts: tuple[Gift, ...]
    paid_amount: int                         # subtotal − discount (shipping excluded)


@dataclass(frozen=True)
class PricingResult:
    """§4.5 (installment plans are priced on `payable` by the credit domain, not here)."""
    lines: tuple[LineResult, ...]
    merchants: tuple[MerchantGroupResult, ...]
    goods_total: int
    item_discount: int
    total_discount: int
    shipping_total: int
    payable: int
    promotions: tuple[AppliedPromotion, ...]
    coupons: tuple[AppliedCoupon, ...]
    promotion_reasons: tuple[PromotionReason, ...]
    coupon_outcomes: tuple[CouponOutcome, ...]
    hints: tuple[ThresholdHint, ...]
    undeliverable_sku_ids: tuple[int, ...]   # non-empty ⇒ the caller answers a clear error
    approximate: bool

    @property
    def usable_coupon_ids(self) -> tuple[int, ...]:
        return tuple(c.coupon_id for c in self.coupon_outcomes if c.usable)

    @property
    def unusable_coupons(self) -> tuple[CouponOutcome, ...]:
        return tuple(c for c in self.coupon_outcomes if not c.usable)
