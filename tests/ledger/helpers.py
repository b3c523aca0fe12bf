"""Shared by the ledger tests: orders written straight into the tables with the amounts a test
works out by hand (lines with merchant- and platform-funded discounts, shipping, commission
rate), paid through the ledger's own capture and split, completed on a chosen day, and refunded
unit by unit the way the after-sale domain does (its case rows, a refund row, the ledger's
`post_refund`, the order's refunded amount)."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

from app.aftersale import amounts
from app.ledger import postings

T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), UTC)


@dataclass
class L:
    """An order line: `qty` units at `price`; item discount (`item_m` merchant-, `item_p`
    platform-funded) and order-level shares (`share_m`, `share_p`); commission `rate`."""
    qty: int
    price: int
    item_m: int = 0
    item_p: int = 0
    share_m: int = 0
    share_p: int = 0
    rate: str = "0.05"

    @property
    def paid(self) -> int:
        return self.qty * self.price - self.item_m - self.item_p - self.share_m - self.share_p


@dataclass
class Placed:
    id: int
    merchant_id: int
    payment_id: int
    lines: list[int]
    spec: list[L]
    shipping: int
    payable: int
    refunded_units: dict[int, list[int]] = field(default_factory=dict)


async def market(db, merchants: int = 2) -> SimpleNamespace:
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        category = await c.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", f"led-{tag}")
        shops = []
        for n in range(merchants):
            m = await c.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                 f"账{n}-{tag}")
            products, skus = [], []
            for k in range(4):
                products.append(await c.fetchval(
                    "INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                    " VALUES ($1, $2, $3, 'MERCHANT', 'LISTED') RETURNING id", m, category, f"品{n}-{k} {tag}"))
                skus.append(await c.fetchval("INSERT INTO skus (product_id, merchant_id, code, price)"
                                             " VALUES ($1, $2, $3, 100) RETURNING id", products[-1], m, f"L{tag}-{n}-{k}"))
            shops.append(SimpleNamespace(merchant=m, products=products, skus=skus))
        buyer = await c.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ($1, 'x') RETURNING id",
                                 "135" + str(uuid.uuid4().int)[:8])
    return SimpleNamespace(shops=shops, buyer=buyer, tag=tag)


async def place_paid(conn, mk, shop: int, lines: list[L], shipping: int = 0, paid_at: datetime = T0) -> Placed:
    """A paid order (captured and split by app/ledger/postings.py), status PAID."""
    s = mk.shops[shop]
    goods = sum(x.qty * x.price for x in lines)
    discount = goods - sum(x.paid for x in lines)
    payable = goods - discount + shipping
    po = await conn.fetchval(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
        " shipping_total, payable, pricing, expires_at, status, paid_at) VALUES ($1, $2, 'test', $3, $4, $5, $6, '{}',"
        " $7, 'PAID', $7) RETURNING id", mk.buyer, uuid.uuid4().hex, goods, discount, shipping, payable, paid_at)
    oid = await conn.fetchval(
        "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable, status,"
        " payment_status, paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'PAID', 'PAID', $8) RETURNING id",
        po, mk.buyer, s.merchant, goods, discount, shipping, payable, paid_at)
    ids = []
    for n, x in enumerate(lines):
        lid = await conn.fetchval(
            "INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,"
            " goods_amount, item_discount, item_discount_platform, paid_amount, commission_rate)"
            " VALUES ($1, $2, $3, 't', $4, $5, $6, $6, $7, $8, $9, $10, $11) RETURNING id",
            oid, s.skus[n], s.products[n], n, x.qty, x.price, x.qty * x.price, x.item_m + x.item_p, x.item_p, x.paid,
            Decimal(x.rate))
        for level, amount, platform in (("SHOP", x.share_m, 0), ("PLATFORM", x.share_p, x.share_p)):
            if amount:
                promo = await conn.fetchval(
                    "INSERT INTO promotions (kind, name, starts_at, ends_at, rule, funder, created_by)"
                    " VALUES ('FULL_REDUCTION', 'p', $1, $2, '{}', $3, 'test') RETURNING id",
                    paid_at - timedelta(days=1), paid_at + timedelta(days=1), "PLATFORM" if platform else "MERCHANT")
                await conn.execute(
                    "INSERT INTO order_line_shares (order_line_id, level, promotion_id, amount, funder, platform_amount,"
                    " merchant_amount) VALUES ($1, $2, $3, $4, $5, $6, $7)", lid, level, promo, amount,
                    "PLATFORM" if platform else "MERCHANT", platform, amount - platform)
        ids.append(lid)
    payment = None
    if payable:
        payment = await conn.fetchval(
            "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level, status, succeeded_at)"
            " VALUES ($1, 'sandbox', 'WECHAT', $2, 'NONE', 'SUCCEEDED', $3) RETURNING id", po, payable, paid_at)
        await conn.execute("UPDATE payment_orders SET paid_by_payment_id = $2 WHERE id = $1", po, payment)
        await postings.capture(conn, [(payment, payable)], paid_at)
    await postings.split(conn, [oid], paid_at)
    return Placed(oid, s.merchant, payment or 0, ids, lines, shipping, payable)


async def complete(conn, order: Placed, completed_at: datetime) -> None:
    await conn.execute("UPDATE orders SET status = 'COMPLETED', logistics_status = 'SIGNED', shipped_at = $2,"
                       " received_at = $2, completed_at = $2 WHERE id = $1", order.id, completed_at)


async def open_case(conn, order: Placed, units_per_line: dict[int, int], now: datetime) -> int:
    """An after-sale case (RETURN_REFUND, under review) on the next free units of the lines
    (index in the order → k): those lines are held."""
    case = await conn.fetchval(
        "INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, status, before_shipment, reason, goods_amount,"
        " created_at) SELECT id, buyer_id, merchant_id, 'RETURN_REFUND', 'REQUESTED', false, 'QUALITY', 0, $2"
        " FROM orders WHERE id = $1 RETURNING id", order.id, now)
    goods = 0
    for n, k in units_per_line.items():
        x, lid = order.spec[n], order.lines[n]
        held = [u for r in await conn.fetch("SELECT units FROM after_sale_lines WHERE order_line_id = $1"
                                            " AND (open OR refunded)", lid) for u in r["units"]]
        picked = amounts.next_units(x.qty, held, k)
        assert len(picked) == k, "the test asks for units the line still has"
        amount = amounts.units_amount(x.paid, x.qty, picked)
        goods += amount
        await conn.execute("INSERT INTO after_sale_lines (after_sale_id, order_line_id, quantity, units, amount)"
                           " VALUES ($1, $2, $3, $4, $5)", case, lid, k, picked, amount)
    await conn.execute("UPDATE after_sales SET goods_amount = $2 WHERE id = $1", case, goods)
    await conn.execute("UPDATE orders SET aftersale_status = 'IN_PROGRESS' WHERE id = $1", order.id)
    return case


async def refund_case(conn, order: Placed, case: int, now: datetime, shipping: int = 0) -> int:
    """The case's refund confirmed by the provider: the ledger posts it, the case ends REFUNDED."""
    goods = await conn.fetchval("SELECT goods_amount FROM after_sales WHERE id = $1", case)
    amount = goods + shipping
    await conn.execute("UPDATE after_sales SET status = 'REFUNDED', shipping_amount = $2, closed_at = $3 WHERE id = $1",
                       case, shipping, now)
    await conn.execute("UPDATE after_sale_lines SET open = false, refunded = true WHERE after_sale_id = $1", case)
    refund = await _refund_row(conn, order, amount, now, case)
    await conn.execute("UPDATE orders SET aftersale_status = 'DONE' WHERE id = $1", order.id)
    return refund


async def refund_units(conn, order: Placed, units_per_line: dict[int, int], now: datetime, shipping: int = 0) -> int:
    case = await open_case(conn, order, units_per_line, now)
    return await refund_case(conn, order, case, now, shipping)


async def refund_whole_order(conn, order: Placed, now: datetime) -> int:
    """A buyer's cancellation of a paid, unshipped order: its payable back (no case)."""
    return await _refund_row(conn, order, order.payable, now, None)


async def _refund_row(conn, order: Placed, amount: int, now: datetime, case: int | None) -> int:
    if amount == 0:
        return 0
    await conn.execute("UPDATE payments SET refunded_amount = refunded_amount + $2 WHERE id = $1",
                       order.payment_id, amount)
    refund = await conn.fetchrow(
        "INSERT INTO refunds (payment_id, order_id, amount, reason, idempotency_key, after_sale_id, status, settled_at)"
        " VALUES ($1, $2, $3, 'TEST', $4, $5, 'SUCCEEDED', $6) RETURNING *", order.payment_id, order.id, amount,
        uuid.uuid4().hex, case, now)
    await conn.execute("UPDATE orders SET refunded_amount = refunded_amount + $2, payment_status = CASE WHEN"
                       " refunded_amount + $2 = payable THEN 'REFUNDED' ELSE 'PARTIALLY_REFUNDED' END WHERE id = $1",
                       order.id, amount)
    await postings.post_refund(conn, refund, now)
    return refund["id"]


async def merchant_balances(db, merchant_id: int) -> dict[str, int]:
    from app.ledger.accounts import Account
    from app.ledger.journal import balances
    async with db.connection() as conn:
        got = await balances(conn, merchant_id, [Account.MERCHANT_PENDING, Account.MERCHANT_AVAILABLE,
                                                 Account.MERCHANT_REFUND_RECOVERY])
    return {a.value: v for a, v in got.items()}
