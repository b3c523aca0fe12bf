"""Demo data: the catalog it promises, idempotent seeding, and the benchmark scale-up."""

from app.demo import DEMO_PRODUCTS, seed_demo

TABLES = ["merchants", "buyers", "staff_accounts", "regions", "backend_categories", "attributes",
          "attribute_values", "merchant_commission_rates", "frontend_categories", "frontend_category_mappings",
          "brands", "brand_categories", "products", "product_images", "product_attributes",
          "product_sales_values", "skus", "warehouses", "warehouse_regions", "stock", "product_status_history"]


async def _counts(db) -> dict[str, int]:
    return {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def _product(db, code_prefix: str):
    return await db.fetchrow("SELECT p.* FROM products p JOIN skus s ON s.product_id = p.id"
                             " WHERE s.code = $1", f"{code_prefix}-01")


async def test_seeding_twice_changes_nothing(db):
    await seed_demo(db, progress=lambda _: None)
    before = await _counts(db)
    ids_before = await db.fetch("SELECT id, title FROM products ORDER BY id")
    await seed_demo(db, progress=lambda _: None)
    assert await _counts(db) == before
    assert await db.fetch("SELECT id, title FROM products ORDER BY id") == ids_before
    assert all(n > 0 for n in before.values()), before


async def test_about_fifty_products_and_two_hundred_skus(db):
    products = await db.fetchval("SELECT count(*) FROM products")
    skus = await db.fetchval("SELECT count(*) FROM skus")
    assert products == len(DEMO_PRODUCTS) and 45 <= products <= 60
    assert 180 <= skus <= 260
    statuses = {r["status"]: r["n"] for r in await db.fetch("SELECT status, count(*) AS n FROM products GROUP BY 1")}
    assert statuses["DRAFT"] >= 1 and statuses["PENDING_REVIEW"] >= 2 and statuses["LISTED"] >= 40
    merchants = {r["merchant_id"] for r in await db.fetch("SELECT DISTINCT merchant_id FROM products")}
    assert merchants == {1, 2, 3}


async def test_phone_has_nine_colour_memory_skus(db):
    phone = await _product(db, "APL-IP16P")
    assert phone["fulfillment_type"] == "WAREHOUSE" and phone["merchant_id"] == 1
    axes = await db.fetch(
        "SELECT a.name, a.kind, count(*) AS n FROM product_sales_values psv JOIN attributes a ON a.id = psv.attribute_id"
        " WHERE psv.product_id = $1 GROUP BY 1, 2 ORDER BY 1", phone["id"])
    assert [(r["name"], r["kind"], r["n"]) for r in axes] == [("内存", "SALES", 3), ("颜色", "SALES", 3)]
    skus = await db.fetch("SELECT * FROM skus WHERE product_id = $1 ORDER BY code", phone["id"])
    assert len(skus) == 9 and len({tuple(s["spec_value_ids"]) for s in skus}) == 9
    assert all(len(s["spec_value_ids"]) == 2 and " / " in s["spec_label"] for s in skus)
    assert all(s["member_price"] < s["price"] <= s["list_price"] and s["member_level"] == 1 for s in skus)
    key = await db.fetchrow(
        "SELECT a.kind, v.value FROM product_attributes pa JOIN attributes a ON a.id = pa.attribute_id"
        " JOIN attribute_values v ON v.id = pa.value_id WHERE pa.product_id = $1 AND a.name = '品牌型号'", phone["id"])
    assert tuple(key) == ("KEY", "iPhone 16 Pro")
    colour_images = await db.fetchval(
        "SELECT count(*) FROM product_sales_values WHERE product_id = $1 AND image_url IS NOT NULL", phone["id"])
    assert colour_images == 3


async def test_shirt_has_colour_size_matrix(db):
    shirt = await _product(db, "UQ-OXFORD")
    labels = [r["spec_label"] for r in await db.fetch(
        "SELECT spec_label FROM skus WHERE product_id = $1 ORDER BY code", shirt["id"])]
    assert len(labels) == 12 and labels[0] == "白色 / S" and labels[-1] == "粉色 / XL"
    path = await db.fetchval(
        "WITH RECURSIVE up AS (SELECT id, parent_id, name FROM backend_categories WHERE id = $1"
        " UNION ALL SELECT c.id, c.parent_id, c.name FROM backend_categories c JOIN up ON c.id = up.parent_id)"
        " SELECT string_agg(name, '>' ORDER BY id) FROM up", shirt["category_id"])
    assert path == "服装>男装>衬衫"
    lumen = await _product(db, "LM-OXFORD")
    assert lumen["merchant_id"] == 3 and lumen["fulfillment_type"] == "MERCHANT"
    warehouses = {r["merchant_id"] for r in await db.fetch(
        "SELECT DISTINCT w.merchant_id FROM stock st JOIN skus s ON s.id = st.sku_id"
        " JOIN warehouses w ON w.id = st.warehouse_id WHERE s.product_id = $1", lumen["id"])}
    assert warehouses == {3}


async def test_phone_top_ups_are_virtual(db):
    rows = await db.fetch(
        "SELECT p.title, s.spec_label, s.price, s.list_price FROM products p JOIN skus s ON s.product_id = p.id"
        " JOIN backend_categories c ON c.id = p.category_id"
        " WHERE c.name = '话费充值' AND p.fulfillment_type = 'VIRTUAL' ORDER BY s.code")
    assert {r["title"].split()[0] for r in rows} == {"中国移动", "中国联通", "中国电信"}
    assert {r["spec_label"] for r in rows} == {"30元", "50元", "100元"}
    assert all(r["price"] <= r["list_price"] == int(r["spec_label"][:-1]) * 100 for r in rows)


async def test_warehouses_cover_regions_and_hold_stock(db):
    covered = {r["name"]: set(r["regions"]) for r in await db.fetch(
        "SELECT w.name, array_agg(wr.region_code) AS regions FROM warehouses w"
        " JOIN warehouse_regions wr ON wr.warehouse_id = w.id WHERE w.merchant_id = 1 AND w.supplier_id IS NULL"
        " GROUP BY 1")}
    assert len(covered) == 2
    shanghai = next(v for k, v in covered.items() if k.startswith("上海仓"))
    guangzhou = next(v for k, v in covered.items() if k.startswith("广州仓"))
    assert {"310000", "320000", "330000"} <= shanghai and "440000" in guangzhou
    totals = [r["total"] for r in await db.fetch(
        "SELECT coalesce(sum(st.on_hand), 0) AS total FROM skus s LEFT JOIN stock st ON st.sku_id = s.id GROUP BY s.id")]
    assert totals.count(0) >= 5 and sum(1 for t in totals if 1 <= t <= 5) >= 5
    assert sum(1 for t in totals if t > 5) > len(totals) // 2


async def test_listed_products_are_searchable_and_complete(db):
    incomplete = await db.fetch(
        """
        SELECT p.title FROM products p
         WHERE p.status = 'LISTED' AND (p.listed_at IS NULL OR p.min_price IS NULL OR p.max_price IS NULL
            OR p.search_text = '' OR p.attribute_value_ids = '{}'
            OR NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_id = p.id)
            OR NOT EXISTS (SELECT 1 FROM stock st JOIN skus s ON s.id = st.sku_id WHERE s.product_id = p.id)
            OR NOT EXISTS (SELECT 1 FROM product_status_history h WHERE h.product_id = p.id AND h.to_status = 'LISTED'))
        """)
    assert incomplete == []
    hits = await db.fetch("SELECT title FROM products WHERE search_text LIKE '%' || lower($1) || '%'", "苹果")
    assert any("iPhone 16 Pro" in r["title"] for r in hits)
    assert await db.fetchval("SELECT count(DISTINCT sales_count) FROM products WHERE status = 'LISTED'") >= 30
    mapped = await db.fetchval(
        "SELECT count(*) FROM frontend_category_mappings m JOIN frontend_categories f ON f.id = m.frontend_category_id"
        " WHERE f.name = '数码'")
    assert mapped >= 3


async def test_scale_skus_grows_the_catalog_idempotently(db):
    lines: list[str] = []
    await seed_demo(db, scale_skus=1000, progress=lines.append)
    skus = await db.fetchval("SELECT count(*) FROM skus")
    assert skus >= 1000 and any("scaling catalog" in line for line in lines)
    generated = await db.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'LISTED' AND min_price IS NOT NULL"
        " AND search_text <> '') AS ready FROM products p"
        " WHERE EXISTS (SELECT 1 FROM skus s WHERE s.product_id = p.id AND s.code LIKE 'GEN%')")
    assert generated["n"] > 100 and generated["ready"] == generated["n"]
    before = await _counts(db)
    await seed_demo(db, scale_skus=1000, progress=lambda _: None)
    assert await _counts(db) == before


async def test_every_demo_product_is_in_a_category_its_shop_may_sell(db):
    """Seeded shop categories (marketplace shops only; the platform sells everywhere), and the
    demo and generated products respect them."""
    from app.demo import ACME, LUMEN, generated_product
    from app.merchants.shops import sells_in
    await seed_demo(db, progress=lambda _: None)
    granted = {r["merchant_id"] for r in await db.fetch("SELECT DISTINCT merchant_id FROM merchant_categories")}
    assert {ACME, LUMEN} <= granted and 1 not in granted
    leaf = {r["name"]: r["id"] for r in await db.fetch("SELECT id, name FROM backend_categories WHERE is_leaf")}
    async with db.connection() as conn:
        paths = {name: [r["id"] for r in await conn.fetch(
            "WITH RECURSIVE up AS (SELECT id, parent_id FROM backend_categories WHERE id = $1"
            " UNION ALL SELECT c.id, c.parent_id FROM backend_categories c JOIN up ON c.id = up.parent_id)"
            " SELECT id FROM up", pk)] for name, pk in leaf.items()}
        for seed in [*DEMO_PRODUCTS, *(generated_product(i) for i in range(24))]:
            assert await sells_in(conn, seed.merchant_id, paths[seed.category]), seed.code
        assert not await sells_in(conn, LUMEN, paths["手机"]) and not await sells_in(conn, ACME, paths["衬衫"])


AFTERSALE_TABLES = ["buyers", "orders", "order_lines", "payments", "after_sales", "after_sale_lines",
                    "after_sale_status_history", "outbox"]


async def test_the_demo_after_sale_waits_for_the_merchant_and_is_seeded_once(db, gql, tokens, settings):
    from app.auth.principal import Principal
    from app.auth.sessions import open_session
    from app.demo import AFTERSALE_BUYER_PHONE, LUMEN
    from app.ids import encode_id

    await seed_demo(db, progress=lambda _: None)
    before = {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in AFTERSALE_TABLES}
    await seed_demo(db, progress=lambda _: None)
    assert {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in AFTERSALE_TABLES} == before

    buyer_id = await db.fetchval("SELECT id FROM buyers WHERE phone = $1", AFTERSALE_BUYER_PHONE)
    cases = await db.fetch("SELECT a.*, l.quantity, l.amount, o.aftersale_status, o.status AS order_status,"
                           " ol.quantity AS bought, ol.paid_amount FROM after_sales a"
                           " JOIN after_sale_lines l ON l.after_sale_id = a.id JOIN orders o ON o.id = a.order_id"
                           " JOIN order_lines ol ON ol.id = l.order_line_id WHERE a.buyer_id = $1", buyer_id)
    assert len(cases) == 1
    case = cases[0]
    assert (case["kind"], case["status"], case["merchant_id"], case["reason"]) == \
        ("RETURN_REFUND", "REQUESTED", LUMEN, "WRONG_SIZE")
    assert (case["order_status"], case["aftersale_status"], case["bought"], case["quantity"]) == \
        ("RECEIVED", "IN_PROGRESS", 2, 1)
    assert case["amount"] == case["goods_amount"] == case["paid_amount"] // 2
    history = await db.fetch("SELECT to_status, actor FROM after_sale_status_history WHERE after_sale_id = $1",
                             case["id"])
    assert [(h["to_status"], h["actor"]) for h in history] == [("REQUESTED", f"buyer:{buyer_id}")]

    queue = "{ afterSaleQueue(status: REQUESTED, first: 50) { edges { node { id kind status } } } }"
    mine = [e["node"] for e in (await gql.ok(queue, token=tokens["lumen"]))["afterSaleQueue"]["edges"]]
    assert {"id": encode_id("AfterSale", case["id"]), "kind": "RETURN_REFUND", "status": "REQUESTED"} in mine
    others = (await gql.ok(queue, token=tokens["acme"]))["afterSaleQueue"]["edges"]
    assert encode_id("AfterSale", case["id"]) not in [e["node"]["id"] for e in others]
    async with db.transaction() as conn:
        token = (await open_session(conn, settings, Principal(kind="buyer", id=buyer_id))).access_token
    tab = await gql.ok("{ myOrders(tab: AFTER_SALE) { edges { node { id } } } }", token=token)
    assert [e["node"]["id"] for e in tab["myOrders"]["edges"]] == [encode_id("Order", case["order_id"])]


async def test_the_payouts_scenario(db):
    """Acme: ¥5,000.00 credited, ¥1,200.00 paid out, ¥800.00 waiting: available ¥3,000.00, reserved
    ¥800.00; yesterday's reconciliation run has one open difference."""
    from app.payouts.account import balances
    await seed_demo(db, progress=lambda _: None)
    async with db.connection() as conn:
        b = await balances(conn, 2)
    assert (b.available, b.reserved, b.in_transit) == (300_000, 80_000, 0)
    statuses = [r["status"] for r in await db.fetch("SELECT status FROM withdrawals WHERE merchant_id = 2 ORDER BY id")]
    assert statuses == ["PAID", "REQUESTED"]
    assert await db.fetchval("SELECT count(*) FROM reconciliation_differences WHERE status = 'OPEN'") == 1
