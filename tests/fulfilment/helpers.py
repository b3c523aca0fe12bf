"""Shared by the fulfilment tests: a merchant with a partner-run warehouse (WAREHOUSE goods), a
dropship supplier's warehouse (DROPSHIP goods) and a warehouse of its own (MERCHANT goods), all
written with SQL; paid orders over them (lines reserved where asked, then `mark_paid`); and a
burst arq worker running the fulfilment jobs."""

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
from arq import Worker

from app.orders import service
from app.signing import signed_headers
from tests.jobs import burst_worker, run_burst
from workers import fulfilment as fulfilment_jobs

REGION = "310000"


async def make_partners(db, secret: str, kind: str = "MARKETPLACE") -> SimpleNamespace:
    """One merchant: `phone` (WAREHOUSE, partner warehouse wh-<tag>), `gadget` (DROPSHIP, supplier
    warehouse sup-<tag>), `shirt` (MERCHANT, its own warehouse); 1000 of each, covering REGION."""
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        category = await c.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", f"ful-{tag}")
        merchant = await c.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, $2) RETURNING id",
                                    f"履约店-{tag}", kind)
        supplier = await c.fetchval(
            "INSERT INTO suppliers (name, kind, endpoint_url, secret) VALUES ($1, 'DROPSHIP', $2, $3) RETURNING id",
            f"supplier-{tag}", f"sandbox://fulfilment/sup-{tag}", secret)
        ns = SimpleNamespace(tag=tag, merchant=merchant, supplier=supplier, wh_code=f"wh-{tag}",
                             sup_code=f"sup-{tag}")
        ns.partner_wh = await c.fetchval(
            "INSERT INTO warehouses (merchant_id, name, endpoint_url, secret, priority) VALUES ($1, 'partner', $2, $3, 5)"
            " RETURNING id", merchant, f"sandbox://fulfilment/wh-{tag}", secret)
        ns.supplier_wh = await c.fetchval(
            "INSERT INTO warehouses (merchant_id, name, supplier_id) VALUES ($1, 'dropship', $2) RETURNING id",
            merchant, supplier)
        ns.own_wh = await c.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'own') RETURNING id",
                                     merchant)
        for w in (ns.partner_wh, ns.supplier_wh, ns.own_wh):
            await c.execute("INSERT INTO warehouse_regions (warehouse_id, region_code) VALUES ($1, $2)", w, REGION)
        for name, kind, warehouse in (("phone", "WAREHOUSE", ns.partner_wh), ("gadget", "DROPSHIP", ns.supplier_wh),
                                      ("shirt", "MERCHANT", ns.own_wh)):
            product = await c.fetchval("INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                                       " VALUES ($1, $2, $3, $4, 'LISTED') RETURNING id",
                                       merchant, category, f"{name} {tag}", kind)
            sku = await c.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, $3, 100)"
                                   " RETURNING id", product, merchant, f"{name}-{tag}")
            await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, 1000)", sku, warehouse)
            setattr(ns, name, SimpleNamespace(product=product, sku=sku, warehouse=warehouse))
    return ns


async def new_buyer_id(db) -> int:
    return await db.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ($1, 'x') RETURNING id",
                             "137" + str(uuid.uuid4().int)[:8])


async def paid_order(db, goods, buyer_id: int, lines: dict[str, int]) -> SimpleNamespace:
    """One order of `lines` (goods name → units at 100 cents), each reserved in its goods'
    warehouse, then paid: its shipments are made by `mark_paid`."""
    order = await unpaid_order(db, goods, buyer_id, lines)
    async with db.transaction() as c:
        assert await service.mark_paid(c, order.payment_order, datetime.now(UTC), "provider:test")
    return order


async def unpaid_order(db, goods, buyer_id: int, lines: dict[str, int]) -> SimpleNamespace:
    """One unpaid order of `lines`, each reserved in its goods' warehouse."""
    total = sum(lines.values()) * 100
    address = {"receiver": "张三", "phone": "13800000000", "region_code": "310104", "detail": "漕溪北路 1 号"}
    async with db.transaction() as c:
        po = await c.fetchval(
            "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
            " shipping_total, payable, pricing, expires_at) VALUES ($1, $2, 'test', $3, 0, 0, $3, '{}',"
            " now() + interval '30 minutes') RETURNING id", buyer_id, uuid.uuid4().hex, total)
        order = await c.fetchval(
            "INSERT INTO orders (payment_order_id, buyer_id, merchant_id, goods_total, discount, shipping, payable,"
            " address) VALUES ($1, $2, $3, $4, 0, 0, $4, $5) RETURNING id", po, buyer_id, goods.merchant, total,
            address)
        ids = {}
        for n, (name, quantity) in enumerate(lines.items()):
            item = getattr(goods, name)
            ids[name] = await c.fetchval(
                "INSERT INTO order_lines (order_id, sku_id, product_id, title, position, quantity, price, unit_price,"
                " goods_amount, paid_amount) VALUES ($1, $2, $3, $4, $5, $6, 100, 100, $7, $7) RETURNING id",
                order, item.sku, item.product, name, n, quantity, quantity * 100)
            await c.execute("UPDATE stock SET reserved = reserved + $3 WHERE sku_id = $1 AND warehouse_id = $2",
                            item.sku, item.warehouse, quantity)
            await c.execute("INSERT INTO stock_reservations (order_line_id, sku_id, warehouse_id, quantity)"
                            " VALUES ($1, $2, $3, $4)", ids[name], item.sku, item.warehouse, quantity)
    return SimpleNamespace(id=order, payment_order=po, lines=ids)


async def parcels(db, order_id: int) -> dict[str, dict]:
    """The order's shipments by kind."""
    rows = await db.fetch("SELECT * FROM shipments WHERE order_id = $1 AND after_sale_id IS NULL ORDER BY id", order_id)
    return {r["kind"]: dict(r) for r in rows}


async def stock(db, sku: int) -> tuple[int, int]:
    row = await db.fetchrow("SELECT sum(on_hand) AS on_hand, sum(reserved) AS reserved FROM stock WHERE sku_id = $1",
                            sku)
    return row["on_hand"], row["reserved"]


def fulfilment_worker(settings, db, *families) -> Worker:
    """The fulfilment job functions (and other `families`' modules) in a burst worker on the
    default queue, as `ecom worker` runs them."""
    return burst_worker(settings, db, fulfilment_jobs, *families, max_jobs=50)


async def run_jobs(settings, db) -> int:
    return await run_burst(settings, db, fulfilment_jobs, max_jobs=50)


async def control(http: httpx.AsyncClient, secret: str, code: str, **config) -> dict:
    """A sandbox partner control call (signed with the sandbox partner secret)."""
    raw = json.dumps(config).encode()
    response = await http.post(f"/sandbox/fulfilment/{code}/control", content=raw, headers=signed_headers(secret, raw))
    assert response.status_code == 200, response.text
    return response.json()


async def partner_view(http: httpx.AsyncClient, code: str, shipment_id: int) -> dict:
    return (await http.get(f"/sandbox/fulfilment/{code}/shipments/shipment-{shipment_id}")).json()
