"""Everything the pricing engine needs besides the lines, read in a constant number of
statements whatever the cart holds (issue 3 "never per line"): the buyer's facts, the running
promotions that can touch the lines, the buyer's usable coupons (plus any coupon id the buyer
picked, so the engine can say why it is not usable), freight templates and gift stock.
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.pricing.item import covers
from app.pricing.model import (
    Buyer,
    Coupon,
    CouponKind,
    CouponStatus,
    FreightTemplate,
    Funder,
    Funding,
    Line,
    Promotion,
    PromotionKind,
)
from app.promotions.rules import to_promotion


@dataclass(frozen=True)
class PricingInputs:
    buyer: Buyer
    promotions: tuple[Promotion, ...]
    coupons: tuple[Coupon, ...]
    freight_templates: dict[int, FreightTemplate]
    gift_stock: dict[int, int]


async def load_pricing_inputs(conn: asyncpg.Connection, lines: list[Line], buyer_id: int | None,
                              picked_coupon_ids: tuple[int, ...] | None, now: datetime) -> PricingInputs:
    merchant_ids = sorted({line.merchant_id for line in lines})
    sku_ids = [line.sku_id for line in lines]
    promotions = await _running_promotions(conn, lines, merchant_ids, sku_ids, now)
    return PricingInputs(
        buyer=await buyer_facts(conn, buyer_id),
        promotions=promotions,
        coupons=await _wallet(conn, buyer_id, picked_coupon_ids or (), now),
        freight_templates=await _freight_templates(conn, merchant_ids),
        gift_stock=await _gift_stock(conn, promotions))


async def buyer_facts(conn: asyncpg.Connection, buyer_id: int | None) -> Buyer:
    """Member level; "new user" = no order in COMPLETED (DOMAIN §4.6); units bought so far at
    each DIRECT price with a per-buyer cap (placed and not cancelled)."""
    if buyer_id is None:
        return Buyer()
    row = await conn.fetchrow(
        """
        SELECT b.member_level,
               NOT EXISTS (SELECT 1 FROM orders o WHERE o.buyer_id = b.id AND o.status = 'COMPLETED') AS is_new,
               coalesce((SELECT jsonb_object_agg(u.promotion_id, u.units) FROM (
                   SELECT promotion_id, sum(units) AS units FROM promotion_usages
                   WHERE buyer_id = b.id AND NOT released AND units > 0 GROUP BY promotion_id) u), '{}') AS bought
        FROM buyers b WHERE b.id = $1
        """, buyer_id)
    if row is None:
        return Buyer()
    return Buyer(member_level=row["member_level"], is_new_user=row["is_new"],
                 earlier_purchases={int(k): v for k, v in row["bought"].items()})


async def _running_promotions(conn: asyncpg.Connection, lines: list[Line], merchant_ids: list[int],
                              sku_ids: list[int], now: datetime) -> tuple[Promotion, ...]:
    """ACTIVE promotions within their window, of the lines' merchants or of the platform, that
    cover at least one line (payment discounts always: they cover the order)."""
    rows = await conn.fetch(
        """
        SELECT p.*, ARRAY(SELECT ps.sku_id FROM promotion_skus ps
                          WHERE ps.promotion_id = p.id AND ps.status = 'APPROVED'
                            AND ps.sku_id = ANY($2::bigint[])) AS line_sku_ids
        FROM promotions p
        WHERE p.status = 'ACTIVE' AND p.starts_at <= $3 AND $3 < p.ends_at
          AND (p.merchant_id IS NULL OR p.merchant_id = ANY($1::bigint[]))
        ORDER BY p.id
        """, merchant_ids, sku_ids, now)
    present = set(sku_ids)
    found = []
    for row in rows:
        promotion = to_promotion(row, frozenset(row["line_sku_ids"]))
        if (promotion.kind is PromotionKind.PAYMENT
                or any(item.sku_id in present for item in promotion.bundle_items)
                or any(covers(promotion, line) for line in lines)):
            found.append(promotion)
    return tuple(found)


async def _wallet(conn: asyncpg.Connection, buyer_id: int | None, picked: tuple[int, ...],
                  now: datetime) -> tuple[Coupon, ...]:
    """The buyer's unused, unexpired coupons and the picked ones in any state; a picked id of
    another buyer's coupon is left out, so the engine answers UNKNOWN_COUPON for it."""
    if buyer_id is None:
        return ()
    rows = await conn.fetch(
        """
        SELECT bc.id, bc.template_id, bc.status, bc.expires_at, t.kind, t.merchant_id, t.threshold, t.amount,
               t.rate, t.cap, t.category_ids, t.funder, t.platform_percent
        FROM buyer_coupons bc JOIN coupon_templates t ON t.id = bc.template_id
        WHERE bc.buyer_id = $1 AND ((bc.status = 'UNUSED' AND bc.expires_at > $2) OR bc.id = ANY($3::bigint[]))
        ORDER BY bc.id
        """, buyer_id, now, list(picked))
    return tuple(to_coupon(r) for r in rows)


def to_coupon(r: asyncpg.Record) -> Coupon:
    return Coupon(id=r["id"], template_id=r["template_id"], kind=CouponKind(r["kind"]), expires_at=r["expires_at"],
                  merchant_id=r["merchant_id"], threshold=r["threshold"], amount=r["amount"], rate=r["rate"],
                  cap=r["cap"], category_ids=frozenset(r["category_ids"]), status=CouponStatus(r["status"]),
                  funding=None if r["funder"] is None else Funding(Funder(r["funder"]), r["platform_percent"]))


async def _freight_templates(conn: asyncpg.Connection, merchant_ids: list[int]) -> dict[int, FreightTemplate]:
    rows = await conn.fetch(
        """
        SELECT f.merchant_id, f.default_fee, f.free_threshold,
               coalesce(jsonb_object_agg(r.region_code, r.fee) FILTER (WHERE r.region_code IS NOT NULL), '{}')
                   AS fee_by_region
        FROM freight_templates f LEFT JOIN freight_template_regions r ON r.merchant_id = f.merchant_id
        WHERE f.merchant_id = ANY($1::bigint[])
        GROUP BY f.merchant_id
        """, merchant_ids)
    return {r["merchant_id"]: FreightTemplate(r["merchant_id"], r["default_fee"], r["fee_by_region"],
                                              r["free_threshold"])
            for r in rows}


async def _gift_stock(conn: asyncpg.Connection, promotions: tuple[Promotion, ...]) -> dict[int, int]:
    """Available units of each gift SKU in its merchant's active warehouses."""
    gift_skus = sorted({p.gift_sku_id for p in promotions if p.kind is PromotionKind.GIFT and p.gift_sku_id})
    if not gift_skus:
        return {}
    rows = await conn.fetch(
        """
        SELECT st.sku_id, sum(greatest(st.on_hand - st.reserved, 0))::int AS available
        FROM stock st JOIN warehouses w ON w.id = st.warehouse_id AND w.active
        JOIN skus s ON s.id = st.sku_id AND s.merchant_id = w.merchant_id AND s.status = 'ACTIVE'
        WHERE st.sku_id = ANY($1::bigint[])
        GROUP BY st.sku_id
        """, gift_skus)
    return {r["sku_id"]: r["available"] for r in rows}
