"""Trial pricing (DOMAIN §4.5) on the GraphQL surface: `checkoutPreview` for a direct buy or the
caller's cart, the cart's embedded `preview`, and the result mapped from `app.pricing.model`.

The mapping is mechanical on purpose: every number comes from the engine, none is recomputed
here (one copy of each rule). Input problems are answered as one top-level error (docs/API.md
"Checkout preview").
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeAlias

import strawberry

from app.cart.service import CartOwner
from app.checkout.errors import CheckoutError
from app.checkout.lines import CheckoutItem, check_line_count
from app.checkout.preview import (
    MAX_PICKED_COUPONS,
    CheckoutRequest,
    price_checkout,
    selected_cart_items,
    with_default_region,
)
from app.errors import CommonError, DomainError
from app.pricing import model as m
from schema.cart_access import HasCart, cart_owner
from schema.context import Info
from schema.credit import InstallmentPlans, installment_plans
from schema.errors import PublicError
from schema.ids import gid, input_pks
from schema.scalars import Money

# The engine's enums are the GraphQL enums (registered here, aliased for annotations).
strawberry.enum(m.Level, name="PricingLevel", description="Where a discount sits in the calculation order.")
strawberry.enum(m.Reason, name="PricingReason", description="Why a promotion or coupon was not applied (DOMAIN §4.6).")
strawberry.enum(m.Funder, name="Funder")
PricingLevel: TypeAlias = m.Level
PricingReason: TypeAlias = m.Reason
Funder: TypeAlias = m.Funder


@strawberry.enum(description="How the buyer will pay: payment discounts (支付立减) are per channel.")
class PaymentChannel(Enum):
    """The members of app.promotions.rules.PAYMENT_CHANNELS, spelled out for the type checker
    (tests/test_api_contract.py keeps them equal)."""
    WECHAT = "WECHAT"
    ALIPAY = "ALIPAY"
    BANK_CARD = "BANK_CARD"
    CREDIT = "CREDIT"


@strawberry.type(description="A line's part of one order-level discount, and who pays it.")
class DiscountShare:
    level: PricingLevel
    promotion_id: strawberry.ID | None
    coupon_id: strawberry.ID | None
    amount: Money
    funder: Funder
    platform_amount: Money
    merchant_amount: Money


@strawberry.type
class PricedLine:
    sku_id: strawberry.ID
    merchant_id: strawberry.ID
    quantity: int
    price: Money = strawberry.field(description="The SKU's list unit price.")
    unit_price: Money = strawberry.field(description="Step 1: the member price when it applies.")
    member_price_applied: bool
    goods_amount: Money
    item_promotion_id: strawberry.ID | None
    item_discount: Money
    promo_units: int
    amount_after_item: Money
    shares: list[DiscountShare]
    paid_amount: Money


@strawberry.type
class GiftLine:
    promotion_id: strawberry.ID
    sku_id: strawberry.ID
    quantity: int


@strawberry.type
class MerchantPricing:
    merchant_id: strawberry.ID
    subtotal: Money
    item_discount: Money
    shop_promotion_discount: Money
    shop_coupon_discount: Money
    platform_discount: Money
    payment_discount: Money
    discount: Money
    shipping: Money
    free_shipping: bool
    gifts: list[GiftLine]
    paid_amount: Money


@strawberry.type
class AppliedDiscount:
    promotion_id: strawberry.ID | None
    coupon_id: strawberry.ID | None
    kind: str
    level: PricingLevel
    merchant_id: strawberry.ID | None
    discount: Money
    base: Money
    sku_ids: list[strawberry.ID]


@strawberry.type
class PromotionNotApplied:
    promotion_id: strawberry.ID
    reason: PricingReason


@strawberry.type
class CouponOutcome:
    coupon_id: strawberry.ID
    usable: bool
    applied: bool
    reason: PricingReason | None


@strawberry.type(description="\"Already saved ¥30; add ¥20 more for another ¥30 off\": the nearest unmet "
                             "threshold of a promotion.")
class ThresholdHint:
    promotion_id: strawberry.ID
    current: int = strawberry.field(description="Cents, or items when isItemCount.")
    threshold: int
    missing: int
    is_item_count: bool
    current_discount: Money
    next_discount: Money


@strawberry.type(description="Trial pricing (试算): what the buyer pays and why.")
class CheckoutPricing:
    lines: list[PricedLine]
    merchants: list[MerchantPricing]
    goods_total: Money
    item_discount: Money
    total_discount: Money
    shipping_total: Money
    payable: Money
    applied: list[AppliedDiscount]
    promotions_not_applied: list[PromotionNotApplied]
    coupons: list[CouponOutcome]
    hints: list[ThresholdHint]
    approximate: bool = strawberry.field(
        description="True when the cart was too large for the exhaustive best-price search.")
    sku_ids: strawberry.Private[tuple[int, ...]] = ()
    merchant_ids: strawberry.Private[tuple[int, ...]] = ()

    @strawberry.field(description="The installment plans (CREDIT channel) the caller may pay this checkout with, "
                                  "each with its schedule; or why there are none (docs/credit.md).")
    async def installment_plans(self, info: Info) -> InstallmentPlans:
        return await installment_plans(info, self.payable, list(self.sku_ids), list(self.merchant_ids))

    @classmethod
    def from_result(cls, r: m.PricingResult) -> "CheckoutPricing":
        return cls(
            lines=[_line(x) for x in r.lines],
            merchants=[_merchant(x) for x in r.merchants],
            goods_total=r.goods_total, item_discount=r.item_discount, total_discount=r.total_discount,
            shipping_total=r.shipping_total, payable=r.payable,
            applied=[*(_applied_promotion(p) for p in r.promotions), *(_applied_coupon(c) for c in r.coupons)],
            promotions_not_applied=[PromotionNotApplied(promotion_id=gid("Promotion", x.promotion_id),
                                                        reason=PricingReason(x.reason.value))
                                    for x in r.promotion_reasons],
            coupons=[CouponOutcome(coupon_id=gid("Coupon", c.coupon_id), usable=c.usable, applied=c.applied,
                                   reason=PricingReason(c.reason.value) if c.reason else None)
                     for c in r.coupon_outcomes],
            hints=[ThresholdHint(promotion_id=gid("Promotion", h.promotion_id), current=h.current,
                                 threshold=h.threshold, missing=h.missing, is_item_count=h.is_item_count,
                                 current_discount=h.current_discount, next_discount=h.next_discount)
                   for h in r.hints],
            approximate=r.approximate,
            sku_ids=tuple(x.sku_id for x in r.lines), merchant_ids=tuple(x.merchant_id for x in r.merchants),
        )


def _line(x: m.LineResult) -> PricedLine:
    return PricedLine(
        sku_id=gid("Sku", x.sku_id), merchant_id=gid("Merchant", x.merchant_id), quantity=x.quantity,
        price=x.price, unit_price=x.unit_price, member_price_applied=x.member_price_applied,
        goods_amount=x.goods_amount, item_promotion_id=gid("Promotion", x.item_promotion_id),
        item_discount=x.item_discount, promo_units=x.promo_units, amount_after_item=x.amount_after_item,
        shares=[DiscountShare(level=PricingLevel(s.level.value), promotion_id=gid("Promotion", s.promotion_id),
                              coupon_id=gid("Coupon", s.coupon_id), amount=s.amount,
                              funder=Funder(s.funder.value), platform_amount=s.platform_amount,
                              merchant_amount=s.merchant_amount) for s in x.shares],
        paid_amount=x.paid_amount)


def _merchant(x: m.MerchantGroupResult) -> MerchantPricing:
    return MerchantPricing(
        merchant_id=gid("Merchant", x.merchant_id), subtotal=x.subtotal, item_discount=x.item_discount,
        shop_promotion_discount=x.shop_promotion_discount, shop_coupon_discount=x.shop_coupon_discount,
        platform_discount=x.platform_discount, payment_discount=x.payment_discount, discount=x.discount,
        shipping=x.shipping, free_shipping=x.free_shipping,
        gifts=[GiftLine(promotion_id=gid("Promotion", g.promotion_id), sku_id=gid("Sku", g.sku_id),
                        quantity=g.quantity) for g in x.gifts],
        paid_amount=x.paid_amount)


def _applied_promotion(p: m.AppliedPromotion) -> AppliedDiscount:
    return AppliedDiscount(promotion_id=gid("Promotion", p.promotion_id), coupon_id=None, kind=p.kind.value,
                           level=PricingLevel(p.level.value), merchant_id=gid("Merchant", p.merchant_id),
                           discount=p.discount, base=p.base, sku_ids=[gid("Sku", s) for s in p.sku_ids])


def _applied_coupon(c: m.AppliedCoupon) -> AppliedDiscount:
    return AppliedDiscount(promotion_id=None, coupon_id=gid("Coupon", c.coupon_id), kind=c.kind.value,
                           level=PricingLevel(c.level.value), merchant_id=gid("Merchant", c.merchant_id),
                           discount=c.discount, base=c.base, sku_ids=[gid("Sku", s) for s in c.sku_ids])


# ---------------------------------------------------------------- checkoutPreview


@strawberry.input
class CheckoutLineInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input(description="Either `lines` (a direct buy, at most 200) or `fromCart: true` (the caller's "
                              "selected cart lines).")
class CheckoutPreviewInput:
    lines: list[CheckoutLineInput] | None = None
    from_cart: bool = False
    coupon_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="null: the engine chooses the best coupons; a list (even empty): the buyer's pick, "
                                  "in pick order.")
    payment_channel: PaymentChannel | None = None
    region_code: str | None = strawberry.field(
        default=None, description="6-digit GB/T 2260 code of the delivery address; null before an address is "
                                  "chosen (every line deliverable, default shipping fees).")


def _options(coupon_ids: Sequence[str] | None, payment_channel: PaymentChannel | None,
             region_code: str | None) -> CheckoutRequest:
    """Everything of the request but its items (filled in once known)."""
    picked = None
    if coupon_ids is not None:
        if len(coupon_ids) > MAX_PICKED_COUPONS:
            raise DomainError.of(CommonError.TOO_MANY, f"pick at most {MAX_PICKED_COUPONS} coupons", "couponIds")
        picked = tuple(input_pks("Coupon", coupon_ids, "couponIds"))
    return CheckoutRequest(items=[], picked_coupon_ids=picked, region_code=region_code,
                           payment_channel=None if payment_channel is None else payment_channel.value)


def direct_items(lines: list[CheckoutLineInput]) -> list[CheckoutItem]:
    check_line_count(len(lines), "lines")  # a 10,000-line input stops here, before any decoding
    pks = input_pks("Sku", [line.sku_id for line in lines], "lines", item_field="skuId")
    return [CheckoutItem(pk, line.quantity) for pk, line in zip(pks, lines)]


def _public_error(exc: DomainError, items: list[CheckoutItem], prefix: tuple[str, ...],
                  cart_field: tuple[str, ...] | None) -> PublicError:
    """The first problem as the error, every problem in `extensions.problems`. A problem of a line
    names its SKU; for cart lines, which have no input path, the field is `cart_field`."""
    problems = []
    for p in exc.problems:
        entry: dict[str, Any] = {"code": p.code, "message": p.message}
        field = p.field
        if field[:1] == ("lines",):
            if len(field) > 1 and field[1].isdigit() and int(field[1]) < len(items):
                entry["skuId"] = gid("Sku", items[int(field[1])].sku_id)
            if cart_field is not None:
                field = cart_field
        entry["field"] = [*prefix, *field] or None
        problems.append(entry)
    first = problems[0]
    return PublicError(first["message"], first["code"], field=first["field"], problems=problems)


async def preview_pricing(info: Info, buyer_id: int | None, owner: CartOwner | None,
                          lines: list[CheckoutLineInput] | None, coupon_ids: Sequence[str] | None,
                          payment_channel: PaymentChannel | None, region_code: str | None,
                          prefix: tuple[str, ...] = (), cart_field: tuple[str, ...] = ()) -> CheckoutPricing | None:
    """A direct buy of `lines`, or (`lines` None) the `owner`'s selected cart lines: None when no
    cart line is selected. Priced for `buyer_id` (wallet, member level; None: nobody's). `prefix`
    is the input path of the arguments in error fields."""
    now = datetime.now(UTC)
    items: list[CheckoutItem] = []
    try:
        request = _options(coupon_ids, payment_channel, region_code)
        if lines is not None:
            items = direct_items(lines)
        async with info.context.db.connection() as conn:
            if lines is None:
                assert owner is not None, "a cart's preview (no lines) always comes with the cart's owner"
                items = await selected_cart_items(conn, owner)
                if not items:
                    return None
            request = await with_default_region(conn, buyer_id, replace(request, items=items))
            result = await price_checkout(conn, buyer_id, request, now)
    except DomainError as exc:
        raise _public_error(exc, items, prefix, cart_field if lines is None else None) from None
    return CheckoutPricing.from_result(result)


class MayPreview(HasCart):
    """A direct buy may be previewed by anyone (priced with a signed-in buyer's wallet and member
    level, else nobody's); the cart only by its owner, as for `cart`."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        preview = kwargs.get("input")
        if preview is not None and not preview.from_cart:
            return not info.context.auth_problem or self._deny(info.context.auth_problem, "UNAUTHENTICATED")
        return super().has_permission(source, info, **kwargs)


@strawberry.type
class CheckoutQuery:
    @strawberry.field(permission_classes=[MayPreview], description=(
        "Trial pricing (试算) of a direct buy or of the caller's selected cart lines: what the buyer pays, "
        "every discount with its per-line shares, why other promotions and coupons were not applied, and the "
        "nearest unmet thresholds. Bad input is one error with extensions.code (docs/API.md)."))
    async def checkout_preview(self, info: Info, input: CheckoutPreviewInput) -> CheckoutPricing:
        if input.from_cart == (input.lines is not None):
            raise _public_error(DomainError.of(CommonError.INVALID_VALUE, "give either lines or fromCart: true"),
                                [], ("input",), None)
        principal = info.context.principal
        buyer_id = principal.id if principal is not None and principal.is_buyer else None
        owner = cart_owner(info) if input.from_cart else None
        pricing = await preview_pricing(info, buyer_id, owner, None if input.from_cart else input.lines,
                                        input.coupon_ids, input.payment_channel, input.region_code,
                                        ("input",), ("fromCart",))
        if pricing is None:
            raise _public_error(DomainError.of(CheckoutError.NO_LINES, "select at least one cart line", "fromCart"),
                                [], ("input",), None)
        return pricing
