"""Backend categories, attribute templates, commission rates and frontend categories."""

import base64
import uuid
from decimal import Decimal

from app.catalog.categories import effective_commission_rate, nearest_override
from app.ids import encode_id

CATEGORY_FIELDS = "id name depth isLeaf commissionRate parentId sort"
CREATE = f"""mutation($i: CreateBackendCategoryInput!) {{ createBackendCategory(input: $i) {{
  category {{ {CATEGORY_FIELDS} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($i: UpdateBackendCategoryInput!) {{ updateBackendCategory(input: $i) {{
  category {{ {CATEGORY_FIELDS} }} userErrors {{ field code message }} }} }}"""
TREE = """{ backendCategories { id name children { id name isLeaf children { id name children { id } } } } }"""
ONE = """query($id: ID!) { backendCategory(id: $id) { id name path { name } isLeaf
  attributes { name kind filterable required values { value sort } } children { name } } }"""
CREATE_ATTRIBUTE = """mutation($i: CreateAttributeInput!) { createAttribute(input: $i) {
  attribute { id name kind values { value sort } } userErrors { field code message } } }"""
ADD_VALUES = """mutation($i: AddAttributeValuesInput!) { addAttributeValues(input: $i) {
  attribute { values { value sort } } userErrors { field code message } } }"""
SET_RATE = """mutation($i: SetMerchantCommissionRateInput!) { setMerchantCommissionRate(input: $i) {
  effectiveRate userErrors { field code message } } }"""
EFFECTIVE = "query($m: ID!, $c: ID!) { effectiveCommissionRate(merchantId: $m, categoryId: $c) }"
CREATE_FRONT = """mutation($i: CreateFrontendCategoryInput!) { createFrontendCategory(input: $i) {
  category { id name iconUrl parentId sort } userErrors { field code message } } }"""
UPDATE_FRONT = """mutation($i: UpdateFrontendCategoryInput!) { updateFrontendCategory(input: $i) {
  category { id name iconUrl sort } userErrors { field code message } } }"""
DELETE_FRONT = """mutation($i: DeleteFrontendCategoryInput!) { deleteFrontendCategory(input: $i) {
  deletedId userErrors { field code message } } }"""
MAP_FRONT = """mutation($i: SetFrontendCategoryMappingsInput!) { setFrontendCategoryMappings(input: $i) {
  category { id backendCategoryIds } userErrors { field code message } } }"""
FRONT_TREE = """{ frontendCategories { id name backendCategoryIds
  children { id name backendCategoryIds children { id } } } }"""


def uniq(prefix: str = "类目") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def pk(global_id: str) -> int:
    """The primary key inside an opaque id, for checking rows directly."""
    return int(base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().split(":")[1])


async def insert_product(db, category_id: int, merchant_id: int = 2, brand_id: int | None = None,
                         title: str | None = None) -> int:
    """A bare product row (the products service is another package's concern)."""
    return await db.fetchval(
        "INSERT INTO products (merchant_id, category_id, brand_id, title, fulfillment_type)"
        " VALUES ($1, $2, $3, $4, 'MERCHANT') RETURNING id",
        merchant_id, category_id, brand_id, title or uniq("商品"))


async def refresh_index(db, product_id: int) -> str:
    from app.catalog.index import refresh_product_index
    async with db.transaction() as conn:
        await refresh_product_index(conn, [product_id])
    return await db.fetchval("SELECT search_text FROM products WHERE id = $1", product_id)


async def create_category(gql, token, name=None, parent=None, rate="0.05", sort=0) -> dict:
    data = await gql.ok(CREATE, {"i": {"parentId": parent, "name": name or uniq(), "commissionRate": rate,
                                       "sort": sort}}, token=token)
    payload = data["createBackendCategory"]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["category"]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


# ---- backend categories -----------------------------------------------------------------

async def test_tree_grows_and_parent_stops_being_a_leaf(gql, tokens):
    admin = tokens["admin"]
    root = await create_category(gql, admin, rate="0.0500")
    assert root["depth"] == 1 and root["isLeaf"] and root["parentId"] is None
    assert Decimal(root["commissionRate"]) == Decimal("0.05")
    b = await create_category(gql, admin, "B", parent=root["id"], sort=2)
    a = await create_category(gql, admin, "A", parent=root["id"], sort=1)
    assert a["depth"] == 2 and a["parentId"] == root["id"]
    grandchild = await create_category(gql, admin, "A1", parent=a["id"])

    tree = (await gql.ok(TREE, token=tokens["acme"]))["backendCategories"]
    mine = next(n for n in tree if n["id"] == root["id"])
    assert [c["name"] for c in mine["children"]] == ["A", "B"]  # sibling order by sort
    assert mine["children"][0]["isLeaf"] is False and mine["children"][1]["isLeaf"] is True
    assert mine["children"][0]["children"] == [{"id": grandchild["id"], "name": "A1", "children": []}]
    assert b["isLeaf"]


async def test_whole_tree_is_one_statement(gql, tokens):
    root = await create_category(gql, tokens["admin"])
    child = await create_category(gql, tokens["admin"], parent=root["id"])
    await create_category(gql, tokens["admin"], parent=child["id"])
    await gql.ok("{ backendCategories { id } }", token=tokens["admin"])
    flat = int(gql.last_response.headers["x-sql-statements"])
    await gql.ok(TREE, token=tokens["admin"])
    assert int(gql.last_response.headers["x-sql-statements"]) == flat  # nested levels cost nothing more


async def test_depth_limit_duplicate_names_and_rates(gql, tokens, db):
    admin = tokens["admin"]
    parent = None
    for _ in range(5):
        parent = (await create_category(gql, admin, parent=parent and parent["id"]))
    assert parent["depth"] == 5
    before = await db.fetchval("SELECT count(*) FROM backend_categories")
    too_deep = (await gql.ok(CREATE, {"i": {"parentId": parent["id"], "name": "x", "commissionRate": "0"}},
                             token=admin))["createBackendCategory"]
    assert codes(too_deep) == ["DEPTH_LIMIT"] and too_deep["category"] is None

    root = await create_category(gql, admin)
    await create_category(gql, admin, "同名", parent=root["id"])
    dup = (await gql.ok(CREATE, {"i": {"parentId": root["id"], "name": "同名", "commissionRate": "0.1"}},
                        token=admin))["createBackendCategory"]
    assert codes(dup) == ["DUPLICATE_NAME"] and dup["userErrors"][0]["field"] == ["input", "name"]
    other = await create_category(gql, admin)
    await create_category(gql, admin, "同名", parent=other["id"])  # fine under another parent

    for rate in ("1.5", "-0.01", "0.12345", "NaN"):
        bad = (await gql.ok(CREATE, {"i": {"name": uniq(), "commissionRate": rate}}, token=admin))
        assert codes(bad["createBackendCategory"]) == ["INVALID_RATE"], rate
    blank = (await gql.ok(CREATE, {"i": {"name": "   ", "commissionRate": "0"}}, token=admin))
    assert codes(blank["createBackendCategory"]) == ["INVALID_NAME"]
    long = (await gql.ok(CREATE, {"i": {"name": "长" * 51, "commissionRate": "0"}}, token=admin))
    assert codes(long["createBackendCategory"]) == ["INVALID_NAME"]
    assert await db.fetchval("SELECT count(*) FROM backend_categories") == before + 4


async def test_category_with_products_stays_a_leaf(gql, tokens, db):
    leaf = await create_category(gql, tokens["admin"])
    await insert_product(db, pk(leaf["id"]))
    refused = (await gql.ok(CREATE, {"i": {"parentId": leaf["id"], "name": "子类", "commissionRate": "0"}},
                            token=tokens["admin"]))["createBackendCategory"]
    assert codes(refused) == ["CATEGORY_HAS_PRODUCTS"]
    row = await db.fetchrow("SELECT is_leaf, (SELECT count(*) FROM backend_categories WHERE parent_id = $1) AS n"
                            " FROM backend_categories WHERE id = $1", pk(leaf["id"]))
    assert row["is_leaf"] is True and row["n"] == 0


async def test_bad_ids_and_permissions(gql, tokens):
    bad = (await gql.ok(CREATE, {"i": {"parentId": "garbage!", "name": "x", "commissionRate": "0"}},
                        token=tokens["admin"]))["createBackendCategory"]
    assert bad["userErrors"] == [{"field": ["input", "parentId"], "code": "INVALID_ID",
                                  "message": "not a valid BackendCategory id"}]
    wrong_type = (await gql.ok(CREATE, {"i": {"parentId": encode_id("Brand", 1), "name": "x", "commissionRate": "0"}},
                               token=tokens["admin"]))["createBackendCategory"]
    assert codes(wrong_type) == ["INVALID_ID"]
    unknown = (await gql.ok(CREATE, {"i": {"parentId": encode_id("BackendCategory", 10**9), "name": "x",
                                           "commissionRate": "0"}}, token=tokens["admin"]))["createBackendCategory"]
    assert codes(unknown) == ["NOT_FOUND"]

    variables = {"i": {"name": uniq(), "commissionRate": "0"}}
    for who, code in (("buyer", "FORBIDDEN"), ("acme", "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await gql(CREATE, variables, token=who and tokens[who])
        assert body["errors"][0]["extensions"]["code"] == code
    body = await gql(TREE, token=tokens["buyer"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    for gid, code in (("nope", "INVALID_ID"), (encode_id("BackendCategory", 10**9), "NOT_FOUND")):
        body = await gql(ONE, {"id": gid}, token=tokens["admin"])
        assert body["errors"][0]["extensions"]["code"] == code and body["data"] is None


async def test_update_renames_and_refreshes_search_text(gql, tokens, db):
    admin = tokens["admin"]
    old_name = uniq("旧名")
    root = await create_category(gql, admin, old_name)
    leaf = await create_category(gql, admin, parent=root["id"])
    sibling = await create_category(gql, admin, "兄弟", parent=root["id"])
    product = await insert_product(db, pk(leaf["id"]))
    assert old_name in await refresh_index(db, product)

    new_name = uniq("新名")
    renamed = (await gql.ok(UPDATE, {"i": {"id": root["id"], "name": new_name, "commissionRate": "0.08"}},
                            token=admin))["updateBackendCategory"]
    assert renamed["userErrors"] == [] and renamed["category"]["name"] == new_name
    assert Decimal(renamed["category"]["commissionRate"]) == Decimal("0.08")
    text = await db.fetchval("SELECT search_text FROM products WHERE id = $1", product)
    assert new_name in text and old_name not in text

    clash = (await gql.ok(UPDATE, {"i": {"id": leaf["id"], "name": sibling["name"]}}, token=admin))
    assert codes(clash["updateBackendCategory"]) == ["DUPLICATE_NAME"]
    bad_rate = (await gql.ok(UPDATE, {"i": {"id": leaf["id"], "name": "改了", "commissionRate": "2"}}, token=admin))
    assert codes(bad_rate["updateBackendCategory"]) == ["INVALID_RATE"]
    assert await db.fetchval("SELECT name FROM backend_categories WHERE id = $1", pk(leaf["id"])) == leaf["name"]
    missing = await gql.ok(UPDATE, {"i": {"id": encode_id("BackendCategory", 10**9), "sort": 1}}, token=admin)
    assert codes(missing["updateBackendCategory"]) == ["NOT_FOUND"]


# ---- attribute templates ----------------------------------------------------------------

async def create_attribute(gql, token, category_id, name, kind="SALES", values=(), **extra) -> dict:
    data = await gql.ok(CREATE_ATTRIBUTE, {"i": {"categoryId": category_id, "name": name, "kind": kind,
                                                 "values": list(values), **extra}}, token=token)
    return data["createAttribute"]


async def test_attribute_template_is_inherited_in_order(gql, tokens):
    admin = tokens["admin"]
    root = await create_category(gql, admin)
    leaf = await create_category(gql, admin, "手机", parent=root["id"])
    brand_attr = await create_attribute(gql, admin, root["id"], "产地", "NORMAL", ["中国", "美国"])
    assert brand_attr["userErrors"] == [] and brand_attr["attribute"]["kind"] == "NORMAL"
    await create_attribute(gql, admin, leaf["id"], "内存", "SALES", ["128GB", "256GB"], sort=2)
    await create_attribute(gql, admin, leaf["id"], "颜色", "SALES", ["黑色", "白色"], sort=1, filterable=True)

    got = (await gql.ok(ONE, {"id": leaf["id"]}, token=tokens["acme"]))["backendCategory"]
    assert [p["name"] for p in got["path"]] == [root["name"], "手机"]
    assert [a["name"] for a in got["attributes"]] == ["产地", "颜色", "内存"]
    assert got["attributes"][1] == {"name": "颜色", "kind": "SALES", "filterable": True, "required": False,
                                    "values": [{"value": "黑色", "sort": 0}, {"value": "白色", "sort": 1}]}
    own_root = (await gql.ok(ONE, {"id": root["id"]}, token=admin))["backendCategory"]
    assert [a["name"] for a in own_root["attributes"]] == ["产地"] and own_root["children"] == [{"name": "手机"}]


async def test_attribute_names_and_values_are_unique(gql, tokens, db):
    admin = tokens["admin"]
    root = await create_category(gql, admin)
    leaf = await create_category(gql, admin, parent=root["id"])
    await create_attribute(gql, admin, root["id"], "材质")
    await create_attribute(gql, admin, leaf["id"], "尺码")
    before = await db.fetchval("SELECT count(*) FROM attributes")

    inherited = await create_attribute(gql, admin, leaf["id"], "材质")
    assert codes(inherited) == ["DUPLICATE_NAME"]
    below = await create_attribute(gql, admin, root["id"], "尺码")
    assert codes(below) == ["DUPLICATE_NAME"]
    same = await create_attribute(gql, admin, leaf["id"], "尺码")
    assert codes(same) == ["DUPLICATE_NAME"]
    twice = await create_attribute(gql, admin, leaf["id"], "颜色", values=["红", "蓝", "红"])
    assert twice["userErrors"][0]["code"] == "DUPLICATE_VALUE"
    assert twice["userErrors"][0]["field"] == ["input", "values", "2"]
    empty_value = await create_attribute(gql, admin, leaf["id"], "颜色", values=["红", " "])
    assert codes(empty_value) == ["INVALID_VALUE"]
    too_many = await create_attribute(gql, admin, leaf["id"], "颜色", values=[f"v{i}" for i in range(201)])
    assert codes(too_many) == ["TOO_MANY"]
    assert await db.fetchval("SELECT count(*) FROM attributes") == before

    colour = await create_attribute(gql, admin, leaf["id"], "颜色", values=["红"])
    attr_id = colour["attribute"]["id"]
    dup = (await gql.ok(ADD_VALUES, {"i": {"attributeId": attr_id, "values": ["蓝", "红"]}},
                        token=admin))["addAttributeValues"]
    assert dup["userErrors"] == [{"field": ["input", "values", "1"], "code": "DUPLICATE_VALUE",
                                  "message": "'红' is already a value"}]
    added = (await gql.ok(ADD_VALUES, {"i": {"attributeId": attr_id, "values": ["蓝", "绿"]}},
                          token=admin))["addAttributeValues"]
    assert added["attribute"]["values"] == [{"value": "红", "sort": 0}, {"value": "蓝", "sort": 1},
                                            {"value": "绿", "sort": 2}]
    missing = await gql.ok(ADD_VALUES, {"i": {"attributeId": encode_id("Attribute", 10**9), "values": ["x"]}},
                           token=admin)
    assert codes(missing["addAttributeValues"]) == ["NOT_FOUND"]
    body = await gql(ADD_VALUES, {"i": {"attributeId": attr_id, "values": ["x"]}}, token=tokens["lumen"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad_kind = await gql(CREATE_ATTRIBUTE, {"i": {"categoryId": leaf["id"], "name": "y", "kind": "OTHER"}},
                         token=admin)
    assert "errors" in bad_kind and bad_kind["errors"][0]["message"] != "Unexpected error."


# ---- commission -------------------------------------------------------------------------

def test_nearest_override_rule():
    assert nearest_override(Decimal("0.05"), [None, None]) == Decimal("0.05")
    assert nearest_override(Decimal("0.05"), [None, Decimal("0.01"), Decimal("0.02")]) == Decimal("0.01")
    assert nearest_override(Decimal("0.05"), [Decimal("0"), Decimal("0.02")]) == Decimal("0")


async def test_effective_commission_rate_walks_up_the_tree(gql, tokens, db):
    admin = tokens["admin"]
    root = await create_category(gql, admin, rate="0.05")
    mid = await create_category(gql, admin, parent=root["id"], rate="0.03")
    leaf = await create_category(gql, admin, parent=mid["id"], rate="0.02")
    acme, lumen = encode_id("Merchant", 2), encode_id("Merchant", 3)

    async def rate(merchant: int, category: dict) -> Decimal:
        async with db.transaction() as conn:
            return await effective_commission_rate(conn, merchant, pk(category["id"]))

    assert await rate(2, leaf) == Decimal("0.02")  # no override: the category's own rate
    set_root = (await gql.ok(SET_RATE, {"i": {"merchantId": acme, "categoryId": root["id"], "rate": "0.01"}},
                             token=admin))["setMerchantCommissionRate"]
    assert set_root == {"effectiveRate": "0.0100", "userErrors": []}
    assert await rate(2, leaf) == Decimal("0.01")  # nearest override is the root's
    await gql.ok(SET_RATE, {"i": {"merchantId": acme, "categoryId": mid["id"], "rate": "0.04"}}, token=admin)
    assert await rate(2, leaf) == Decimal("0.04") and await rate(2, root) == Decimal("0.01")
    assert await rate(3, leaf) == Decimal("0.02")  # other merchants keep the category's rate
    removed = (await gql.ok(SET_RATE, {"i": {"merchantId": acme, "categoryId": mid["id"], "rate": None}},
                            token=admin))["setMerchantCommissionRate"]
    assert Decimal(removed["effectiveRate"]) == Decimal("0.01") and await rate(2, leaf) == Decimal("0.01")

    seen = await gql.ok(EFFECTIVE, {"m": acme, "c": leaf["id"]}, token=tokens["acme"])
    assert Decimal(seen["effectiveCommissionRate"]) == Decimal("0.01")
    hidden = await gql(EFFECTIVE, {"m": lumen, "c": leaf["id"]}, token=tokens["acme"])
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    for variables, code in (
            ({"merchantId": encode_id("Merchant", 999), "categoryId": leaf["id"], "rate": "0.1"}, "NOT_FOUND"),
            ({"merchantId": acme, "categoryId": encode_id("BackendCategory", 10**9), "rate": "0.1"}, "NOT_FOUND"),
            ({"merchantId": acme, "categoryId": leaf["id"], "rate": "1.01"}, "INVALID_RATE"),
            ({"merchantId": "x", "categoryId": leaf["id"], "rate": "0.1"}, "INVALID_ID")):
        out = (await gql.ok(SET_RATE, {"i": variables}, token=admin))["setMerchantCommissionRate"]
        assert codes(out) == [code] and out["effectiveRate"] is None
    body = await gql(SET_RATE, {"i": {"merchantId": acme, "categoryId": leaf["id"], "rate": "0"}},
                     token=tokens["acme"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await rate(2, leaf) == Decimal("0.01")


# ---- frontend categories ----------------------------------------------------------------

async def create_front(gql, token, name=None, parent=None, icon=None) -> dict:
    out = (await gql.ok(CREATE_FRONT, {"i": {"name": name or uniq("前台"), "parentId": parent, "iconUrl": icon}},
                        token=token))["createFrontendCategory"]
    assert out["userErrors"] == [], out["userErrors"]
    return out["category"]


async def test_frontend_tree_is_public_with_mappings(gql, tokens):
    admin = tokens["admin"]
    leaf_a = await create_category(gql, admin, parent=(await create_category(gql, admin))["id"])
    leaf_b = await create_category(gql, admin)
    top = await create_front(gql, admin, icon="https://img.example.com/top.png")
    child = await create_front(gql, admin, "手机", parent=top["id"])
    mapped = (await gql.ok(MAP_FRONT, {"i": {"frontendCategoryId": child["id"],
                                             "backendCategoryIds": [leaf_b["id"], leaf_a["id"]]}},
                           token=admin))["setFrontendCategoryMappings"]
    assert mapped["userErrors"] == [] and set(mapped["category"]["backendCategoryIds"]) == {leaf_a["id"], leaf_b["id"]}

    tree = (await gql.ok(FRONT_TREE))["frontendCategories"]  # anonymous
    node = next(n for n in tree if n["id"] == top["id"])
    assert node["backendCategoryIds"] == []
    assert node["children"][0]["name"] == "手机"
    assert set(node["children"][0]["backendCategoryIds"]) == {leaf_a["id"], leaf_b["id"]}
    nested = gql.last_response.headers["x-sql-statements"]
    await gql.ok("{ frontendCategories { id } }")
    assert nested == gql.last_response.headers["x-sql-statements"]  # children and mappings come primed


async def test_frontend_mapping_and_rename_refresh_search_text(gql, tokens, db):
    admin = tokens["admin"]
    leaf = await create_category(gql, admin)
    other = await create_category(gql, admin)
    product = await insert_product(db, pk(leaf["id"]))
    old, new = uniq("潮流穿搭"), uniq("时尚穿搭")
    front = await create_front(gql, admin, old)
    await gql.ok(MAP_FRONT, {"i": {"frontendCategoryId": front["id"], "backendCategoryIds": [leaf["id"]]}},
                 token=admin)
    assert old in await db.fetchval("SELECT search_text FROM products WHERE id = $1", product)
    await gql.ok(UPDATE_FRONT, {"i": {"id": front["id"], "name": new}}, token=admin)
    text = await db.fetchval("SELECT search_text FROM products WHERE id = $1", product)
    assert new in text and old not in text
    await gql.ok(MAP_FRONT, {"i": {"frontendCategoryId": front["id"], "backendCategoryIds": [other["id"]]}},
                 token=admin)
    assert new not in await db.fetchval("SELECT search_text FROM products WHERE id = $1", product)


async def test_frontend_bad_input_and_delete(gql, tokens, db):
    admin = tokens["admin"]
    parent_backend = await create_category(gql, admin)
    leaf = await create_category(gql, admin, parent=parent_backend["id"])
    top = await create_front(gql, admin)
    child = await create_front(gql, admin, parent=top["id"])
    await gql.ok(MAP_FRONT, {"i": {"frontendCategoryId": child["id"], "backendCategoryIds": [leaf["id"]]}},
                 token=admin)

    bad = (await gql.ok(MAP_FRONT, {"i": {"frontendCategoryId": child["id"], "backendCategoryIds": [
        leaf["id"], parent_backend["id"], encode_id("BackendCategory", 10**9)]}}, token=admin))
    errors = bad["setFrontendCategoryMappings"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("NOT_LEAF_CATEGORY", ["input", "backendCategoryIds", "1"]),
        ("NOT_FOUND", ["input", "backendCategoryIds", "2"])]
    twice = await gql.ok(MAP_FRONT, {"i": {"frontendCategoryId": child["id"],
                                           "backendCategoryIds": [leaf["id"], leaf["id"]]}}, token=admin)
    assert codes(twice["setFrontendCategoryMappings"]) == ["DUPLICATE_VALUE"]
    malformed = await gql.ok(MAP_FRONT, {"i": {"frontendCategoryId": child["id"], "backendCategoryIds": ["??"]}},
                             token=admin)
    assert malformed["setFrontendCategoryMappings"]["userErrors"][0]["field"] == ["input", "backendCategoryIds", "0"]
    assert await db.fetchval("SELECT array_agg(backend_category_id) FROM frontend_category_mappings"
                             " WHERE frontend_category_id = $1", pk(child["id"])) == [pk(leaf["id"])]

    dup = await gql.ok(CREATE_FRONT, {"i": {"name": child["name"], "parentId": top["id"]}}, token=admin)
    assert codes(dup["createFrontendCategory"]) == ["DUPLICATE_NAME"]
    bad_icon = await gql.ok(CREATE_FRONT, {"i": {"name": uniq(), "iconUrl": "javascript:alert(1)"}}, token=admin)
    assert codes(bad_icon["createFrontendCategory"]) == ["INVALID_URL"]
    cleared = await gql.ok(UPDATE_FRONT, {"i": {"id": top["id"], "iconUrl": ""}}, token=admin)
    assert cleared["updateFrontendCategory"]["category"]["iconUrl"] is None

    refused = (await gql.ok(DELETE_FRONT, {"i": {"id": top["id"]}}, token=admin))["deleteFrontendCategory"]
    assert codes(refused) == ["HAS_CHILDREN"] and refused["deletedId"] is None
    gone = (await gql.ok(DELETE_FRONT, {"i": {"id": child["id"]}}, token=admin))["deleteFrontendCategory"]
    assert gone == {"deletedId": child["id"], "userErrors": []}
    assert await db.fetchval("SELECT count(*) FROM frontend_category_mappings WHERE frontend_category_id = $1",
                             pk(child["id"])) == 0
    again = await gql.ok(DELETE_FRONT, {"i": {"id": child["id"]}}, token=admin)
    assert codes(again["deleteFrontendCategory"]) == ["NOT_FOUND"]
    body = await gql(DELETE_FRONT, {"i": {"id": top["id"]}}, token=tokens["buyer"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_frontend_depth_limit(gql, tokens):
    parent = None
    for _ in range(5):
        parent = await create_front(gql, tokens["admin"], parent=parent and parent["id"])
    deeper = await gql.ok(CREATE_FRONT, {"i": {"name": "x", "parentId": parent["id"]}}, token=tokens["admin"])
    assert codes(deeper["createFrontendCategory"]) == ["DEPTH_LIMIT"]
