"""Shared by the payment tests: goods and buyers written with SQL, unpaid payment orders (one
order per merchant, one line each, its stock reserved), payments, signed provider
notifications, the arq queue, and waiting for the sandbox's deliveries."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
from arq import Worker

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.ids import encode_id
from app.payments.gateway import http_client
from app.signing import signed_headers
from tests.jobs import WAIT, burst_worker, run_burst, wait_for
from workers import payments as payment_jobs


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


async def make_goods(db, merchants: int = 2, on_hand: int = 1_000_000) -> SimpleNamespace:
    """`merchants` shops, each with one SKU at 100 cents in one warehouse holding `on_hand`."""
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        category = await c.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", f"pay-{tag}")
        shops = []
        for n in range(merchants):
            merchant = await c.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                        f"店{n}-{tag}")
            warehouse = await c.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'main') RETURNING id",
                                         merchant)
            product = await c.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                                       " VALUES ($1, $2, $3, 'MERCHANT', 'LISTED') RETURNING id",
                                       merchant, category, f"商品{n} {tag}")
            sku = await c.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, $3, 100)"
                                   " RETURNING id", product, merchant, f"P{tag}-{n}")
            await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, $3)",
                            sku, warehouse, on_hand)
            shops.append(SimpleNamespace(merchant=merchant, warehouse=warehouse, product=product, sku=sku))
    return SimpleNamespace(tag=tag, shops=shops)


async def new_buyer(db, settings) -> SimpleNamespace:
    buyer_id = await db.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ($1, 'x') RETURNING id",
                                 "136" + str(uuid.uuid4().int)[:8])
    async with db.transaction() as conn:
        token = (await open_session(conn, settings, Principal(kind="buyer", id=buyer_id))).access_token
    return SimpleNamespace(id=buyer_id, token=token)


async def place(conn, goods, buyer_id: int, quantities: list[int], expires_in: timedelta = timedelta(minutes=30),
                payment_channel: str | None = None, payment_discount: int = 0) -> int:
    """An unpaid payment order with one order per merchant (`quantities[i]` units of shop i's SKU
    at 100 cents, reserved); a payment discount, if any, is taken from the first order."""
    orders = [(goods.shops[i], q * 100) for i, q in enumerate(quantities) if q]
    total = sum(amount for _, amount in orders)
    po = await conn.fetchval(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
        " shipping_total, payable, payment_channel, pricing, expires_at)"
        " VALUES ($1, $2, 'test', $3, $4, 0, $5, $6, '{}', $7) RETURNING id",
        buyer_id, uuid.uuid4().hex, total, payment_discount, total - payment_discount, payment_channel,
        datetime.now(UTC) + expires_in)
    for n, (shop, amount) in enumerate(orders):
        discount = payment_discount if n == 0 else 0
        order = await conn.fetchval(
            "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable)"
            " VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id", po, buyer_id, shop.merchant, amount, discount,
            amount - discount)
        line = await conn.fetchval(
            "INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,"
            " goods_amount, paid_amount) VALUES ($1, $2, $3, 'goods', 1, $4, 100, 100, $5, $6) RETURNING id",
            order, shop.sku, shop.product, amount // 100, amount, amount - discount)
        if discount:
            await conn.execute(
                "INSERT INTO order_line_shares (order_line_id, level, promotion_id, amount, funder, platform_amount,"
                " merchant_amount) VALUES ($1, 'PAYMENT', $2, $3, 'PLATFORM', $3, 0)",
                line, await _payment_promotion(conn), discount)
        await conn.execute("UPDATE stock SET reserved = reserved + $3 WHERE sku_id = $1 AND warehouse_id = $2",
                           shop.sku, shop.warehouse, amount // 100)
        await conn.execute("INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)"
                           " VALUES ($1, $2, $3, $4)", line, shop.sku, shop.warehouse, amount // 100)
    return po


async def _payment_promotion(conn) -> int:
    return await conn.fetchval(
        "INSERT INTO promotions (kind, name, starts_at, ends_at, rule, status, funder, created_by)"
        " VALUES ('PAYMENT', 'wechat pay discount', now(), now() + interval '1 day', '{}', 'ACTIVE', 'PLATFORM',"
        " 'staff:1')"
        " RETURNING id")


async def add_payment(conn, payment_order_id: int, channel: str = "WECHAT") -> int:
    """A CREATED payment of the whole payable, as the cashier writes it."""
    return await conn.fetchval(
        "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level)"
        " SELECT id, 'sandbox', $2, payable, 'NONE' FROM payment_orders WHERE id = $1 RETURNING id",
        payment_order_id, channel)


def payment_notification(payment_id: int, amount: int, txn_id: str | None = None, status: str = "SUCCESS") -> dict:
    return {"type": "PAYMENT", "txn_id": txn_id or f"test_{uuid.uuid4().hex}", "reference": str(payment_id),
            "amount": amount, "channel": "WECHAT", "status": status, "paid_at": datetime.now(UTC).isoformat()}


async def post_signed(http: httpx.AsyncClient, secret: str, body: dict, timestamp: int | None = None,
                      provider: str = "sandbox") -> httpx.Response:
    raw = json.dumps(body).encode()
    return await http.post(f"/webhooks/payments/{provider}", content=raw, headers=signed_headers(secret, raw, timestamp))


def payment_worker(settings, db) -> Worker:
    """The payment job functions in a burst worker on the default queue, as `ecom worker` runs them."""
    return burst_worker(settings, db, payment_jobs)


async def run_jobs(settings, db) -> int:
    return await run_burst(settings, db, payment_jobs)


async def wait_batch(http: httpx.AsyncClient, batch_id: str) -> dict:
    """Until every delivery of a sandbox batch was acknowledged (or given up)."""
    for _ in range(WAIT * 20):
        status = (await http.get(f"/sandbox/v1/batches/{batch_id}")).json()
        if status["acknowledged"] + status["failed"] == status["total"]:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"sandbox batch {batch_id} never finished: {status}")


async def sandbox_batch(http: httpx.AsyncClient, secret: str, body: dict) -> httpx.Response:
    """A sandbox control call: signed with the sandbox's own secret."""
    raw = json.dumps(body).encode()
    return await http.post("/sandbox/v1/batches", content=raw, headers=signed_headers(secret, raw))


async def sandbox_pay(http: httpx.AsyncClient, settings, payments: list[tuple[int, int]], duplicate_ratio: float = 0,
                      **pacing) -> dict:
    """Pay `(payment id, amount)`s in the sandbox and wait until every callback was acknowledged."""
    batch = (await sandbox_batch(http, settings.sandbox_provider_secret, {
        "duplicate_ratio": duplicate_ratio,
        "payments": [{"reference": str(p), "amount": a, "channel": "WECHAT"} for p, a in payments], **pacing})).json()
    status = await wait_batch(http, batch["batch_id"])
    assert status["failed"] == 0, status
    return batch


async def settle_refunds(settings, db, refund_ids: list[int]) -> None:
    """Send the refunds to the sandbox (again: it dedupes on our refund id, as the refund sweeper
    relies on) and run jobs until their refund callbacks are applied."""
    async with http_client() as http:
        for refund_id in refund_ids:
            await payment_jobs.submit_refund({"db": db, "settings": settings, "http": http}, refund_id)

    async def settled():
        await run_jobs(settings, db)
        return await db.fetchval("SELECT count(*) FROM refunds WHERE id = ANY($1) AND status = 'SUCCEEDED'",
                                 refund_ids) == len(refund_ids)
    await wait_for(settled, f"refunds {refund_ids} to succeed")
