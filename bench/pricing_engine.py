"""Engine alone (issue 3, "Must measure"): a 50-line cart over 5 merchants with 20 applicable
promotions and 10 coupons. Prints p50/p99 per preview and previews per second on one core.

    .venv/bin/python bench/pricing_engine.py [previews]
"""

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from app.pricing import price
from app.pricing.model import (
    Buyer,
    Coupon,
    CouponKind,
    FreightTemplate,
    Line,
    PricingRequest,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def cart() -> PricingRequest:
    lines = tuple(Line(sku_id=i, product_id=i, merchant_id=i % 5 + 1,
                       category_ids=(100 + i % 3, 1), quantity=1 + i % 3,
                       price=1999 + 137 * i, position=i) for i in range(1, 51))
    promotions = []
    for m in range(1, 6):
        base = m * 10
        promotions += [
            Promotion(base + 1, PromotionKind.DIRECT, m, Scope(category_ids=frozenset({100})),
                      unit_amount_off=300),
            Promotion(base + 2, PromotionKind.FULL_REDUCTION, m,
                      tiers=(Tier(10000, 1000), Tier(30000, 4000))),
            Promotion(base + 3, PromotionKind.FULL_DISCOUNT, m,
                      Scope(category_ids=frozenset({101})), rate=90, threshold_items=3,
                      stackable_with_coupons=False),
            Promotion(base + 4, PromotionKind.GIFT, m, threshold_amount=20000, gift_sku_id=999),
        ]
    coupons = [Coupon(i, i, CouponKind.SHOP, NOW + timedelta(days=i), merchant_id=i % 5 + 1,
                      threshold=5000 * (1 + i % 3), amount=500 + 100 * i) for i in range(1, 9)]
    coupons += [Coupon(9, 9, CouponKind.PLATFORM, NOW + timedelta(days=3), threshold=50000,
                       amount=5000),
                Coupon(10, 10, CouponKind.PLATFORM, NOW + timedelta(days=4), rate=95, cap=8000,
                       category_ids=frozenset({102}))]
    return PricingRequest(
        lines=lines, buyer=Buyer(), promotions=tuple(promotions), coupons=tuple(coupons),
        now=NOW, payment_channel="BANK_CARD", region="31",
        freight_templates={m: FreightTemplate(m, 800, {"54": 2000}, 9900) for m in range(1, 6)},
        gift_stock={999: 3})


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    request = cart()
    for _ in range(50):
        result = price(request)
    timings = []
    started = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        price(request)
        timings.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    timings.sort()
    print(f"lines={len(request.lines)} merchants=5 promotions={len(request.promotions)} "
          f"coupons={len(request.coupons)} approximate={result.approximate} "
          f"payable={result.payable} discount={result.total_discount}")
    print(f"previews={n} p50={statistics.median(timings) * 1000:.2f} ms "
          f"p99={timings[int(n * 0.99) - 1] * 1000:.2f} ms previews/s={n / elapsed:.0f}")


if __name__ == "__main__":
    main()
