"""Shared by the checkout tests: a two-merchant market with promotions, coupon templates, buyer
coupons and freight templates written with plain SQL (the management API is a separate piece),
and the GraphQL documents of the preview."""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from app.ids import encode_id

PRICING_FIELDS = """goodsTotal itemDiscount totalDiscount shippingTotal payable approximate
  lines { skuId merchantId quantity price unitPrice memberPriceApplied goodsAmount itemPromotionId itemDiscount
          amountAfterItem paidAmount
          shares { level promotionId couponId amount funder platformAmount merchantAmount } }
  merchants { merchantId subtotal shopPromotionDiscount shopCouponDiscount platformDiscount paymentDiscount
              discount shipping freeShipping paidAmount gifts { promotionId skuId quantity } }
  applied { promotionId couponId kind level merchantId discount base skuIds }
  promotionsNotApplied { promotionId reason }
  coupons { couponId usable applied reason }
  hints { promotionId current threshold missing isItemCount currentDiscount nextDiscount }"""
PREVIEW = f"query($i: CheckoutPreviewInput!) {{ checkoutPreview(input: $i) {{ {PRICING_FIELDS} }} }}"
CART_PREVIEW = f"""query($c: [ID!], $p: PaymentChannel, $r: String) {{
  cart {{ lineCount preview(couponIds: $c, paymentChannel: $p, regionCode: $r) {{ {PRICING_FIELDS} }} }} }}"""

GUANGDONG, BEIJING, TIBET = "440000", "110000", "540000"
SHENZHEN_NANSHAN = "440305"


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


def lines_input(*items: tuple[int, int]) -> list[dict]:
    return [{"skuId": gid("Sku", sku), "quantity": quantity} for sku, quantity in items]


async def insert_promotion(c, kind: str, merchant_id: int | None, rule: dict, *, sku_ids=(), whole_scope=False,
                           category_ids=(), priority=0, stackable=True, status="ACTIVE", budget=None,
                           starts_at=None, ends_at=None) -> int:
    now = datetime.now(UTC)
    pid = await c.fetchval(
        "INSERT INTO promotions (merchant_id, kind, name, status, priority, stackable_with_coupons, starts_at,"
        " ends_at, whole_scope, category_ids, rule, budget, created_by)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, 'test') RETURNING id",
        merchant_id, kind, f"{kind} test", status, priority, stackable, starts_at or now - timedelta(days=1),
        ends_at or now + timedelta(days=30), whole_scope, list(category_ids), rule, budget)
    for sku in sku_ids:
        await c.execute("INSERT INTO promotion_skus (promotion_id, sku_id, merchant_id)"
                        " SELECT $1, id, merchant_id FROM skus WHERE id = $2", pid, sku)
    return pid


async def insert_template(c, kind: str, merchant_id: int | None, *, threshold=0, amount=None, rate=None, cap=None,
                          category_ids=()) -> int:
    now = datetime.now(UTC)
    return await c.fetchval(
        "INSERT INTO coupon_templates (kind, merchant_id, name, status, threshold, amount, rate, cap, category_ids,"
        " claim_starts_at, claim_ends_at, valid_days, total_stock, created_by)"
        " VALUES ($1, $2, $3, 'ACTIVE', $4, $5, $6, $7, $8, $9, $10, 30, 1000, 'test') RETURNING id",
        kind, merchant_id, f"{kind} coupon", threshold, amount, rate, cap, list(category_ids),
        now - timedelta(days=1), now + timedelta(days=30))


async def give_coupon(c, template_id: int, buyer_id: int, *, expires_in=timedelta(days=7), used=False) -> int:
    now = datetime.now(UTC)
    return await c.fetchval(
        "INSERT INTO buyer_coupons (template_id, buyer_id, status, claimed_at, expires_at, used_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        template_id, buyer_id, "USED" if used else "UNUSED", now - timedelta(days=2), now + expires_in,
        now - timedelta(hours=1) if used else None)


async def set_freight(c, merchant_id: int, default_fee: int, free_threshold: int | None,
                      by_region: dict[str, int]) -> None:
    await c.execute("INSERT INTO freight_templates (merchant_id, default_fee, free_threshold) VALUES ($1, $2, $3)",
                    merchant_id, default_fee, free_threshold)
    await c.executemany("INSERT INTO freight_template_regions (merchant_id, region_code, fee) VALUES ($1, $2, $3)",
                        [(merchant_id, region, fee) for region, fee in by_region.items()])


async def make_market(db, bulk: int = 0) -> SimpleNamespace:
    """Merchant A (ships to Beijing, Guangdong and Tibet; 8.00 shipping, 20.00 to Tibet, free from
    99.00) sells a1 200.00 (member price 180.00 from level 1), a2 150.00, a_cheap 50.00; merchant B
    (ships to Beijing and Guangdong only; 10.00, 6.00 to Guangdong, free from 500.00) sells b1
    100.01 and b2 50.00. `bulk` more 1.00 SKUs per merchant for big carts. Promotions: A's shop
    FULL_REDUCTION ≥300 −30 / ≥500 −60 over every A line; B's FULL_DISCOUNT 10% off from 3 items;
    a platform BANK_CARD payment discount of 5.00."""
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        category = await c.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", f"co-{tag}")

        async def merchant(name, regions):
            mid = await c.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                   f"{name}-{tag}")
            wid = await c.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'main') RETURNING id", mid)
            await c.executemany("INSERT INTO warehouse_regions (warehouse_id, region_code) VALUES ($1, $2)",
                                [(wid, r) for r in regions])
            pid = await c.fetchval(
                "INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                " VALUES ($1, $2, $3, 'MERCHANT', 'LISTED') RETURNING id", mid, category, f"{name} {tag}")
            return mid, wid, pid

        a, wa, pa = await merchant("结算甲", [BEIJING, GUANGDONG, TIBET])
        b, wb, pb = await merchant("结算乙", [BEIJING, GUANGDONG])

        async def sku(product_id, merchant_id, warehouse_id, n, price, **extra):
            cols = ", ".join(["product_id", "merchant_id", "code", "spec_value_ids", "price", *extra])
            args = [product_id, merchant_id, f"K{tag}-{product_id}-{n}", [n], price, *extra.values()]
            params = ", ".join(f"${i}" for i in range(1, len(args) + 1))
            sid = await c.fetchval(f"INSERT INTO skus ({cols}) VALUES ({params}) RETURNING id", *args)
            await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, 1000)",
                            sid, warehouse_id)
            return sid

        skus = {"a1": await sku(pa, a, wa, 1, 20000, member_price=18000, member_level=1),
                "a2": await sku(pa, a, wa, 2, 15000), "a_cheap": await sku(pa, a, wa, 3, 5000),
                "b1": await sku(pb, b, wb, 1, 10001), "b2": await sku(pb, b, wb, 2, 5000)}
        bulk_a = [await sku(pa, a, wa, 100 + n, 100) for n in range(bulk)]
        bulk_b = [await sku(pb, b, wb, 100 + n, 100) for n in range(bulk)]
        await set_freight(c, a, 800, 9900, {TIBET: 2000})
        await set_freight(c, b, 1000, 50000, {GUANGDONG: 600})
        promotions = {
            "a_reduction": await insert_promotion(
                c, "FULL_REDUCTION", a, {"tiers": [{"threshold": 30000, "amount": 3000},
                                                   {"threshold": 50000, "amount": 6000}]}, whole_scope=True),
            "b_discount": await insert_promotion(c, "FULL_DISCOUNT", b, {"rate": 90, "threshold_items": 3},
                                                 whole_scope=True),
            "bank_card": await insert_promotion(c, "PAYMENT", None, {"channel": "BANK_CARD", "amount": 500},
                                                whole_scope=True),
        }
        templates = {
            "shop_a": await insert_template(c, "SHOP", a, threshold=30000, amount=2000),
            "shop_b": await insert_template(c, "SHOP", b, threshold=50000, amount=5000),
            "platform": await insert_template(c, "PLATFORM", None, threshold=20000, amount=1000),
        }
    return SimpleNamespace(tag=tag, a=a, b=b, category=category, sku=skus, bulk_a=bulk_a, bulk_b=bulk_b,
                           promotion=promotions, template=templates)


async def fill_wallet(db, market, buyer_id: int) -> dict[str, int]:
    """Usable: shop_a (A ≥300 −20), platform (≥200 −10); below threshold: shop_b; plus an expired
    platform coupon and a used shop_a coupon."""
    async with db.transaction() as c:
        return {
            "shop_a": await give_coupon(c, market.template["shop_a"], buyer_id, expires_in=timedelta(days=7)),
            "platform": await give_coupon(c, market.template["platform"], buyer_id, expires_in=timedelta(days=3)),
            "shop_b": await give_coupon(c, market.template["shop_b"], buyer_id),
            "expired": await give_coupon(c, market.template["platform"], buyer_id, expires_in=-timedelta(hours=1)),
            "used": await give_coupon(c, market.template["shop_a"], buyer_id, used=True),
        }


def error_of(body: dict) -> dict:
    """The single top-level error of a refused request, with `data` null."""
    assert body.get("data") is None or body["data"].get("checkoutPreview") is None, body
    (error,) = body["errors"]
    return error
