"""Shared by the review tests: a shop's products and an order in a chosen status with one line
per product (plus a gift line if asked), written with SQL; the GraphQL documents."""

import uuid
from types import SimpleNamespace

REVIEW_FIELDS = """id productId orderLineId rating text specLabel buyerName createdAt reply repliedAt
  images { id url width height }"""
CREATE = f"""mutation($i: CreateReviewInput!) {{ createReview(input: $i) {{
  review {{ {REVIEW_FIELDS} }} userErrors {{ field code message }} }} }}"""
REPLY = f"""mutation($i: ReplyToReviewInput!) {{ replyToReview(input: $i) {{
  review {{ {REVIEW_FIELDS} }} userErrors {{ field code message }} }} }}"""
PRODUCT_REVIEWS = f"""query($p: ID!, $first: Int, $after: String) {{ productReviews(productId: $p, first: $first,
  after: $after) {{ edges {{ node {{ {REVIEW_FIELDS} }} cursor }} pageInfo {{ hasNextPage endCursor }} }} }}"""
MY_REVIEWS = f"{{ myReviews(first: 50) {{ edges {{ node {{ {REVIEW_FIELDS} }} }} }} }}"
MERCHANT_REVIEWS = f"""query($u: Boolean) {{ merchantReviews(unreplied: $u, first: 50) {{
  edges {{ node {{ {REVIEW_FIELDS} }} }} }} }}"""
PRODUCT = "query($id: ID!) { product(id: $id) { ratingAverage ratingCount } }"
ORDER = "query($id: ID!) { order(id: $id) { status reviewStatus buyerStatus } }"
COUNTS = "{ myOrderCounts { toReview done } }"


async def make_shop(db, products: int = 2) -> SimpleNamespace:
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        merchant = await c.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                    f"评价店-{tag}")
        category = await c.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", f"rev-{tag}")
        items = []
        for n in range(products):
            product = await c.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                                       " VALUES ($1, $2, $3, 'MERCHANT', 'LISTED') RETURNING id",
                                       merchant, category, f"商品{n} {tag}")
            sku = await c.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, $3, 100)"
                                   " RETURNING id", product, merchant, f"R{tag}-{n}")
            items.append(SimpleNamespace(product=product, sku=sku))
        gift = await c.fetchval(
            "INSERT INTO promotions (merchant_id, kind, name, starts_at, ends_at, rule, created_by)"
            " VALUES ($1, 'GIFT', 'gift', now() - interval '1 day', now() + interval '1 day', '{}', 'test')"
            " RETURNING id", merchant)
    return SimpleNamespace(merchant=merchant, items=items, gift_promotion=gift)


async def make_order(db, shop, buyer_id: int, status: str = "RECEIVED", gift: bool = False) -> SimpleNamespace:
    """An order of one unit of each of the shop's products (100 cents each); with `gift`, the
    first product again as a zero-price gift line."""
    total = 100 * len(shop.items)
    async with db.transaction() as c:
        po = await c.fetchval(
            "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, status, goods_total, total_discount,"
            " shipping_total, payable, pricing, expires_at) VALUES ($1, $2, 'test', 'PAID', $3, 0, 0, $3, '{}',"
            " now() + interval '30 minutes') RETURNING id", buyer_id, uuid.uuid4().hex, total)
        order = await c.fetchval(
            "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, status, payment_status, goods_total, discount,"
            " shipping, payable) VALUES ($1, $2, $3, $4, 'PAID', $5, 0, 0, $5) RETURNING id",
            po, buyer_id, shop.merchant, status, total)
        lines = []
        for n, item in enumerate(shop.items):
            lines.append(await c.fetchval(
                "INSERT INTO order_lines (order_id, sku_id, product_id, title, spec_label, position, quantity, price,"
                " unit_price, goods_amount, paid_amount) VALUES ($1, $2, $3, 'goods', '黑色', $4, 1, 100, 100, 100, 100)"
                " RETURNING id", order, item.sku, item.product, n + 1))
        gift_line = None
        if gift:
            gift_line = await c.fetchval(
                "INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,"
                " goods_amount, paid_amount, gift_of_promotion_id) VALUES ($1, $2, $3, 'gift', $4, 1, 0, 0, 0, 0, $5)"
                " RETURNING id", order, shop.items[0].sku, shop.items[0].product, len(lines) + 1, shop.gift_promotion)
    return SimpleNamespace(id=order, lines=lines, gift_line=gift_line)
