"""Brands: names, status visibility, category links, and the search index on rename."""

from app.ids import encode_id
from tests.catalog.test_categories import codes, create_category, insert_product, pk, refresh_index, uniq

BRAND_FIELDS = "id nameZh nameEn logoUrl origin status categoryIds"
CREATE = f"""mutation($i: CreateBrandInput!) {{ createBrand(input: $i) {{
  brand {{ {BRAND_FIELDS} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($i: UpdateBrandInput!) {{ updateBrand(input: $i) {{
  brand {{ {BRAND_FIELDS} }} userErrors {{ field code message }} }} }}"""
SET_CATEGORIES = """mutation($i: SetBrandCategoriesInput!) { setBrandCategories(input: $i) {
  brand { id categoryIds } userErrors { field code message } } }"""
LIST = """query($c: ID, $n: Int, $after: String) { brands(categoryId: $c, first: $n, after: $after) {
  edges { node { id nameZh status } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


def nodes(data: dict) -> list[dict]:
    return [e["node"] for e in data["brands"]["edges"]]


async def create_brand(gql, token, **fields) -> dict:
    data = await gql.ok(CREATE, {"i": {"nameZh": uniq("品牌"), **fields}}, token=token)
    assert data["createBrand"]["userErrors"] == [], data["createBrand"]["userErrors"]
    return data["createBrand"]["brand"]


async def test_create_and_duplicate_chinese_name(gql, tokens, db):
    admin = tokens["admin"]
    name = uniq("华为")
    brand = await create_brand(gql, admin, nameZh=f"  {name}  ", nameEn="Huawei", origin="中国",
                               logoUrl="https://img.example.com/hw.png")
    assert brand["nameZh"] == name and brand["nameEn"] == "Huawei" and brand["status"] == "ACTIVE"
    assert brand["categoryIds"] == []
    before = await db.fetchval("SELECT count(*) FROM brands")
    dup = (await gql.ok(CREATE, {"i": {"nameZh": name.upper()}}, token=admin))["createBrand"]
    assert dup["userErrors"] == [{"field": ["input", "nameZh"], "code": "DUPLICATE_NAME",
                                  "message": f"a brand is already called '{name.upper()}'"}]
    for fields, code in (({"nameZh": ""}, "INVALID_NAME"), ({"nameZh": "x" * 101}, "INVALID_NAME"),
                         ({"nameZh": uniq(), "logoUrl": "ftp://x"}, "INVALID_URL"),
                         ({"nameZh": uniq(), "origin": "o" * 101}, "INVALID_VALUE")):
        out = (await gql.ok(CREATE, {"i": fields}, token=admin))["createBrand"]
        assert codes(out) == [code] and out["brand"] is None
    assert await db.fetchval("SELECT count(*) FROM brands") == before


async def test_only_admins_manage_brands(gql, tokens):
    brand = await create_brand(gql, tokens["admin"])
    for who, code in (("buyer", "FORBIDDEN"), ("acme", "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await gql(UPDATE, {"i": {"id": brand["id"], "nameZh": "抢注"}}, token=who and tokens[who])
        assert body["errors"][0]["extensions"]["code"] == code


async def test_rename_refreshes_products_search_text(gql, tokens, db):
    admin = tokens["admin"]
    leaf = await create_category(gql, admin)
    brand = await create_brand(gql, admin, nameEn="OldBrand")
    product = await insert_product(db, pk(leaf["id"]), brand_id=pk(brand["id"]))
    assert "oldbrand" in await refresh_index(db, product)

    new_zh = uniq("新品牌")
    out = (await gql.ok(UPDATE, {"i": {"id": brand["id"], "nameZh": new_zh, "nameEn": "NewBrand", "logoUrl": ""}},
                        token=admin))["updateBrand"]
    assert out["userErrors"] == [] and out["brand"]["nameEn"] == "NewBrand" and out["brand"]["logoUrl"] is None
    text = await db.fetchval("SELECT search_text FROM products WHERE id = $1", product)
    assert "newbrand" in text and new_zh in text and "oldbrand" not in text

    other = await create_brand(gql, admin)
    clash = (await gql.ok(UPDATE, {"i": {"id": other["id"], "nameZh": new_zh}}, token=admin))["updateBrand"]
    assert codes(clash) == ["DUPLICATE_NAME"]
    same = (await gql.ok(UPDATE, {"i": {"id": brand["id"], "nameZh": new_zh}}, token=admin))["updateBrand"]
    assert same["userErrors"] == []  # keeping its own name is no clash
    for variables, code in (({"id": encode_id("Brand", 10**9), "origin": "x"}, "NOT_FOUND"),
                            ({"id": "bad id", "origin": "x"}, "INVALID_ID")):
        assert codes((await gql.ok(UPDATE, {"i": variables}, token=admin))["updateBrand"]) == [code]


async def test_brands_by_category_and_status(gql, tokens, db):
    admin = tokens["admin"]
    root = await create_category(gql, admin)
    leaf = await create_category(gql, admin, parent=root["id"])
    unrelated = await create_category(gql, admin)
    on_root = await create_brand(gql, admin, nameZh=uniq("A"))
    on_leaf = await create_brand(gql, admin, nameZh=uniq("B"))
    disabled = await create_brand(gql, admin, nameZh=uniq("C"), status="DISABLED")
    for brand, category in ((on_root, root), (on_leaf, leaf), (disabled, leaf)):
        out = (await gql.ok(SET_CATEGORIES, {"i": {"brandId": brand["id"], "categoryIds": [category["id"]]}},
                            token=admin))["setBrandCategories"]
        assert out["brand"]["categoryIds"] == [category["id"]]

    as_buyer = [b["id"] for b in nodes(await gql.ok(LIST, {"c": leaf["id"]}, token=tokens["buyer"]))]
    assert as_buyer == [on_root["id"], on_leaf["id"]]  # linked to the leaf or an ancestor; ACTIVE only
    anonymous = [b["id"] for b in nodes(await gql.ok(LIST, {"c": leaf["id"]}))]
    assert anonymous == as_buyer
    as_admin = [b["id"] for b in nodes(await gql.ok(LIST, {"c": leaf["id"]}, token=admin))]
    assert as_admin == [on_root["id"], on_leaf["id"], disabled["id"]]
    assert nodes(await gql.ok(LIST, {"c": root["id"]}, token=admin)) == [
        {"id": on_root["id"], "nameZh": on_root["nameZh"], "status": "ACTIVE"}]
    assert nodes(await gql.ok(LIST, {"c": unrelated["id"]})) == []
    everything = nodes(await gql.ok(LIST, {}))
    assert disabled["id"] not in [b["id"] for b in everything]
    assert len(nodes(await gql.ok(LIST, {"n": 1}))) == 1

    pages, after = [], None
    while True:  # a page at a time, by name, the same brands as one page
        page = (await gql.ok(LIST, {"c": leaf["id"], "n": 1, "after": after}, token=admin))["brands"]
        pages += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == as_admin

    for variables, code in (({"n": 0}, "INVALID_PAGE_SIZE"), ({"n": 1000}, "INVALID_PAGE_SIZE"),
                            ({"after": "not-a-cursor"}, "INVALID_CURSOR"),
                            ({"c": "garbage"}, "INVALID_ID")):
        body = await gql(LIST, variables)
        assert body["errors"][0]["extensions"]["code"] == code


async def test_set_brand_categories_bad_input_writes_nothing(gql, tokens, db):
    admin = tokens["admin"]
    leaf = await create_category(gql, admin)
    brand = await create_brand(gql, admin)
    await gql.ok(SET_CATEGORIES, {"i": {"brandId": brand["id"], "categoryIds": [leaf["id"]]}}, token=admin)
    for ids, code, field in (([leaf["id"], encode_id("BackendCategory", 10**9)], "NOT_FOUND", "1"),
                             ([leaf["id"], leaf["id"]], "DUPLICATE_VALUE", "1"),
                             (["?"], "INVALID_ID", "0")):
        out = (await gql.ok(SET_CATEGORIES, {"i": {"brandId": brand["id"], "categoryIds": ids}},
                            token=admin))["setBrandCategories"]
        assert out["userErrors"][0]["code"] == code
        assert out["userErrors"][0]["field"] == ["input", "categoryIds", field]
    assert await db.fetchval("SELECT array_agg(category_id) FROM brand_categories WHERE brand_id = $1",
                             pk(brand["id"])) == [pk(leaf["id"])]
    cleared = (await gql.ok(SET_CATEGORIES, {"i": {"brandId": brand["id"], "categoryIds": []}},
                            token=admin))["setBrandCategories"]
    assert cleared["brand"]["categoryIds"] == []
    missing = await gql.ok(SET_CATEGORIES, {"i": {"brandId": encode_id("Brand", 10**9), "categoryIds": []}},
                           token=admin)
    assert codes(missing["setBrandCategories"]) == ["NOT_FOUND"]
