"""Product detail: every field, the SKU matrix with stock, and who may see what."""

import pytest

from app.ids import encode_id
from tests.catalog.test_browse import Catalog, build_catalog

DETAIL = """query($id: ID!) { product(id: $id) {
  id title subtitle description status fulfillmentType merchantId minPrice maxPrice salesCount
  listedAt createdAt rejectReason ratingAverage ratingCount stockState
  brand { id nameZh nameEn }
  backendCategory { id name }
  frontendCategories { id name }
  images { url sort }
  attributes { attributeId name kind valueId value }
  salesAttributes { attributeId name values { id value imageUrl } }
  skus { id code specLabel specValueIds price listPrice memberPrice memberLevel weightGrams imageUrl
         purchaseLimit status available stockState
         stock { skuId onHand reserved available warehouse { id name } } }
} }"""


@pytest.fixture(scope="module")
async def catalog(db, tokens) -> Catalog:
    return await build_catalog(db)


async def detail(gql, catalog, key, token=None):
    return await gql(DETAIL, {"id": catalog.gid(key)}, token=token)


async def test_listed_product_detail_for_a_buyer(gql, catalog, tokens):
    body = await detail(gql, catalog, "x1", tokens["buyer"])
    assert "errors" not in body, body
    p = body["data"]["product"]
    assert p["title"] == "星辰手机 X1 量子版" and p["status"] == "LISTED" and p["fulfillmentType"] == "MERCHANT"
    assert p["merchantId"] == encode_id("Merchant", 2)
    assert (p["minPrice"], p["maxPrice"], p["salesCount"]) == (299900, 359900, 100)
    assert p["ratingAverage"] == 4.5 and p["ratingCount"] == 2
    assert p["brand"]["nameEn"] == "Xingchen" and p["backendCategory"]["name"] == "量子手机"
    assert [f["name"] for f in p["frontendCategories"]] == ["量子手机馆"]
    assert [i["sort"] for i in p["images"]] == [0, 1]
    assert [(a["name"], a["kind"], a["value"]) for a in p["attributes"]] == [
        ("屏幕", "KEY", "6.1寸"), ("产地", "NORMAL", "量子陶瓷")]
    assert p["attributes"][1]["valueId"] is None
    assert [(a["name"], [v["value"] for v in a["values"]]) for a in p["salesAttributes"]] == [
        ("颜色", ["黑色", "白色"]), ("内存", ["128GB", "256GB"])]
    assert p["salesAttributes"][0]["values"][0]["imageUrl"].endswith("/x1/黑色.jpg")
    skus = {s["code"]: s for s in p["skus"]}
    assert skus["ZQX-X1-B128"]["available"] == 10 and skus["ZQX-X1-B128"]["stockState"] == "IN_STOCK"
    assert skus["ZQX-X1-W256"]["available"] == 0 and skus["ZQX-X1-W256"]["stockState"] == "OUT_OF_STOCK"
    assert skus["ZQX-X1-B128"]["specLabel"] == "黑色 / 128GB"
    assert skus["ZQX-X1-B128"]["specValueIds"] == [encode_id("AttributeValue", catalog.value[v])
                                                   for v in ("黑色", "128GB")]
    assert all(s["stock"] is None for s in p["skus"])          # warehouses are the merchant's business
    assert p["stockState"] == "IN_STOCK"


async def test_buyers_see_only_active_skus_and_stock_from_the_merchants_active_warehouses(gql, catalog, tokens):
    p = (await gql.ok(DETAIL, {"id": catalog.gid("pro")}, token=tokens["buyer"]))["product"]
    assert [s["code"] for s in p["skus"]] == ["ZQX-PRO-B256"]
    assert p["skus"][0]["available"] == 3 and p["skus"][0]["stockState"] == "LOW_STOCK"
    assert p["stockState"] == "LOW_STOCK"
    assert p["brand"]["nameEn"] == "Zorbit"
    mini = (await gql.ok(DETAIL, {"id": catalog.gid("mini")}))["product"]
    assert mini["stockState"] == "OUT_OF_STOCK" and mini["skus"][0]["available"] == 0


async def test_owner_and_admin_see_disabled_skus_and_stock_per_warehouse(gql, catalog, tokens):
    for who in ("acme", "admin"):
        p = (await gql.ok(DETAIL, {"id": catalog.gid("pro")}, token=tokens[who]))["product"]
        skus = {s["code"]: s for s in p["skus"]}
        assert skus["ZQX-PRO-W128"]["status"] == "DISABLED"
        stock = skus["ZQX-PRO-B256"]["stock"]
        assert [(s["warehouse"]["name"], s["onHand"], s["available"]) for s in stock] == [
            ("Acme 量子仓", 3, 3), ("Acme 旧仓", 50, 50)]
    other = (await gql.ok(DETAIL, {"id": catalog.gid("pro")}, token=tokens["lumen"]))["product"]
    assert [s["code"] for s in other["skus"]] == ["ZQX-PRO-B256"] and other["skus"][0]["stock"] is None


@pytest.mark.parametrize("key", ["draft", "delisted"])
async def test_unlisted_product_is_visible_to_its_owner_and_admins_only(gql, catalog, tokens, key):
    owner = "acme" if key == "draft" else "lumen"
    stranger = "lumen" if key == "draft" else "acme"
    for who in (owner, "admin"):
        p = (await gql.ok(DETAIL, {"id": catalog.gid(key)}, token=tokens[who]))["product"]
        assert p["status"] == PRODUCT_STATUS[key]
    for token in (tokens["buyer"], tokens[stranger], None):
        body = await detail(gql, catalog, key, token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert body["errors"][0]["message"] == "product not found"


PRODUCT_STATUS = {"draft": "DRAFT", "delisted": "DELISTED"}


async def test_unknown_looks_like_invisible(gql, catalog):
    body = await gql(DETAIL, {"id": encode_id("Product", 10**12)})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("bad_id", ["", "abc", encode_id("Sku", 1), "UHJvZHVjdDotMQ", "x" * 100])
async def test_malformed_id_is_invalid_id(gql, catalog, bad_id):
    body = await gql(DETAIL, {"id": bad_id})
    assert gql.last_response.status_code == 200
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "INVALID_ID"


async def test_draft_is_not_searchable_even_by_its_owner(gql, catalog, tokens):
    data = await gql.ok("{ products(search: \"zorbit draft\") { edges { node { id } } } }", token=tokens["acme"])
    assert data["products"]["edges"] == []
