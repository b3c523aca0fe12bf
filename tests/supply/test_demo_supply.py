"""The demo's suppliers: one of each kind, a received purchase order, dropship declared stock;
seeding again adds nothing."""

from app.config import DEV_PARTNER_SECRET
from app.demo import DEMO_PURCHASE_ORDER, DROPSHIP_SUPPLIER, STOCK_SUPPLIER, TOPUP_SUPPLIER, seed_demo

TABLES = ["suppliers", "supplier_skus", "purchase_orders", "purchase_order_lines", "inbound_receipts",
          "inbound_receipt_lines", "warehouses", "stock", "supplier_status_history"]


async def test_demo_suppliers_and_seeding_twice(db):
    await seed_demo(db, progress=lambda _: None)
    rows = {r["name"]: r for r in await db.fetch("SELECT * FROM suppliers")}
    stock, drop, topup = rows[STOCK_SUPPLIER], rows[DROPSHIP_SUPPLIER], rows[TOPUP_SUPPLIER]
    assert (stock["kind"], drop["kind"], topup["kind"]) == ("STOCK", "DROPSHIP", "REALTIME_API")
    assert drop["endpoint_url"].startswith("sandbox://fulfilment/") and topup["endpoint_url"].startswith("sandbox://topup/")
    assert drop["secret"] == topup["secret"] == DEV_PARTNER_SECRET
    contracted = {r["supplier_id"]: r["n"] for r in await db.fetch(
        "SELECT supplier_id, count(*) AS n FROM supplier_skus GROUP BY 1")}
    phones = await db.fetchval("SELECT count(*) FROM skus k JOIN products p ON p.id = k.product_id"
                               " JOIN backend_categories c ON c.id = p.category_id WHERE k.merchant_id = 1"
                               " AND c.name = '手机' AND p.fulfillment_type = 'WAREHOUSE' AND p.status = 'LISTED'")
    virtual = await db.fetchval("SELECT count(*) FROM skus k JOIN products p ON p.id = k.product_id"
                                " WHERE k.merchant_id = 1 AND p.fulfillment_type = 'VIRTUAL'")
    assert contracted[stock["id"]] == phones and contracted[topup["id"]] == virtual and contracted[drop["id"]] >= 1
    po = await db.fetchrow("SELECT * FROM purchase_orders WHERE reference = $1", DEMO_PURCHASE_ORDER)
    assert po["status"] == "RECEIVED" and po["supplier_id"] == stock["id"]
    warehouse = await db.fetchrow("SELECT * FROM warehouses WHERE supplier_id = $1", drop["id"])
    product = await db.fetchrow("SELECT * FROM products WHERE fulfillment_type = 'DROPSHIP' AND status = 'LISTED'")
    declared = await db.fetch("SELECT st.* FROM stock st JOIN skus k ON k.id = st.sku_id WHERE k.product_id = $1",
                              product["id"])
    assert declared and {d["warehouse_id"] for d in declared} == {warehouse["id"]}
    assert all(d["on_hand"] - d["reserved"] > 0 for d in declared)

    counts = {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    on_hand = await db.fetch("SELECT * FROM stock ORDER BY sku_id, warehouse_id")
    await seed_demo(db, progress=lambda _: None)
    assert {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES} == counts
    assert await db.fetch("SELECT * FROM stock ORDER BY sku_id, warehouse_id") == on_hand
