"""Trial pricing of a checkout (DOMAIN §4.5): the cart's selected lines or a direct buy, priced by
the engine with the promotions, coupons and freight read in a constant number of statements.

Order placement (next issue) calls `price_checkout` with the same input, so a preview and the
order it becomes agree to the cent.
"""

from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from app.accounts import addresses
from app.cart.service import CartOwner
from app.catalog.warehouses import province_code
from app.checkout.errors import CheckoutError
from app.checkout.lines import CheckoutItem, check_items, load_lines
from app.errors import CommonError, DomainError, Problem
from app.pricing import price
from app.pricing.model import PricingRequest, PricingResult
from app.promotions.inputs import load_pricing_inputs
from app.promotions.rules import PAYMENT_CHANNELS

MAX_PICKED_COUPONS = 20


@dataclass(frozen=True)
class CheckoutRequest:
    items: list[CheckoutItem]
    picked_coupon_ids: tuple[int, ...] | None = None    # None = the engine chooses
    payment_channel: str | None = None
    region_code: str | None = None                      # GB/T 2260 code of the address


def check_request(request: CheckoutRequest) -> None:
    check_items(request.items, "lines")
    problems = []
    if request.picked_coupon_ids is not None and len(request.picked_coupon_ids) > MAX_PICKED_COUPONS:
        problems.append(Problem(CommonError.TOO_MANY, f"pick at most {MAX_PICKED_COUPONS} coupons", ("couponIds",)))
    if request.payment_channel is not None and request.payment_channel not in PAYMENT_CHANNELS:
        problems.append(Problem(CheckoutError.INVALID_CHANNEL, f"channel is one of {', '.join(PAYMENT_CHANNELS)}",
                                ("paymentChannel",)))
    if request.region_code is not None:
        try:
            province_code(request.region_code)
        except DomainError as exc:
            problems += exc.problems
    if problems:
        raise DomainError(*problems)


async def selected_cart_items(conn: asyncpg.Connection, owner: CartOwner) -> list[CheckoutItem]:
    """The cart's selected lines that can be bought, in cart order."""
    column, value = owner.column
    rows = await conn.fetch(
        f"""
        SELECT l.sku_id, l.quantity FROM carts c
        JOIN cart_lines l ON l.cart_id = c.id
        JOIN skus s ON s.id = l.sku_id AND s.status = 'ACTIVE'
        JOIN products p ON p.id = s.product_id AND p.status = 'LISTED'
        JOIN merchants m ON m.id = s.merchant_id AND m.status = 'OPEN'
        WHERE c.{column} = $1 AND l.selected
        ORDER BY l.position
        """, value)
    return [CheckoutItem(r["sku_id"], r["quantity"]) for r in rows]


async def with_default_region(conn: asyncpg.Connection, buyer_id: int | None,
                              request: CheckoutRequest) -> CheckoutRequest:
    """A preview that names no region is priced for the signed-in buyer's default address, as
    placement would deliver there (no default address: every line deliverable, default fees)."""
    if request.region_code is not None or buyer_id is None:
        return request
    book = await addresses.default_address(conn, buyer_id)
    return request if book is None else replace(request, region_code=book["region_code"])


async def price_checkout(conn: asyncpg.Connection, buyer_id: int | None, request: CheckoutRequest,
                         now: datetime) -> PricingResult:
    """The engine's result for `request`; an address that cannot receive some line is an error
    naming those SKUs (ADDRESS_NOT_DELIVERABLE)."""
    check_request(request)
    lines = await load_lines(conn, request.items, request.region_code, "lines")
    inputs = await load_pricing_inputs(conn, lines, buyer_id, request.picked_coupon_ids, now)
    result = price(PricingRequest(
        lines=tuple(lines), buyer=inputs.buyer, promotions=inputs.promotions, coupons=inputs.coupons, now=now,
        picked_coupon_ids=request.picked_coupon_ids, payment_channel=request.payment_channel,
        region=province_code(request.region_code) if request.region_code else None,
        freight_templates=inputs.freight_templates, gift_stock=inputs.gift_stock))
    if result.undeliverable_sku_ids:
        raise await _undeliverable(conn, request, result.undeliverable_sku_ids)
    return result


async def _undeliverable(conn: asyncpg.Connection, request: CheckoutRequest, sku_ids: tuple[int, ...]) -> DomainError:
    """Which lines cannot reach the address: OUT_OF_STOCK when a warehouse covering the region
    holds the SKU but not enough of it, else ADDRESS_NOT_DELIVERABLE."""
    covered = {r["sku_id"] for r in await conn.fetch(
        "SELECT DISTINCT st.sku_id FROM stock st JOIN warehouses w ON w.id = st.warehouse_id AND w.active"
        " JOIN skus s ON s.id = st.sku_id AND s.merchant_id = w.merchant_id"
        " JOIN warehouse_regions wr ON wr.warehouse_id = w.id AND wr.region_code = $2"
        " WHERE st.sku_id = ANY($1::bigint[])",
        list(sku_ids), province_code(request.region_code))}
    index = {item.sku_id: i for i, item in enumerate(request.items)}
    return DomainError(*(
        Problem(CheckoutError.OUT_OF_STOCK, "not that many of this item left", ("lines", str(index[sku]), "skuId"))
        if sku in covered else
        Problem(CheckoutError.ADDRESS_NOT_DELIVERABLE, "this item cannot be delivered to the address",
                ("lines", str(index[sku]), "skuId"))
        for sku in sku_ids))
