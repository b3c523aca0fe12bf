"""Regions, warehouses, stock per (SKU, warehouse) and warehouse routing."""

import asyncio

import pytest

from app.auth.principal import Principal
from app.catalog.warehouses import adjust_stock, province_code, route_warehouse
from app.errors import DomainError
from app.ids import encode_id
from tests.catalog.test_categories import codes, insert_product, pk, uniq

WAREHOUSE_FIELDS = "id merchantId name address regionCode priority active regionCodes"
CREATE = f"""mutation($i: CreateWarehouseInput!) {{ createWarehouse(input: $i) {{
  warehouse {{ {WAREHOUSE_FIELDS} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($i: UpdateWarehouseInput!) {{ updateWarehouse(input: $i) {{
  warehouse {{ {WAREHOUSE_FIELDS} }} userErrors {{ field code message }} }} }}"""
LIST = """query($m: ID, $n: Int = 100, $after: String) { warehouses(merchantId: $m, first: $n, after: $after) {
  edges { node { id merchantId regionCodes } } pageInfo { hasNextPage endCursor } } }"""


def nodes(data: dict) -> list[dict]:
    return [e["node"] for e in data["warehouses"]["edges"]]
STOCK_FIELDS = "stock { skuId onHand reserved available warehouse { id name } } userErrors { field code message }"
SET_STOCK = f"mutation($i: SetStockInput!) {{ setStock(input: $i) {{ {STOCK_FIELDS} }} }}"
ADJUST = f"mutation($i: AdjustStockInput!) {{ adjustStock(input: $i) {{ {STOCK_FIELDS} }} }}"
ACME, LUMEN = encode_id("Merchant", 2), encode_id("Merchant", 3)


async def create_sku(db, merchant_id: int = 2) -> int:
    """A SKU of a fresh product, written with SQL (the products service is another package's concern)."""
    category = await db.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", uniq())
    product = await insert_product(db, category, merchant_id)
    return await db.fetchval("INSERT INTO skus (product_id, merchant_id, code, price) VALUES ($1, $2, $3, 9900)"
                             " RETURNING id", product, merchant_id, uniq("SKU-"))


async def create_warehouse(gql, token, **fields) -> dict:
    data = await gql.ok(CREATE, {"i": {"name": uniq("仓"), "regionCode": "310000",
                                       "deliveryRegionCodes": ["310000"], **fields}}, token=token)
    assert data["createWarehouse"]["userErrors"] == [], data["createWarehouse"]["userErrors"]
    return data["createWarehouse"]["warehouse"]


async def test_regions_are_the_31_provinces(gql):
    regions = (await gql.ok("{ regions { code name } }"))["regions"]
    assert len(regions) == 31
    names = {r["code"]: r["name"] for r in regions}
    assert names["110000"] == "北京市" and names["310000"] == "上海市" and names["440000"] == "广东省"
    assert names["650000"] == "新疆维吾尔自治区"


def test_province_code_of_finer_codes():
    assert province_code("440305") == "440000" and province_code("110000") == "110000"
    for bad in ("44030", "4403050", "abcdef", ""):
        with pytest.raises(DomainError):
            province_code(bad)


async def test_staff_create_for_their_own_merchant_only(gql, tokens, db):
    own = await create_warehouse(gql, tokens["acme"], address="上海市浦东新区", priority=5,
                                 deliveryRegionCodes=["320000", "310000"])
    assert own["merchantId"] == ACME and own["regionCodes"] == ["310000", "320000"] and own["active"]
    explicit = await create_warehouse(gql, tokens["acme"], merchantId=ACME)
    assert explicit["merchantId"] == ACME
    before = await db.fetchval("SELECT count(*) FROM warehouses")
    other = (await gql.ok(CREATE, {"i": {"name": "x", "merchantId": LUMEN}}, token=tokens["acme"]))["createWarehouse"]
    assert codes(other) == ["NOT_FOUND"] and other["warehouse"] is None

    for_lumen = await create_warehouse(gql, tokens["admin"], merchantId=LUMEN)
    assert for_lumen["merchantId"] == LUMEN
    platform = await create_warehouse(gql, tokens["admin"])
    assert platform["merchantId"] == encode_id("Merchant", 1)
    unknown = await gql.ok(CREATE, {"i": {"name": "x", "merchantId": encode_id("Merchant", 999)}},
                           token=tokens["admin"])
    assert codes(unknown["createWarehouse"]) == ["NOT_FOUND"]
    body = await gql(CREATE, {"i": {"name": "x"}}, token=tokens["buyer"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await db.fetchval("SELECT count(*) FROM warehouses") == before + 2


async def test_bad_warehouse_input_writes_nothing(gql, tokens, db):
    before = await db.fetchval("SELECT count(*) FROM warehouses")
    out = (await gql.ok(CREATE, {"i": {"name": "仓", "regionCode": "999999",
                                       "deliveryRegionCodes": ["310000", "123456", "310000"]}},
                        token=tokens["acme"]))["createWarehouse"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [
        ("UNKNOWN_REGION", ["input", "regionCode"]),
        ("UNKNOWN_REGION", ["input", "deliveryRegionCodes", "1"]),
        ("DUPLICATE_REGION", ["input", "deliveryRegionCodes", "2"])]
    for fields, code in (({"name": ""}, "INVALID_NAME"), ({"name": "仓", "priority": -1}, "INVALID_PRIORITY"),
                         ({"name": "仓", "priority": 10**6}, "INVALID_PRIORITY"),
                         ({"name": "仓", "address": "址" * 501}, "INVALID_VALUE"),
                         ({"name": "仓", "merchantId": "zzz"}, "INVALID_ID")):
        assert codes((await gql.ok(CREATE, {"i": fields}, token=tokens["acme"]))["createWarehouse"]) == [code]
    assert await db.fetchval("SELECT count(*) FROM warehouses") == before


async def test_update_and_list_respect_ownership(gql, tokens):
    acme_wh = await create_warehouse(gql, tokens["acme"])
    lumen_wh = await create_warehouse(gql, tokens["lumen"])
    updated = (await gql.ok(UPDATE, {"i": {"id": acme_wh["id"], "priority": 9, "active": False,
                                           "deliveryRegionCodes": ["440000", "110000"]}},
                            token=tokens["acme"]))["updateWarehouse"]
    assert updated["userErrors"] == []
    assert (updated["warehouse"]["priority"], updated["warehouse"]["active"]) == (9, False)
    assert updated["warehouse"]["regionCodes"] == ["110000", "440000"]
    assert updated["warehouse"]["name"] == acme_wh["name"]  # omitted fields are kept

    stolen = (await gql.ok(UPDATE, {"i": {"id": acme_wh["id"], "name": "mine"}}, token=tokens["lumen"]))
    assert codes(stolen["updateWarehouse"]) == ["NOT_FOUND"]
    bad = (await gql.ok(UPDATE, {"i": {"id": acme_wh["id"], "deliveryRegionCodes": ["000000"]}},
                        token=tokens["acme"]))["updateWarehouse"]
    assert codes(bad) == ["UNKNOWN_REGION"]
    by_admin = (await gql.ok(UPDATE, {"i": {"id": lumen_wh["id"], "name": "改名"}}, token=tokens["admin"]))
    assert by_admin["updateWarehouse"]["warehouse"]["name"] == "改名"

    mine = nodes(await gql.ok(LIST, token=tokens["acme"]))
    assert {w["merchantId"] for w in mine} == {ACME}
    assert acme_wh["id"] in {w["id"] for w in mine} and lumen_wh["id"] not in {w["id"] for w in mine}
    body = await gql(LIST, {"m": LUMEN}, token=tokens["acme"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    of_lumen = nodes(await gql.ok(LIST, {"m": LUMEN}, token=tokens["admin"]))
    assert {w["merchantId"] for w in of_lumen} == {LUMEN}
    everyone = nodes(await gql.ok(LIST, token=tokens["admin"]))
    assert {acme_wh["id"], lumen_wh["id"]} <= {w["id"] for w in everyone}
    walked, after = [], None
    while True:  # pages of two, in the same order as one page
        page = (await gql.ok(LIST, {"n": 2, "after": after}, token=tokens["admin"]))["warehouses"]
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == [w["id"] for w in everyone]
    body = await gql(LIST, token=tokens["buyer"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# ---- stock ------------------------------------------------------------------------------

async def stock_events(db, sku_id: int) -> list[dict]:
    rows = await db.fetch("SELECT merchant_id, payload FROM outbox WHERE topic = 'product'"
                          " AND event_type = 'STOCK_CHANGED' AND (payload->>'sku_id')::bigint = $1 ORDER BY id", sku_id)
    return [{**r["payload"], "outbox_merchant_id": r["merchant_id"]} for r in rows]


async def test_set_and_adjust_stock_emit_events(gql, tokens, db):
    sku = await create_sku(db)
    wh = await create_warehouse(gql, tokens["acme"])
    sku_gid = encode_id("Sku", sku)
    out = (await gql.ok(SET_STOCK, {"i": {"skuId": sku_gid, "warehouseId": wh["id"], "onHand": 10}},
                        token=tokens["acme"]))["setStock"]
    assert out["userErrors"] == []
    assert out["stock"] == {"skuId": sku_gid, "onHand": 10, "reserved": 0, "available": 10,
                            "warehouse": {"id": wh["id"], "name": wh["name"]}}
    await db.pool.execute("UPDATE stock SET reserved = 3 WHERE sku_id = $1", sku)
    adjusted = (await gql.ok(ADJUST, {"i": {"skuId": sku_gid, "warehouseId": wh["id"], "delta": -4}},
                             token=tokens["admin"]))["adjustStock"]
    assert adjusted["stock"]["onHand"] == 6 and adjusted["stock"]["available"] == 3

    product_id = await db.fetchval("SELECT product_id FROM skus WHERE id = $1", sku)
    events = await stock_events(db, sku)
    assert events == [
        {"product_id": product_id, "sku_id": sku, "warehouse_id": pk(wh["id"]), "on_hand": 10, "reserved": 0,
         "available": 10, "merchant_id": 2, "outbox_merchant_id": 2},
        {"product_id": product_id, "sku_id": sku, "warehouse_id": pk(wh["id"]), "on_hand": 6, "reserved": 3,
         "available": 3, "merchant_id": 2, "outbox_merchant_id": 2}]


async def test_stock_never_below_reserved_zero_or_absurd(gql, tokens, db):
    sku = await create_sku(db)
    wh = await create_warehouse(gql, tokens["acme"])
    ids = {"skuId": encode_id("Sku", sku), "warehouseId": wh["id"]}
    acme = tokens["acme"]
    assert codes((await gql.ok(ADJUST, {"i": {**ids, "delta": -1}}, token=acme))["adjustStock"]) == [
        "STOCK_BELOW_RESERVED"]  # nothing there yet
    await gql.ok(SET_STOCK, {"i": {**ids, "onHand": 5}}, token=acme)
    await db.pool.execute("UPDATE stock SET reserved = 4 WHERE sku_id = $1", sku)

    cases = ((SET_STOCK, "setStock", {"onHand": 3}, "STOCK_BELOW_RESERVED"),
             (SET_STOCK, "setStock", {"onHand": -1}, "INVALID_QUANTITY"),
             (SET_STOCK, "setStock", {"onHand": 10_000_001}, "INVALID_QUANTITY"),
             (ADJUST, "adjustStock", {"delta": -2}, "STOCK_BELOW_RESERVED"),
             (ADJUST, "adjustStock", {"delta": 0}, "INVALID_QUANTITY"),
             (ADJUST, "adjustStock", {"delta": 10_000_001}, "INVALID_QUANTITY"),
             (ADJUST, "adjustStock", {"delta": 9_999_996}, "INVALID_QUANTITY"))
    for query, name, change, code in cases:
        out = (await gql.ok(query, {"i": {**ids, **change}}, token=acme))[name]
        assert codes(out) == [code] and out["stock"] is None, (change, out)
    body = await gql(SET_STOCK, {"i": {**ids, "onHand": 2**40}}, token=acme)
    assert body["errors"][0]["message"] != "Unexpected error."  # beyond GraphQL Int: a validation error
    row = await db.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku_id = $1", sku)
    assert (row["on_hand"], row["reserved"]) == (5, 4)
    assert len(await stock_events(db, sku)) == 1  # only the successful set


async def test_ownership_of_skus_and_warehouses(gql, tokens, db):
    acme_sku, lumen_sku = await create_sku(db, 2), await create_sku(db, 3)
    acme_wh = await create_warehouse(gql, tokens["acme"])
    lumen_wh = await create_warehouse(gql, tokens["lumen"])
    lumen = tokens["lumen"]

    into_acme_wh = (await gql.ok(SET_STOCK, {"i": {"skuId": encode_id("Sku", lumen_sku), "warehouseId": acme_wh["id"],
                                                   "onHand": 5}}, token=lumen))["setStock"]
    assert codes(into_acme_wh) == ["WAREHOUSE_NOT_OURS"]
    acme_sku_ids = {"skuId": encode_id("Sku", acme_sku), "warehouseId": acme_wh["id"]}
    assert codes((await gql.ok(SET_STOCK, {"i": {**acme_sku_ids, "onHand": 5}}, token=lumen))["setStock"]) == [
        "NOT_FOUND"]
    assert codes((await gql.ok(ADJUST, {"i": {**acme_sku_ids, "delta": 5}}, token=lumen))["adjustStock"]) == [
        "NOT_FOUND"]
    admin_mix = (await gql.ok(SET_STOCK, {"i": {"skuId": encode_id("Sku", acme_sku), "warehouseId": lumen_wh["id"],
                                                "onHand": 1}}, token=tokens["admin"]))["setStock"]
    assert codes(admin_mix) == ["WAREHOUSE_NOT_OURS"]
    for ids, code in (({"skuId": encode_id("Sku", 10**9), "warehouseId": acme_wh["id"]}, "NOT_FOUND"),
                      ({"skuId": encode_id("Sku", acme_sku), "warehouseId": encode_id("Warehouse", 10**9)},
                       "NOT_FOUND"),
                      ({"skuId": "sku?", "warehouseId": acme_wh["id"]}, "INVALID_ID"),
                      ({"skuId": encode_id("Sku", acme_sku), "warehouseId": encode_id("Sku", 1)}, "INVALID_ID")):
        assert codes((await gql.ok(SET_STOCK, {"i": {**ids, "onHand": 1}}, token=tokens["acme"]))["setStock"]) == [
            code]
    for who, code in (("buyer", "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await gql(SET_STOCK, {"i": {**acme_sku_ids, "onHand": 1}}, token=who and tokens[who])
        assert body["errors"][0]["extensions"]["code"] == code
    assert await db.fetchval("SELECT count(*) FROM stock WHERE sku_id = ANY($1::bigint[])",
                             [acme_sku, lumen_sku]) == 0


async def test_concurrent_removals_never_oversell(gql, tokens, db):
    sku = await create_sku(db)
    wh = pk((await create_warehouse(gql, tokens["acme"]))["id"])
    owner = Principal(kind="staff", id=0, staff_kind="MERCHANT", merchant_id=2, merchant_role="OWNER")
    async with db.transaction() as conn:
        await adjust_stock(conn, owner, sku, wh, 10)

    async def take_one() -> bool:
        try:
            async with db.transaction() as conn:
                await adjust_stock(conn, owner, sku, wh, -1)
            return True
        except DomainError:
            return False

    results = await asyncio.gather(*(take_one() for _ in range(25)))
    assert results.count(True) == 10
    assert await db.fetchval("SELECT on_hand FROM stock WHERE sku_id = $1", sku) == 0


# ---- routing ----------------------------------------------------------------------------

async def add_warehouse(db, merchant_id: int, priority: int, regions: list[str], active: bool = True) -> int:
    wh = await db.fetchval("INSERT INTO warehouses (merchant_id, name, priority, active) VALUES ($1, $2, $3, $4)"
                           " RETURNING id", merchant_id, uniq("仓"), priority, active)
    await db.pool.execute("INSERT INTO warehouse_regions (warehouse_id, region_code) SELECT $1, unnest($2::text[])",
                     wh, regions)
    return wh


async def put_stock(db, sku: int, wh: int, on_hand: int, reserved: int = 0) -> None:
    await db.pool.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand, reserved) VALUES ($1, $2, $3, $4)",
                     sku, wh, on_hand, reserved)


async def route(db, sku: int, qty: int, region: str) -> int | None:
    async with db.transaction() as conn:
        return await route_warehouse(conn, sku, qty, region)


async def test_routing_prefers_priority_then_lowest_id(db):
    sku = await create_sku(db)
    low = await add_warehouse(db, 2, 1, ["440000", "310000"])
    high_a = await add_warehouse(db, 2, 5, ["440000"])
    high_b = await add_warehouse(db, 2, 5, ["440000"])
    for wh in (low, high_a, high_b):
        await put_stock(db, sku, wh, 10)
    assert await route(db, sku, 3, "440000") == high_a          # priority, then the lower id
    assert await route(db, sku, 3, "440305") == high_a          # a district code routes by its province
    assert await route(db, sku, 3, "310000") == low             # only `low` covers Shanghai
    assert await route(db, sku, 10, "440000") == high_a         # exactly enough is enough
    assert await route(db, sku, 11, "440000") is None           # no single warehouse has 11
    assert await route(db, sku, 1, "110000") is None            # nobody delivers to Beijing


async def test_routing_skips_reserved_inactive_and_other_merchants(db):
    sku = await create_sku(db)
    best = await add_warehouse(db, 2, 9, ["320000"])
    await put_stock(db, sku, best, 10, reserved=8)              # only 2 available
    inactive = await add_warehouse(db, 2, 8, ["320000"], active=False)
    await put_stock(db, sku, inactive, 100)
    foreign = await add_warehouse(db, 3, 7, ["320000"])         # another merchant's warehouse
    await put_stock(db, sku, foreign, 100)
    fallback = await add_warehouse(db, 2, 0, ["320000"])
    await put_stock(db, sku, fallback, 5)
    no_stock_row = await add_warehouse(db, 2, 6, ["320000"])
    assert no_stock_row

    assert await route(db, sku, 2, "320000") == best
    assert await route(db, sku, 3, "320000") == fallback
    assert await route(db, sku, 6, "320000") is None
    await db.pool.execute("UPDATE warehouses SET active = false WHERE id = $1", fallback)
    assert await route(db, sku, 3, "320000") is None
    assert await route(db, 10**9, 1, "320000") is None          # unknown SKU: nothing to route
    for qty, region in ((0, "320000"), (-1, "320000"), (1, "32")):
        with pytest.raises(DomainError):
            await route(db, sku, qty, region)
