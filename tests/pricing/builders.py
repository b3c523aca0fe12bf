"""Small constructors so that each table test states only what it is about."""

from datetime import UTC, datetime, timedelta

from app.pricing.model import (
    Buyer,
    Coupon,
    CouponKind,
    Line,
    PricingRequest,
    Promotion,
    PromotionKind,
    Scope,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NEXT_WEEK = NOW + timedelta(days=7)


def line(sku: int, price: int, qty: int = 1, merchant: int = 1, category: int = 100,
         position: int | None = None, **kw) -> Line:
    return Line(sku_id=sku, product_id=sku, merchant_id=merchant, category_ids=(category, 1),
                quantity=qty, price=price, position=sku if position is None else position, **kw)


def promo(pid: int, kind: PromotionKind, merchant: int | None = 1, **kw) -> Promotion:
    return Promotion(id=pid, kind=kind, merchant_id=merchant, **kw)


def coupon(cid: int, kind: CouponKind = CouponKind.SHOP, merchant: int | None = 1,
           expires_at: datetime = NEXT_WEEK, **kw) -> Coupon:
    if kind is not CouponKind.SHOP:
        merchant = None
    return Coupon(id=cid, template_id=cid, kind=kind, merchant_id=merchant,
                  expires_at=expires_at, **kw)


def request(lines, promotions=(), coupons=(), buyer: Buyer | None = None, **kw) -> PricingRequest:
    return PricingRequest(lines=tuple(lines), buyer=buyer or Buyer(),
                          promotions=tuple(promotions), coupons=tuple(coupons), now=NOW, **kw)


def skus(*ids: int) -> Scope:
    return Scope(sku_ids=frozenset(ids))
