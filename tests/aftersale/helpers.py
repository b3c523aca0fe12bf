"""Shared by the after-sale tests: a paid order of one merchant with lines of chosen paid amounts
and quantities (plus shipping), paid through the sandbox; moving it on (shipped, received);
running the after-sale and payment jobs in a burst worker until refunds settle."""

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from tests.jobs import run_burst, wait_for
from tests.payments.helpers import add_payment, make_goods, sandbox_pay
from workers import aftersale as aftersale_jobs
from workers import payments as payment_jobs

PRICE = 1000   # cents a unit of every test SKU
ADDRESS = {"receiver": "张三", "phone": "13800000000", "region_code": "440305", "detail": "科技园 1 号"}


async def paid_order(http, db, settings, buyer, lines: list[tuple[int, int]], shipping: int = 0,
                     fulfillment: str = "MERCHANT", split: bool = False) -> SimpleNamespace:
    """One order of a fresh merchant: `lines` = (quantity, paid amount) each on its own SKU at
    1000 cents a unit (the difference is its discount), stock reserved; paid in the sandbox.
    `split`: the lines after the first are held in a second warehouse (a parcel of their own)."""
    goods = await make_goods(db, merchants=1)
    shop = goods.shops[0]
    async with db.transaction() as c:
        if fulfillment != "MERCHANT":
            await c.execute("UPDATE products SET fulfillment_type = $2 WHERE id = $1", shop.product, fulfillment)
        goods_total = sum(q * PRICE for q, _ in lines)
        discount = goods_total - sum(p for _, p in lines)
        payable = goods_total - discount + shipping
        po = await c.fetchval(
            "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
            " shipping_total, payable, pricing, expires_at) VALUES ($1, $2, 'test', $3, $4, $5, $6, '{}', $7)"
            " RETURNING id", buyer.id, uuid.uuid4().hex, goods_total, discount, shipping, payable,
            datetime.now(UTC) + timedelta(minutes=30))
        order = await c.fetchval(
            "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable,"
            " address) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id", po, buyer.id, shop.merchant, goods_total,
            discount, shipping, payable, ADDRESS)
        await c.execute("INSERT INTO warehouse_regions (warehouse_id, region_code) VALUES ($1, $2)"
                        " ON CONFLICT DO NOTHING", shop.warehouse, ADDRESS["region_code"][:2] + "0000")
        line_ids = []
        warehouse = shop.warehouse
        if split:
            warehouse = await c.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'second') RETURNING id",
                                         shop.merchant)
            await c.execute("INSERT INTO warehouse_regions (warehouse_id, region_code) VALUES ($1, $2)",
                            warehouse, ADDRESS["region_code"][:2] + "0000")
        for n, (quantity, paid) in enumerate(lines):
            held_in = shop.warehouse if n == 0 else warehouse
            product, sku = shop.product, shop.sku
            if n:
                product = await c.fetchval(
                    "INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                    " SELECT merchant_id, category_id, title || $2, fulfillment_type, status FROM products"
                    " WHERE id = $1 RETURNING id", shop.product, f" {n}")
                sku = await c.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, $3, $4)"
                                       " RETURNING id", product, shop.merchant, f"{goods.tag}-{n}", PRICE)
                await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, 1000)",
                                sku, held_in)
            line = await c.fetchval(
                "INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,"
                " goods_amount, paid_amount) VALUES ($1, $2, $3, 'goods', $4, $5, $8, $8, $6, $7) RETURNING id",
                order, sku, product, n + 1, quantity, quantity * PRICE, paid, PRICE)
            await c.execute("UPDATE stock SET reserved = reserved + $3 WHERE sku_id = $1 AND warehouse_id = $2",
                            sku, held_in, quantity)
            await c.execute("INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)"
                            " VALUES ($1, $2, $3, $4)", line, sku, held_in, quantity)
            line_ids.append(line)
        payment = await add_payment(c, po)
    await sandbox_pay(http, settings, [(payment, payable)])
    await run_jobs(settings, db)
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order) == "PAID"
    return SimpleNamespace(id=order, payment_order=po, payment=payment, lines=line_ids, merchant=shop.merchant,
                           payable=payable, warehouse=shop.warehouse)


async def ship_and_receive(db, order_id: int, received_days_ago: float = 0) -> None:
    """The parcels left and were signed for, and the buyer received (as fulfilment and orders
    record them)."""
    at = datetime.now(UTC) - timedelta(days=received_days_ago)
    async with db.transaction() as c:
        await c.execute("UPDATE shipments SET status = 'SIGNED', carrier = 'SF', tracking_number = 'SF1',"
                        " shipped_at = $2, signed_at = $2 WHERE order_id = $1", order_id, at)
        await c.execute("UPDATE stock_reservations r SET status = 'DEDUCTED' FROM order_lines l"
                        " WHERE l.id = r.order_line_id AND l.order_id = $1 AND r.status = 'RESERVED'", order_id)
        await c.execute("UPDATE orders SET status = 'RECEIVED', logistics_status = 'SIGNED', shipped_at = $2,"
                        " received_at = $2 WHERE id = $1", order_id, at)


async def run_jobs(settings, db) -> int:
    """The payment and after-sale jobs in a burst worker, as `ecom worker` runs them."""
    return await run_burst(settings, db, payment_jobs, aftersale_jobs)


async def settle(settings, db, after_sale_id: int) -> None:
    """Run jobs until the case's refund callback was applied."""
    async def done():
        await run_jobs(settings, db)
        return await db.fetchval("SELECT status FROM after_sales WHERE id = $1", after_sale_id) == "REFUNDED"
    await wait_for(done, f"after-sale {after_sale_id} refunded")
