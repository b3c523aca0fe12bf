"""Creating and editing products over GraphQL: the SKU grid, template checks, ownership, and
bad input answered with userErrors and no partial write."""

import asyncio
import copy

import pytest

from tests.catalog.product_helpers import (
    CREATE,
    PRICE,
    UPDATE,
    act,
    counts,
    create_phone,
    gid,
    make_catalog,
    phone_input,
    pk,
)


@pytest.fixture(scope="module")
async def cat(db, tokens):
    return await make_catalog(db)


async def test_create_generates_the_grid_in_draft(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    assert product["status"] == "DRAFT" and product["merchantId"] == gid("Merchant", 2)
    assert [s["specLabel"] for s in product["skus"]] == ["黑色 / 128GB", "黑色 / 256GB", "白色 / 128GB", "白色 / 256GB"]
    assert (product["minPrice"], product["maxPrice"]) == (399900, 449900)
    assert [a["values"][0]["imageUrl"] is not None for a in product["salesAttributes"]] == [True, False]
    assert {a["value"] for a in product["attributes"]} == {"X1", "深圳"}
    product_pk = pk("Product", product["id"])
    history = await db.fetch("SELECT from_status, to_status FROM product_status_history WHERE product_id = $1",
                             product_pk)
    assert [(h["from_status"], h["to_status"]) for h in history] == [(None, "DRAFT")]
    events = await db.fetch("SELECT event_type, merchant_id FROM outbox WHERE payload->>'product_id' = $1",
                            str(product_pk))
    assert [(e["event_type"], e["merchant_id"]) for e in events] == [("PRODUCT_CREATED", 2)]
    indexed = await db.fetchrow("SELECT search_text, attribute_value_ids FROM products WHERE id = $1", product_pk)
    assert "acme phone" in indexed["search_text"] and len(indexed["attribute_value_ids"]) == 5


async def test_product_without_sales_attributes_has_exactly_one_sku(gql, tokens, cat):
    one = phone_input(cat, salesAttributes=[], skus=[{"code": f"ONE-{cat.tag}", "price": 1000}])
    out = (await gql.ok(CREATE, {"i": one}, token=tokens["acme"]))["createProduct"]
    assert out["userErrors"] == [] and [s["specLabel"] for s in out["product"]["skus"]] == [""]
    none = phone_input(cat, salesAttributes=[], skus=[])
    out = (await gql.ok(CREATE, {"i": none}, token=tokens["acme"]))["createProduct"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("MISSING_SKU", ["input", "skus"])]
    two = phone_input(cat, salesAttributes=[], skus=[{"code": f"TWO-{cat.tag}", "price": 1000},
                                                     {"code": f"TWO2-{cat.tag}", "price": 1000}])
    out = (await gql.ok(CREATE, {"i": two}, token=tokens["acme"]))["createProduct"]
    assert [e["code"] for e in out["userErrors"]] == ["DUPLICATE_COMBINATION"]


async def test_draft_may_lack_images_but_cannot_be_submitted(gql, tokens, cat):
    product = await create_phone(gql, tokens["acme"], cat, images=[])
    out = await act(gql, tokens["acme"], "submitProductForReview", product["id"])
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("NO_IMAGE", ["input", "productId"])]


async def test_admin_chooses_the_merchant_staff_cannot(gql, tokens, cat):
    out = (await gql.ok(CREATE, {"i": phone_input(cat, merchantId=gid("Merchant", 3))},
                        token=tokens["admin"]))["createProduct"]
    assert out["userErrors"] == [] and out["product"]["merchantId"] == gid("Merchant", 3)
    out = (await gql.ok(CREATE, {"i": phone_input(cat)}, token=tokens["admin"]))["createProduct"]
    assert [e["code"] for e in out["userErrors"]] == ["MERCHANT_REQUIRED"]
    out = (await gql.ok(CREATE, {"i": phone_input(cat, merchantId=gid("Merchant", 3))},
                        token=tokens["acme"]))["createProduct"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("NOT_FOUND", ["input", "merchantId"])]
    out = (await gql.ok(CREATE, {"i": phone_input(cat, merchantId=gid("Merchant", 999))},
                        token=tokens["admin"]))["createProduct"]
    assert [e["code"] for e in out["userErrors"]] == ["NOT_FOUND"]


async def test_buyers_and_anonymous_callers_cannot_write(gql, tokens, cat):
    for token, code in ((tokens["buyer"], "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await gql(CREATE, {"i": phone_input(cat)}, token=token)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == code


def _bad(cat, change):
    data = phone_input(cat)
    change(data, cat)
    return data


def _set(path, value):
    def change(data, _cat):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(_cat) if callable(value) else value
    return change


BAD_INPUT = {
    "non-leaf category": (_set(["categoryId"], lambda c: c.root), "NOT_LEAF_CATEGORY", ["input", "categoryId"]),
    "unknown category": (_set(["categoryId"], gid("BackendCategory", 987654)), "NOT_FOUND", ["input", "categoryId"]),
    "malformed category id": (_set(["categoryId"], "%%%"), "INVALID_ID", ["input", "categoryId"]),
    "category id of another type": (_set(["categoryId"], gid("Brand", 1)), "INVALID_ID", ["input", "categoryId"]),
    "disabled brand": (_set(["brandId"], lambda c: c.disabled_brand), "BRAND_NOT_ACTIVE", ["input", "brandId"]),
    "unknown brand": (_set(["brandId"], gid("Brand", 987654)), "NOT_FOUND", ["input", "brandId"]),
    "attribute outside the template": (
        _set(["attributes", 0, "attributeId"], lambda c: c.size), "NOT_IN_TEMPLATE",
        ["input", "attributes", "0", "attributeId"]),
    "sales attribute given as key attribute": (
        _set(["attributes", 0], lambda c: {"attributeId": c.colour, "valueId": c.colours[0]}), "NOT_IN_TEMPLATE",
        ["input", "attributes", "0", "attributeId"]),
    "value of another attribute": (
        _set(["attributes", 0, "valueId"], lambda c: c.colours[0]), "INVALID_VALUE",
        ["input", "attributes", "0", "valueId"]),
    "both value and text": (
        _set(["attributes", 0, "text"], "X9"), "INVALID_VALUE", ["input", "attributes", "0"]),
    "key attribute as sales attribute": (
        _set(["salesAttributes", 0, "attributeId"], lambda c: c.model), "NOT_IN_TEMPLATE",
        ["input", "salesAttributes", "0", "attributeId"]),
    "sales attribute of another category": (
        _set(["salesAttributes", 1], lambda c: {"attributeId": c.size, "values": [{"valueId": c.sizes[0]}]}),
        "NOT_IN_TEMPLATE", ["input", "salesAttributes", "1", "attributeId"]),
    "sales value of another attribute": (
        _set(["salesAttributes", 1, "values", 1, "valueId"], lambda c: c.colours[2]), "INVALID_VALUE",
        ["input", "salesAttributes", "1", "values", "1", "valueId"]),
    "missing SKU": (lambda d, c: d["skus"].pop(), "MISSING_SKU", ["input", "skus"]),
    "combination not in the grid": (
        _set(["skus", 0, "specValueIds"], lambda c: [c.colours[2], c.memories[0]]), "UNKNOWN_COMBINATION",
        ["input", "skus", "0", "specValueIds"]),
    "malformed spec value id": (
        _set(["skus", 0, "specValueIds", 1], "nope"), "INVALID_ID", ["input", "skus", "0", "specValueIds", "1"]),
    "duplicate SKU code": (
        lambda d, c: d["skus"][2].update(code=d["skus"][0]["code"]), "DUPLICATE_SKU_CODE",
        ["input", "skus", "2", "code"]),
    "zero price": (_set(["skus", 1, "price"], 0), "INVALID_PRICE", ["input", "skus", "1", "price"]),
    "negative price": (_set(["skus", 1, "price"], -100), "INVALID_PRICE", ["input", "skus", "1", "price"]),
    "list price below price": (_set(["skus", 3, "listPrice"], 100), "INVALID_PRICE",
                               ["input", "skus", "3", "listPrice"]),
    "member price above price": (
        lambda d, c: d["skus"][0].update(memberPrice=d["skus"][0]["price"] + 1, memberLevel=1), "INVALID_PRICE",
        ["input", "skus", "0", "memberPrice"]),
    "bad SKU code": (_set(["skus", 0, "code"], "has space"), "INVALID_SKU_CODE", ["input", "skus", "0", "code"]),
    "empty title": (_set(["title"], "   "), "INVALID_NAME", ["input", "title"]),
    "too many images": (_set(["images"], [{"url": f"https://x.example/{n}.jpg"} for n in range(21)]), "TOO_MANY",
                        ["input", "images"]),
    "too many SKUs": (_set(["skus"], [{"code": f"S{n}", "price": 1} for n in range(601)]), "TOO_MANY",
                      ["input", "skus"]),
    "NUL in a text": (_set(["attributes", 1, "text"], "深\u0000圳"), "INVALID_TEXT",
                       ["input", "attributes", "1", "text"]),
    "NUL in an image url": (_set(["images", 0, "url"], "https://x.example/\u0000.jpg"), "INVALID_URL",
                            ["input", "images", "0", "url"]),
    "not an http image": (_set(["images", 0, "url"], "javascript:alert(1)"), "INVALID_URL",
                          ["input", "images", "0", "url"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
async def test_bad_input_is_a_user_error_and_writes_nothing(gql, tokens, cat, db, case):
    change, code, field = BAD_INPUT[case]
    before = await counts(db)
    out = (await gql.ok(CREATE, {"i": _bad(cat, change)}, token=tokens["acme"]))["createProduct"]
    assert out["product"] is None
    assert (code, field) in [(e["code"], e["field"]) for e in out["userErrors"]], out["userErrors"]
    assert await counts(db) == before


async def test_absurd_numbers_are_refused_without_a_500(gql, tokens, cat, db):
    before = await counts(db)
    data = phone_input(cat)
    data["skus"][0].update(price=10_000_000_001, listPrice=None)  # a Money value, but one cent too many
    out = (await gql.ok(CREATE, {"i": data}, token=tokens["acme"]))["createProduct"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [
        ("INVALID_PRICE", ["input", "skus", "0", "price"])]
    for absurd in (2**70, 1.5, "100"):  # not a Money value at all: refused before any resolver
        data["skus"][0]["price"] = absurd
        body = await gql(CREATE, {"i": data}, token=tokens["acme"])
        assert gql.last_response.status_code < 500 and body["data"] is None
        assert "price" in body["errors"][0]["message"]
    data = phone_input(cat)
    data["skus"][0]["weightGrams"] = 2**40  # beyond GraphQL Int
    body = await gql(CREATE, {"i": data}, token=tokens["acme"])
    assert gql.last_response.status_code < 500 and "weightGrams" in body["errors"][0]["message"]
    assert await counts(db) == before


async def test_sku_codes_are_unique_per_merchant(gql, tokens, cat, db):
    first = await create_phone(gql, tokens["acme"], cat)
    taken = first["skus"][1]["code"]
    data = phone_input(cat)
    data["skus"][0]["code"] = taken
    before = await counts(db)
    out = (await gql.ok(CREATE, {"i": data}, token=tokens["acme"]))["createProduct"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [
        ("DUPLICATE_SKU_CODE", ["input", "skus", "0", "code"])]
    assert await counts(db) == before
    other = (await gql.ok(CREATE, {"i": data}, token=tokens["lumen"]))["createProduct"]  # another merchant may
    assert other["userErrors"] == []


async def test_update_keeps_surviving_skus_and_adds_new_ones(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    old = {tuple(sorted(s["specValueIds"])): s for s in product["skus"]}
    data = phone_input(cat, colours=3)
    for sku in data["skus"]:  # surviving combinations keep their codes, new ones get new codes
        kept = old.get(tuple(sorted(sku["specValueIds"])))
        if kept:
            sku["code"] = kept["code"]
    update = {k: data[k] for k in ("salesAttributes", "skus")}
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "title": "Acme Phone X1 三色", **update}},
                        token=tokens["acme"]))["updateProduct"]
    assert out["userErrors"] == []
    new = out["product"]
    assert new["title"] == "Acme Phone X1 三色" and len(new["skus"]) == 6
    by_combo = {tuple(sorted(s["specValueIds"])): s["id"] for s in new["skus"]}
    assert all(by_combo[k] == s["id"] for k, s in old.items())
    assert new["subtitle"] == "旗舰" and len(new["images"]) == 1  # omitted fields are kept


async def test_update_drops_vanished_skus_but_only_disables_stocked_ones(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    white = [s for s in product["skus"] if s["specLabel"].startswith("白色")]
    stocked = pk("Sku", white[0]["id"])
    warehouse = await db.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES (2, 'W') RETURNING id")
    await db.fetchval("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, 5)", stocked, warehouse)
    data = phone_input(cat, colours=1)
    for sku, old in zip(data["skus"], product["skus"]):
        sku["code"] = old["code"]
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "salesAttributes": data["salesAttributes"],
                                       "skus": data["skus"]}}, token=tokens["acme"]))["updateProduct"]
    assert out["userErrors"] == []
    statuses = {s["id"]: s["status"] for s in out["product"]["skus"]}
    assert statuses[white[0]["id"]] == "DISABLED" and white[1]["id"] not in statuses
    assert list(statuses.values()).count("ACTIVE") == 2
    assert await db.fetchval("SELECT on_hand FROM stock WHERE sku_id = $1", stocked) == 5
    # bringing the colour back reactivates the stocked row, keeping its id
    data = phone_input(cat, colours=2)
    for sku in data["skus"]:
        sku["code"] = next((s["code"] for s in product["skus"]
                            if sorted(s["specValueIds"]) == sorted(sku["specValueIds"])), sku["code"])
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "salesAttributes": data["salesAttributes"],
                                       "skus": data["skus"]}}, token=tokens["acme"]))["updateProduct"]
    assert out["userErrors"] == []
    assert {s["id"]: s["status"] for s in out["product"]["skus"]}[white[0]["id"]] == "ACTIVE"


async def test_update_may_swap_sku_codes(gql, tokens, cat):
    product = await create_phone(gql, tokens["acme"], cat)
    data = phone_input(cat)
    codes = [s["code"] for s in product["skus"]]
    for sku, code in zip(data["skus"], [codes[1], codes[0], codes[2], codes[3]]):
        sku["code"] = code
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "skus": data["skus"]}},
                        token=tokens["acme"]))["updateProduct"]
    assert out["userErrors"] == []
    assert [s["code"] for s in out["product"]["skus"]] == [codes[1], codes[0], codes[2], codes[3]]


async def test_new_sales_values_without_their_skus_are_missing(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    before = await counts(db)
    sales = phone_input(cat, colours=3)["salesAttributes"]
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "salesAttributes": sales}},
                        token=tokens["acme"]))["updateProduct"]
    assert [e["code"] for e in out["userErrors"]] == ["MISSING_SKU", "MISSING_SKU"]
    assert await counts(db) == before


async def test_update_bad_input_writes_nothing(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    other = await create_phone(gql, tokens["acme"], cat)
    skus = copy.deepcopy(phone_input(cat)["skus"])
    skus[3]["code"] = other["skus"][0]["code"]
    skus[1]["price"] = -1
    before = await counts(db)
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "title": "changed", "skus": skus}},
                        token=tokens["acme"]))["updateProduct"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("INVALID_PRICE", ["input", "skus", "1", "price"])]
    skus[1]["price"] = 100
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "title": "changed", "skus": skus}},
                        token=tokens["acme"]))["updateProduct"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [
        ("DUPLICATE_SKU_CODE", ["input", "skus", "3", "code"])]
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "categoryId": cat.shirts}},
                        token=tokens["acme"]))["updateProduct"]
    assert {e["code"] for e in out["userErrors"]} == {"NOT_IN_TEMPLATE"}
    out = (await gql.ok(UPDATE, {"i": {"productId": "garbage", "title": "x"}}, token=tokens["acme"]))["updateProduct"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("INVALID_ID", ["input", "productId"])]
    assert await counts(db) == before


async def test_brand_can_be_removed_and_category_changed_with_its_template(gql, tokens, cat):
    product = await create_phone(gql, tokens["acme"], cat)
    shirt = {"productId": product["id"], "brandId": None, "categoryId": cat.shirts, "attributes": [],
             "salesAttributes": [{"attributeId": cat.size, "values": [{"valueId": v} for v in cat.sizes]}],
             "skus": [{"specValueIds": [v], "code": f"SH-{cat.tag}-{n}", "price": 9900}
                      for n, v in enumerate(cat.sizes)]}
    out = (await gql.ok(UPDATE, {"i": shirt}, token=tokens["acme"]))["updateProduct"]
    assert out["userErrors"] == []
    assert out["product"]["brand"] is None and out["product"]["backendCategory"]["id"] == cat.shirts
    assert [s["specLabel"] for s in out["product"]["skus"]] == ["M", "L"]


async def test_other_merchants_products_do_not_exist(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    before = await counts(db)
    stolen = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "title": "stolen"}},
                           token=tokens["lumen"]))["updateProduct"]
    missing = (await gql.ok(UPDATE, {"i": {"productId": gid("Product", 987654), "title": "x"}},
                            token=tokens["lumen"]))["updateProduct"]
    assert stolen == missing  # indistinguishable from a product that does not exist
    assert [(e["code"], e["field"]) for e in stolen["userErrors"]] == [("NOT_FOUND", ["input", "productId"])]
    out = (await gql.ok(PRICE, {"i": {"skuId": product["skus"][0]["id"], "price": 1}},
                        token=tokens["lumen"]))["updateSkuPrice"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("NOT_FOUND", ["input", "skuId"])]
    assert await counts(db) == before


async def test_sku_price_changes_in_any_live_status(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    for step in ("submitProductForReview", "approveProduct", "listProduct"):
        assert (await act(gql, tokens["admin" if step == "approveProduct" else "acme"], step,
                          product["id"]))["userErrors"] == []
    sku = product["skus"][0]
    prices = {"price": 299900, "listPrice": 399900, "memberPrice": 289900, "memberLevel": 2}
    out = (await gql.ok(PRICE, {"i": {"skuId": sku["id"], **prices}}, token=tokens["acme"]))["updateSkuPrice"]
    assert out["userErrors"] == []
    assert out["sku"] == {"id": sku["id"], "price": 299900, "listPrice": 399900, "memberPrice": 289900,
                          "memberLevel": 2}
    row = await db.fetchrow("SELECT status, min_price FROM products WHERE id = $1", pk("Product", product["id"]))
    assert (row["status"], row["min_price"]) == ("LISTED", 299900)
    event = await db.fetchrow("SELECT payload FROM outbox WHERE event_type = 'PRICE_CHANGED' ORDER BY id DESC LIMIT 1")
    assert event["payload"]["old_price"] == 399900 and event["payload"]["price"] == 299900
    before = await counts(db)
    for bad, field in (({"price": 0}, "price"), ({"price": 100, "listPrice": 50}, "listPrice"),
                       ({"price": 100, "memberPrice": 90}, "memberLevel")):
        out = (await gql.ok(PRICE, {"i": {"skuId": sku["id"], **bad}}, token=tokens["acme"]))["updateSkuPrice"]
        assert out["sku"] is None and out["userErrors"][0]["field"] == ["input", field]
    out = (await gql.ok(PRICE, {"i": {"skuId": "bad", "price": 1}}, token=tokens["acme"]))["updateSkuPrice"]
    assert out["userErrors"][0]["code"] == "INVALID_ID"
    assert await counts(db) == before


async def test_generate_sku_matrix(gql, tokens, cat):
    query = """query($i: GenerateSkuMatrixInput!) { generateSkuMatrix(input: $i) { specValueIds label } }"""
    sales = phone_input(cat, colours=3)["salesAttributes"][::-1]
    cells = (await gql.ok(query, {"i": {"categoryId": cat.leaf, "salesAttributes": sales}},
                          token=tokens["acme"]))["generateSkuMatrix"]
    assert [c["label"] for c in cells] == ["黑色 / 128GB", "黑色 / 256GB", "白色 / 128GB", "白色 / 256GB",
                                           "蓝色 / 128GB", "蓝色 / 256GB"]
    body = await gql(query, {"i": {"categoryId": cat.leaf, "salesAttributes": [
        {"attributeId": cat.size, "values": [{"valueId": cat.sizes[0]}]}]}}, token=tokens["acme"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_IN_TEMPLATE"
    body = await gql(query, {"i": {"categoryId": "zzz", "salesAttributes": []}}, token=tokens["acme"])
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_merchant_products_are_the_callers_own_in_any_status(gql, tokens, cat):
    mine = await create_phone(gql, tokens["acme"], cat)
    theirs = await create_phone(gql, tokens["lumen"], cat)
    query = """query($m: ID, $s: ProductStatus, $first: Int!, $after: String) {
      merchantProducts(merchantId: $m, status: $s, first: $first, after: $after) {
        edges { cursor node { id status merchantId } } pageInfo { hasNextPage endCursor } } }"""
    page = (await gql.ok(query, {"first": 100}, token=tokens["acme"]))["merchantProducts"]
    ids = [e["node"]["id"] for e in page["edges"]]
    assert mine["id"] in ids and theirs["id"] not in ids
    assert {e["node"]["merchantId"] for e in page["edges"]} == {gid("Merchant", 2)}
    first = (await gql.ok(query, {"first": 1}, token=tokens["acme"]))["merchantProducts"]
    assert first["pageInfo"]["hasNextPage"] and first["edges"][0]["node"]["id"] == ids[0]
    second = (await gql.ok(query, {"first": 1, "after": first["pageInfo"]["endCursor"]},
                           token=tokens["acme"]))["merchantProducts"]
    assert second["edges"][0]["node"]["id"] == ids[1]
    lumen = (await gql.ok(query, {"first": 100, "m": gid("Merchant", 3), "s": "DRAFT"},
                          token=tokens["admin"]))["merchantProducts"]
    assert theirs["id"] in [e["node"]["id"] for e in lumen["edges"]]
    denied = await gql(query, {"first": 5, "m": gid("Merchant", 3)}, token=tokens["acme"])
    assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = await gql(query, {"first": 5, "after": "not-a-cursor"}, token=tokens["acme"])
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    buyer = await gql(query, {"first": 5}, token=tokens["buyer"])
    assert buyer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_brand_linked_to_categories_is_only_for_those(gql, tokens, cat, db):
    brand = pk("Brand", cat.brand)
    await db.fetchval("INSERT INTO brand_categories (brand_id, category_id) VALUES ($1, $2)",
                      brand, pk("BackendCategory", cat.shirts))
    try:
        out = (await gql.ok(CREATE, {"i": phone_input(cat)}, token=tokens["acme"]))["createProduct"]
        assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("BRAND_NOT_IN_CATEGORY", ["input", "brandId"])]
        await db.fetchval("INSERT INTO brand_categories (brand_id, category_id) VALUES ($1, $2)",
                          brand, pk("BackendCategory", cat.root))  # an ancestor covers its subcategories
        await create_phone(gql, tokens["acme"], cat)
    finally:
        await db.fetchval("DELETE FROM brand_categories WHERE brand_id = $1", brand)


async def test_concurrent_creates_with_one_code_make_one_product(gql, tokens, cat, db):
    data = phone_input(cat)
    before = await counts(db)
    outs = await asyncio.gather(*(gql.ok(CREATE, {"i": data}, token=tokens["acme"]) for _ in range(4)))
    results = [o["createProduct"] for o in outs]
    assert sum(r["product"] is not None for r in results) == 1
    assert all([e["code"] for e in r["userErrors"]][:1] == ["DUPLICATE_SKU_CODE"] for r in results if not r["product"])
    assert (await counts(db))["products"] == before["products"] + 1
