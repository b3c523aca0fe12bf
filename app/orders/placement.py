"""Placing an order (DOMAIN §5): one checkout becomes one payment order (交易单) and one order
per merchant (拆单), priced by the same engine as the preview.

Everything happens in one transaction, so a failure anywhere writes nothing:
1. a per-buyer advisory lock serialises one buyer's placements (idempotency keys, coupons,
   per-buyer caps); a key already used returns the first result (or IDEMPOTENCY_KEY_REUSED
   when the request differs);
2. the checkout is priced (`price_checkout`); if the client sent the payable it saw and the
   price differs now, PRICE_CHANGED carries the new result;
3. the payment order, orders, lines (gifts as zero-price lines) and per-line discount shares are
   written;
4. coupons are consumed and promotion budgets and per-buyer units taken, each with a guarded
   UPDATE (if a concurrent checkout got there first: PRICE_CHANGED with a fresh price);
5. stock is reserved for every line by routing, in SKU order, by one SQL call sent together with
   the COMMIT (`reservations.reserve_and_commit`): a flash-sale SKU's stock row is locked only
   for PostgreSQL's time, not for a round trip and a turn of a busy event loop.
Risk (§11) is decided before, and its decision written at once, so refusals are on record.
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg

from app.accounts import addresses
from app.catalog import recharge, reservations
from app.catalog.warehouses import province_code
from app.checkout.errors import CheckoutError
from app.checkout.preview import CheckoutRequest, check_request, price_checkout
from app.db import Database
from app.errors import CommonError, DomainError, Problem
from app.events import emit_many
from app.merchants import commission
from app.orders import service
from app.orders.errors import OrderError
from app.pricing.model import PricingResult
from app.promotions import usage as promotion_usage
from app.risk import rules as risk

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
PHONE = recharge.PHONE


class PriceChanged(DomainError):
    """The price is not what the client was shown; `result` is the price now."""

    def __init__(self, result: PricingResult) -> None:
        super().__init__(Problem(OrderError.PRICE_CHANGED, "the price changed; check the new total and submit again"))
        self.result = result


@dataclass(frozen=True)
class Address:
    receiver: str
    phone: str
    region_code: str          # GB/T 2260, any level (e.g. 440305)
    detail: str


@dataclass(frozen=True)
class PlacementRequest:
    checkout: CheckoutRequest
    idempotency_key: str
    expected_payable: int | None = None      # what the preview showed; None = accept the price now
    address: Address | None = None           # physical goods, given inline
    address_id: int | None = None            # … or from the buyer's address book; neither: the default
    recharge_account: str | None = None      # virtual goods
    from_cart: bool = False                  # remove the ordered SKUs from the cart


@dataclass(frozen=True)
class PlacementFacts:
    """Who is placing, for risk: the caller's IP and device (the client's `X-Device-Id` header)."""
    ip: str | None = None
    device: str | None = None


@dataclass(frozen=True)
class Placement:
    payment_order_id: int
    order_ids: list[int]
    payable: int
    expires_at: datetime
    replayed: bool = False                   # the idempotency key had been used: this is the first result
    pricing: PricingResult | None = field(default=None, compare=False)


def _check(request: PlacementRequest) -> None:
    problems = []
    if not IDEMPOTENCY_KEY.match(request.idempotency_key or ""):
        problems.append(Problem(OrderError.INVALID_IDEMPOTENCY_KEY, "8 to 64 characters of A-Z a-z 0-9 _ -", ("idempotencyKey",)))
    a = request.address
    if a is not None:
        if not 1 <= len(a.receiver.strip()) <= 50:
            problems.append(Problem(OrderError.INVALID_ADDRESS, "a receiver name of 1 to 50 characters", ("address", "receiver")))
        if not PHONE.match(a.phone):
            problems.append(Problem(OrderError.INVALID_ADDRESS, "a phone number of 6 to 20 digits", ("address", "phone")))
        if not 1 <= len(a.detail.strip()) <= 200:
            problems.append(Problem(OrderError.INVALID_ADDRESS, "a street address of 1 to 200 characters", ("address", "detail")))
        if a.region_code != request.checkout.region_code:
            problems.append(Problem(OrderError.INVALID_ADDRESS, "the address region is the checkout's region",
                                    ("address", "regionCode")))
    if a is not None and request.address_id is not None:
        problems.append(Problem(CommonError.INVALID_VALUE, "give either an address or an addressId", ("addressId",)))
    if request.recharge_account is not None and len(request.recharge_account) > recharge.MAX_EMAIL:
        problems.append(Problem(OrderError.INVALID_RECHARGE_ACCOUNT, "a phone number or an email address",
                                ("rechargeAccount",)))
    if problems:
        raise DomainError(*problems)


def request_hash(request: PlacementRequest) -> str:
    """What makes two submits "the same request" for an idempotency key. A cart checkout is the
    same request whatever the cart holds when it is retried: placing it emptied the cart."""
    fields = asdict(request)
    if request.from_cart:
        fields["checkout"]["items"] = "cart"
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


async def place_order(db: Database, buyer_id: int, request: PlacementRequest, facts: PlacementFacts,
                      now: datetime, payment_timeout: timedelta) -> Placement:
    """The replay check comes first: a retry of a placement that succeeded answers its result,
    even though the cart it was placed from is empty now."""
    _check(request)
    digest = request_hash(request)
    async with db.connection() as conn:
        replay = await _replay(conn, buyer_id, request.idempotency_key, digest)
    if replay is not None:
        return replay
    if request.from_cart and not request.checkout.items:
        raise DomainError.of(CheckoutError.NO_LINES, "select at least one cart line", "fromCart")
    check_request(request.checkout)
    request = await _with_book_address(db, buyer_id, request)
    await _risk_check(db, buyer_id, request, facts, now)
    async with db.hot_transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('placement:' || $1::bigint, 0))", buyer_id)
        replay = await _replay(conn, buyer_id, request.idempotency_key, digest)   # a concurrent twin committed
        if replay is not None:
            return replay

        result = await price_checkout(conn, buyer_id, request.checkout, now)
        if request.expected_payable is not None and request.expected_payable != result.payable:
            raise PriceChanged(result)
        skus = await _sku_facts(conn, result)
        _check_delivery(request, skus)
        placement = await _write(conn, buyer_id, request, result, skus, digest, now, now + payment_timeout)
        await _consume(conn, buyer_id, request.checkout, result, placement.payment_order_id, now)
        if request.from_cart:
            await _remove_from_cart(conn, buyer_id, [line.sku_id for line in result.lines])
        if result.payable == 0:   # nothing to pay: paid at once
            await service.mark_paid(conn, placement.payment_order_id, now, f"buyer:{buyer_id}")
        try:
            await reservations.reserve_and_commit(
                conn, placement.payment_order_id,
                province_code(request.address.region_code) if request.address else None)
        except reservations.OutOfStock as exc:
            raise _out_of_stock(request, result, exc.sku_ids) from None
        return placement


async def _with_book_address(db: Database, buyer_id: int, request: PlacementRequest) -> PlacementRequest:
    """The request with its address from the buyer's book: `address_id`'s, or when the request
    names no address and holds physical goods the default one (none: ADDRESS_REQUIRED later).
    Its region becomes the checkout's region. The idempotency hash stays the request as sent."""
    if request.address is not None:
        return request
    async with db.connection() as conn:
        if request.address_id is None and not await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM skus s JOIN products p ON p.id = s.product_id"
                " WHERE s.id = ANY($1::bigint[]) AND p.fulfillment_type <> 'VIRTUAL')",
                [item.sku_id for item in request.checkout.items]):
            return request
        row = await addresses.address_for_order(conn, buyer_id, request.address_id)
    if row is None:
        return request
    address = Address(row["receiver"], row["phone"], row["region_code"], row["detail"])
    return replace(request, address=address, checkout=replace(request.checkout, region_code=address.region_code))


async def _replay(conn: asyncpg.Connection, buyer_id: int, key: str, digest: str) -> Placement | None:
    """The first result of this idempotency key, None when it is new; IDEMPOTENCY_KEY_REUSED when
    it placed a different request."""
    earlier = await conn.fetchrow("SELECT id, request_hash, payable, expires_at FROM payment_orders"
                                  " WHERE buyer_id = $1 AND idempotency_key = $2", buyer_id, key)
    if earlier is None:
        return None
    if earlier["request_hash"] != digest:
        raise DomainError.of(OrderError.IDEMPOTENCY_KEY_REUSED, "this key was used for another order", "idempotencyKey")
    return Placement(earlier["id"], await service.order_ids_of(conn, [earlier["id"]]), earlier["payable"],
                     earlier["expires_at"], replayed=True)


def _out_of_stock(request: PlacementRequest, result: PricingResult, sku_ids: list[int]) -> DomainError:
    index = {x.sku_id: i for i, x in enumerate(request.checkout.items)}
    gifts = {g.sku_id for m in result.merchants for g in m.gifts}
    return DomainError(*(
        Problem(CheckoutError.OUT_OF_STOCK, "not enough of this item left", ("lines", str(index[sku]), "skuId"))
        if sku in index and sku not in gifts else
        Problem(OrderError.GIFT_OUT_OF_STOCK, "a gift of this order ran out; submit again", ("lines",))
        for sku in dict.fromkeys(sku_ids)))


async def _risk_check(db: Database, buyer_id: int, request: PlacementRequest, facts: PlacementFacts,
                      now: datetime) -> None:
    """Decided and written outside the placement's transaction, so a refusal is on record."""
    a = request.address
    async with db.connection() as conn:
        decision = await risk.check_placement(conn, risk.PlacementFacts(
            buyer_id=buyer_id, ip=facts.ip, device=risk.device_key(facts.device),
            address=None if a is None else risk.address_key(province_code(a.region_code), a.detail)), now)
        await risk.record(conn, "PLACEMENT", buyer_id, decision)
    if not decision.allowed:
        raise risk.refusal(decision)


async def _sku_facts(conn: asyncpg.Connection, result: PricingResult) -> dict[int, asyncpg.Record]:
    """Title, spec label, fulfilment type and recharge account kind of every SKU ordered or given."""
    sku_ids = [line.sku_id for line in result.lines] + [g.sku_id for m in result.merchants for g in m.gifts]
    rows = await conn.fetch("SELECT s.id, s.product_id, s.spec_label, s.recharge_account_kind, p.title, p.fulfillment_type FROM skus s"
                            " JOIN products p ON p.id = s.product_id WHERE s.id = ANY($1::bigint[])", sku_ids)
    return {r["id"]: r for r in rows}


def _check_delivery(request: PlacementRequest, skus: dict[int, asyncpg.Record]) -> None:
    """Physical goods need an address; virtual goods (checked out on their own: their order is
    delivered by the supplier at once, DOMAIN §6) need one recharge account of the kind their
    SKUs top up — so a checkout never mixes phone and email top-ups."""
    virtual = [r for r in skus.values() if r["fulfillment_type"] == "VIRTUAL"]
    if not virtual:
        if request.address is None:
            raise DomainError.of(OrderError.ADDRESS_REQUIRED, "choose a delivery address", "address")
        return
    if len(virtual) < len(skus):
        raise DomainError.of(OrderError.MIXED_VIRTUAL_AND_PHYSICAL,
                             "top-ups are checked out on their own, without physical goods", "lines")
    kinds = {recharge.kind_of(r["recharge_account_kind"]) for r in virtual}
    if len(kinds) > 1:
        raise DomainError.of(OrderError.MIXED_RECHARGE_ACCOUNT_KINDS,
                             "phone and email top-ups need separate checkouts (one recharge account each)", "lines")
    [kind] = kinds
    if request.recharge_account is None:
        raise DomainError.of(OrderError.RECHARGE_ACCOUNT_REQUIRED, f"give {recharge.RULES[kind]} to top up",
                             "rechargeAccount")
    if not recharge.valid_account(kind, request.recharge_account):
        raise DomainError.of(OrderError.INVALID_RECHARGE_ACCOUNT, f"give {recharge.RULES[kind]} to top up",
                             "rechargeAccount")


async def _write(conn: asyncpg.Connection, buyer_id: int, request: PlacementRequest, result: PricingResult,
                 skus: dict[int, asyncpg.Record], digest: str, now: datetime, expires_at: datetime) -> Placement:
    c = request.checkout
    summary = {"promotions": [{"id": p.promotion_id, "kind": p.kind.value, "level": p.level.value,
                               "discount": p.discount} for p in result.promotions],
               "coupons": [{"id": x.coupon_id, "kind": x.kind.value, "discount": x.discount} for x in result.coupons],
               "approximate": result.approximate}
    payment_order_id = await conn.fetchval(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
        " shipping_total, payable, payment_channel, region_code, pricing, expires_at, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        buyer_id, request.idempotency_key, digest, result.goods_total, result.total_discount, result.shipping_total,
        result.payable, c.payment_channel, c.region_code, summary, expires_at, now)
    address = None if request.address is None else asdict(request.address)
    order_ids, events = [], []
    for m in result.merchants:
        payable = m.paid_amount + m.shipping
        order_id = await conn.fetchval(
            "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable,"
            " address, recharge_account, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            payment_order_id, buyer_id, m.merchant_id, m.subtotal, m.discount, m.shipping, payable,
            address, request.recharge_account, now)
        order_ids.append(order_id)
        lines = [x for x in result.lines if x.merchant_id == m.merchant_id]
        rates = await commission.rates_in_force(conn, m.merchant_id, [r["product_id"] for r in skus.values()], now)
        line_ids = await _insert_lines(conn, order_id, lines, m.gifts, skus, rates)
        await _insert_shares(conn, lines, line_ids)
        events.append(("ORDER_CREATED", {"order_id": order_id, "payment_order_id": payment_order_id,
                                         "buyer_id": buyer_id, "to": "PENDING_PAYMENT", "payable": payable},
                       m.merchant_id))
    await conn.execute("INSERT INTO order_status_history (order_id, to_status, actor, at)"
                       " SELECT unnest($1::bigint[]), 'PENDING_PAYMENT', $2, $3", order_ids, f"buyer:{buyer_id}", now)
    await emit_many(conn, "order", events)
    return Placement(payment_order_id, order_ids, result.payable, expires_at, pricing=result)


async def _insert_lines(conn: asyncpg.Connection, order_id: int, lines, gifts, skus,
                        rates: dict[int, Decimal]) -> dict[int, int]:
    """The order's lines (each with the commission rate in force), then its gifts; returns order
    line ids by SKU of the priced lines."""
    def product(sku_id: int) -> tuple:
        sku = skus[sku_id]
        return sku["product_id"], sku["title"], sku["spec_label"], rates.get(sku["product_id"], Decimal(0))
    rows = [(x.sku_id, *product(x.sku_id), x.position, x.quantity, x.price, x.unit_price, x.goods_amount,
             x.item_promotion_id, x.item_discount, x.item_discount_platform, x.promo_units, x.paid_amount, None)
            for x in lines]
    last = max((x.position for x in lines), default=0)
    rows += [(g.sku_id, *product(g.sku_id), last + n, g.quantity, 0, 0, 0, None, 0, 0, 0, 0, g.promotion_id)
             for n, g in enumerate(gifts, 1)]
    inserted = await conn.fetch(
        """
        INSERT INTO order_lines (order_id, sku_id, product_id, title, spec_label, commission_rate, position,
                                 quantity, price, unit_price, goods_amount, item_promotion_id, item_discount,
                                 item_discount_platform, promo_units, paid_amount, gift_of_promotion_id)
        SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::numeric[], $7::int[],
                                 $8::int[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
                                 $13::bigint[], $14::bigint[], $15::int[], $16::bigint[], $17::bigint[])
        RETURNING id, sku_id, gift_of_promotion_id
        """, order_id, *map(list, zip(*rows)))
    return {r["sku_id"]: r["id"] for r in inserted if r["gift_of_promotion_id"] is None}


async def _insert_shares(conn: asyncpg.Connection, lines, line_ids: dict[int, int]) -> None:
    rows = [(line_ids[x.sku_id], s.level.value, s.promotion_id, s.coupon_id, s.amount, s.funder.value,
             s.platform_amount, s.merchant_amount) for x in lines for s in x.shares if s.amount > 0]
    if rows:
        await conn.execute(
            "INSERT INTO order_line_shares (order_line_id, level, promotion_id, buyer_coupon_id, amount, funder,"
            " platform_amount, merchant_amount) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[],"
            " $4::bigint[], $5::bigint[], $6::text[], $7::bigint[], $8::bigint[])", *map(list, zip(*rows)))


async def _consume(conn: asyncpg.Connection, buyer_id: int, checkout: CheckoutRequest, result: PricingResult,
                   payment_order_id: int, now: datetime) -> None:
    """Use the applied coupons and take promotion budgets and per-buyer units (app/promotions); a
    checkout that lost a race for them meanwhile gets PRICE_CHANGED with the price now."""
    usage: dict[int, tuple[int, int]] = {}        # promotion id → (units, amount)
    for p in result.promotions:
        units, amount = usage.get(p.promotion_id, (0, 0))
        usage[p.promotion_id] = (units, amount + p.discount)
    for x in result.lines:
        if x.item_promotion_id is not None:
            units, amount = usage.get(x.item_promotion_id, (0, 0))
            usage[x.item_promotion_id] = (units + x.promo_units, amount)
    coupons_ok = await promotion_usage.use_coupons(conn, buyer_id, [c.coupon_id for c in result.coupons],
                                                   payment_order_id, now)
    budgets_ok = await promotion_usage.take_budgets(conn, buyer_id, payment_order_id, usage)
    if not coupons_ok or not budgets_ok:
        raise PriceChanged(await price_checkout(conn, buyer_id, checkout, now))


async def _remove_from_cart(conn: asyncpg.Connection, buyer_id: int, sku_ids: list[int]) -> None:
    await conn.execute("DELETE FROM cart_lines l USING carts c WHERE c.id = l.cart_id AND c.buyer_id = $1"
                       " AND l.sku_id = ANY($2::bigint[])", buyer_id, sku_ids)
