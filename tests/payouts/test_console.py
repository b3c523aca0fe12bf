"""The merchant console's figures per day and per product, and the merchant score, on rows
written by hand (orders, refunds, settlement entries posted with journal.post as the
settlement run posts them); every expected number is worked out in the test."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.ledger import journal
from app.ledger.accounts import PLATFORM, Account
from app.payouts.console import score_of
from tests.payments.helpers import make_goods
from tests.payouts.helpers import gid, shop

CONSOLE = """query($from: Date!, $to: Date, $m: ID) { merchantConsole(from: $from, to: $to, merchantId: $m) {
  days { day orders sales refunds commission settlement }
  products { productId title orders units sales refunds commission settlement } } }"""
SCORE = """query($m: ID) { merchantScore(merchantId: $m) { score ratingPart afterSalePart reviews meanRating orders
  afterSales windowDays } }"""
D1 = datetime(2026, 11, 1, 10, tzinfo=UTC)
D2 = datetime(2026, 11, 2, 23, 59, tzinfo=UTC)


async def _order(conn, buyer: int, merchant: int, lines: list[tuple[int, int, int]], paid_at: datetime,
                 shipping: int = 0) -> tuple[int, list[int]]:
    """An order paid at `paid_at` with lines (product, sku, quantity) at 100 cents a unit."""
    goods = sum(q * 100 for _, _, q in lines)
    po = await conn.fetchval(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
        " shipping_total, payable, pricing, expires_at) VALUES ($1, $2, 't', $3, 0, $4, $5, '{}', now())"
        " RETURNING id", buyer, uuid.uuid4().hex, goods, shipping, goods + shipping)
    order = await conn.fetchval(
        "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable, status,"
        " payment_status, paid_at) VALUES ($1, $2, $3, $4, 0, $5, $6, 'PAID', 'PAID', $7) RETURNING id",
        po, buyer, merchant, goods, shipping, goods + shipping, paid_at)
    ids = []
    for n, (product, sku, q) in enumerate(lines):
        ids.append(await conn.fetchval(
            "INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,"
            " goods_amount, paid_amount) VALUES ($1, $2, $3, 't', $4, $5, 100, 100, $6, $6) RETURNING id",
            order, sku, product, n + 1, q, q * 100))
    return order, ids


@pytest.fixture(scope="module")
async def books(db, settings):
    """Shop with products P1, P2. 2026-11-01: order A (P1 ×2 = 2.00, shipping 0.10), order B (P2 ×1 =
    1.00). 2026-11-02: order C (P1 ×1 = 1.00); refund 0.50 of A; A's line settled: 2.00 pending →
    1.80 available + 0.20 commission, and A's shipping 0.10 settled in full."""
    goods = await make_goods(db, merchants=1)
    s = goods.shops[0]
    async with db.transaction() as conn:
        p2 = await conn.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                                 " SELECT merchant_id, category_id, 'Second', 'MERCHANT', 'LISTED' FROM products"
                                 " WHERE id = $1 RETURNING id", s.product)
        sku2 = await conn.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, $3, 100)"
                                   " RETURNING id", p2, s.merchant, f"S2-{goods.tag}")
        buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ($1, 'x') RETURNING id",
                                    "137" + str(uuid.uuid4().int)[:8])
        a, (a_line,) = await _order(conn, buyer, s.merchant, [(s.product, s.sku, 2)], D1, shipping=10)
        await _order(conn, buyer, s.merchant, [(p2, sku2, 1)], D1 + timedelta(hours=1))
        await _order(conn, buyer, s.merchant, [(s.product, s.sku, 1)], D2)
        payment = await conn.fetchval(
            "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level, status, succeeded_at)"
            " SELECT payment_order_id, 'sandbox', 'WECHAT', payable, 'NONE', 'SUCCEEDED', $2 FROM orders WHERE id = $1"
            " RETURNING id", a, D1)
        await conn.execute("INSERT INTO refunds (payment_id, order_id, amount, reason, idempotency_key, status,"
                           " settled_at) VALUES ($1, $2, 50, 'test', $3, 'SUCCEEDED', $4)",
                           payment, a, uuid.uuid4().hex, D2)
        m = s.merchant
        await journal.post(conn, [journal.Entry(
            id=f"settlement:test:{a}", kind="SETTLEMENT", occurred_at=D2, merchant_id=m, order_id=a, postings=[
                journal.Posting(Account.MERCHANT_PENDING, 200, m, a, a_line),
                journal.Posting(Account.MERCHANT_AVAILABLE, -180, m, a, a_line),
                journal.Posting(Account.PLATFORM_COMMISSION, -20, PLATFORM, a, a_line),
                journal.Posting(Account.MERCHANT_PENDING, 10, m, a),
                journal.Posting(Account.MERCHANT_AVAILABLE, -10, m, a)])])
    staff = await shop(db, settings, s.merchant)
    return goods, p2, staff


async def test_figures_per_day(api, books):
    _, _, staff = books
    days = (await api.ok(CONSOLE, {"from": "2026-11-01", "to": "2026-11-03"}, staff.owner))["merchantConsole"]["days"]
    assert days == [
        {"day": "2026-11-01", "orders": 2, "sales": 310, "refunds": 0, "commission": 0, "settlement": 0},
        {"day": "2026-11-02", "orders": 1, "sales": 100, "refunds": 50, "commission": 20, "settlement": 190},
        {"day": "2026-11-03", "orders": 0, "sales": 0, "refunds": 0, "commission": 0, "settlement": 0}]


async def test_figures_per_product(api, books):
    goods, p2, staff = books
    products = (await api.ok(CONSOLE, {"from": "2026-11-01", "to": "2026-11-02"}, staff.operator))[
        "merchantConsole"]["products"]
    assert [(p["productId"], p["orders"], p["units"], p["sales"], p["commission"], p["settlement"])
            for p in products] == [(gid("Product", goods.shops[0].product), 2, 3, 300, 20, 180),
                                   (gid("Product", p2), 1, 1, 100, 0, 0)]


async def test_only_the_own_merchant_and_bounded_ranges(api, db, settings, books, tokens):
    goods, _, staff = books
    other = await shop(db, settings)
    peek = await api(CONSOLE, {"from": "2026-11-01", "m": gid("Merchant", goods.shops[0].merchant)}, other.owner)
    assert peek["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    mine = await api.ok(CONSOLE, {"from": "2026-11-02"}, other.owner)
    assert mine["merchantConsole"]["days"] == [
        {"day": "2026-11-02", "orders": 0, "sales": 0, "refunds": 0, "commission": 0, "settlement": 0}]
    admin = await api.ok(CONSOLE, {"from": "2026-11-02", "m": gid("Merchant", goods.shops[0].merchant)},
                         tokens["admin"])
    assert admin["merchantConsole"]["days"][0]["sales"] == 100
    backwards = await api(CONSOLE, {"from": "2026-11-03", "to": "2026-11-01"}, staff.owner)
    assert backwards["errors"][0]["extensions"]["code"] == "INVALID_DATE_RANGE"


@pytest.mark.parametrize(("reviews", "total", "orders", "cases", "expected"), [
    # ratings 5,4,4,3 → mean 4 → 80; 1 after-sale in 10 orders → 90; 0.6×80 + 0.4×90 = 84.0
    (4, 16, 10, 1, Decimal("84.0")),
    # no reviews → 80; no orders → 100: 48 + 40 = 88.0
    (0, 0, 0, 0, Decimal("88.0")),
    # ratings 5,5,4 → mean 14/3 → 93.33…; 0 of 3 → 100: 56 + 40 = 96.0
    (3, 14, 3, 0, Decimal("96.0")),
    # mean 1 → 20; 4 after-sales for 3 orders → capped at 0: 12.0
    (2, 2, 3, 4, Decimal("12.0")),
    # mean 4.75 → 95; 1 of 8 → 87.5: 57 + 35 = 92.0
    (4, 19, 8, 1, Decimal("92.0")),
    # mean 13/3 → 86.67; 1 of 3 → 66.67: 52 + 26.67 = 78.666… → 78.7
    (3, 13, 3, 1, Decimal("78.7")),
])
def test_score_formula(reviews, total, orders, cases, expected):
    assert score_of(reviews, total, orders, cases).score == expected


async def test_score_of_a_merchant_from_its_reviews_and_after_sales(api, db, books):
    """The books' shop: 3 orders in the window; reviews 5 and 2 (mean 3.5 → 70), one after-sale
    (1 of 3 → 66.67): 42 + 26.67 = 68.666… → 68.7."""
    goods, _, staff = books
    s = goods.shops[0]
    async with db.transaction() as conn:
        orders = await conn.fetch("SELECT o.id, o.buyer_id, l.id AS line, l.product_id FROM orders o"
                                  " JOIN order_lines l ON l.order_id = o.id WHERE o.merchant_id = $1 ORDER BY o.id",
                                  s.merchant)
        await conn.execute("UPDATE orders SET paid_at = now() - interval '1 day' WHERE merchant_id = $1", s.merchant)
        for r, rating in zip(orders[:2], (5, 2)):
            await conn.execute("INSERT INTO reviews (order_line_id, order_id, product_id, merchant_id, buyer_id, rating)"
                               " VALUES ($1, $2, $3, $4, $5, $6)", r["line"], r["id"], r["product_id"], s.merchant,
                               r["buyer_id"], rating)
        await conn.execute("INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, before_shipment, reason,"
                           " goods_amount) VALUES ($1, $2, $3, 'REFUND_ONLY', true, 'OTHER', 100)",
                           orders[0]["id"], orders[0]["buyer_id"], s.merchant)
        await conn.execute("INSERT INTO after_sales (order_id, buyer_id, merchant_id, kind, before_shipment, reason,"
                           " goods_amount, status) VALUES ($1, $2, $3, 'REFUND_ONLY', true, 'OTHER', 100, 'CANCELLED')",
                           orders[1]["id"], orders[1]["buyer_id"], s.merchant)
    out = (await api.ok(SCORE, {}, staff.owner))["merchantScore"]
    assert out == {"score": "68.7", "ratingPart": "70.0", "afterSalePart": "66.7", "reviews": 2, "meanRating": "3.50",
                   "orders": 3, "afterSales": 1, "windowDays": 90}
