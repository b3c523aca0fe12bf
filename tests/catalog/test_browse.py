"""Buyer search: keywords (Chinese and English), filters, sorts with keyset pagination, facets,
bad arguments. The catalog is inserted with SQL so that only the read side is under test; its
names carry "zqx"/"量子" so the demo data of the same database never matches.
"""

from dataclasses import dataclass, field

import pytest

from app.catalog.index import refresh_product_index
from app.ids import decode_id, encode_id

# (code, sales values, price, [(warehouse key, on_hand, reserved)], status)
PRODUCTS = {
    # key: (merchant, category, brand, title, status, sales, listed minutes ago, key attrs, skus)
    "x1": (2, "phone", "xingchen", "星辰手机 X1 量子版", "LISTED", 100, 50, ["6.1寸"],
           [("ZQX-X1-B128", ["黑色", "128GB"], 299900, [("acme", 10, 0)], "ACTIVE"),
            ("ZQX-X1-W256", ["白色", "256GB"], 359900, [("acme", 4, 4)], "ACTIVE")]),
    "pro": (2, "phone", "zorbit", "Zorbit Phone Pro zqx", "LISTED", 50, 40, ["6.7寸"],
            [("ZQX-PRO-B256", ["黑色", "256GB"], 499900, [("acme", 3, 0), ("acme_closed", 50, 0),
                                                         ("lumen", 50, 0)], "ACTIVE"),
             ("ZQX-PRO-W128", ["白色", "128GB"], 459900, [("acme", 9, 0)], "DISABLED")]),
    "mini": (3, "phone", "zorbit", "Zorbit Mini 量子 zqx", "LISTED", 50, 30, ["6.1寸"],
             [("ZQX-MINI-W128", ["白色", "128GB"], 199900, [], "ACTIVE")]),
    "case": (3, "case", "zorbit", "Zorbit phone case zqx", "LISTED", 200, 20, [],
             [("ZQX-CASE", [], 9900, [("lumen", 2, 2)], "ACTIVE")]),
    "shell": (1, "case", "xingchen", "星辰 保护壳 zqx", "LISTED", 0, 10, [],
              [("ZQX-SHELL", [], 4900, [("platform", 100, 1)], "ACTIVE")]),
    "draft": (2, "phone", "zorbit", "Zorbit Draft zqx", "DRAFT", 0, None, ["6.7寸"],
              [("ZQX-DRAFT", ["黑色", "128GB"], 100000, [("acme", 5, 0)], "ACTIVE")]),
    "delisted": (3, "case", None, "Delisted case zqx", "DELISTED", 0, 60, [],
                 [("ZQX-DELISTED", [], 5000, [("lumen", 5, 0)], "ACTIVE")]),
} | {
    # fillers with repeated prices, sales and listing times to exercise the id tie-breaks
    f"filler{i}": (1, "case", "zorbit" if i % 2 else None, f"Filler accessory zqx {i}", "LISTED", i % 3,
                   i % 4 + 1, [], [(f"ZQX-FILL-{i}", [], 1000 * (i % 5 + 1), [("platform", i % 2, 0)], "ACTIVE")])
    for i in range(14)
}


@dataclass
class Catalog:
    product: dict[str, int] = field(default_factory=dict)
    brand: dict[str, int] = field(default_factory=dict)
    frontend: dict[str, int] = field(default_factory=dict)
    value: dict[str, int] = field(default_factory=dict)
    attribute: dict[str, int] = field(default_factory=dict)
    sku: dict[str, int] = field(default_factory=dict)

    def gid(self, key: str) -> str:
        return encode_id("Product", self.product[key])

    def keys_of(self, gids: list[str]) -> list[str]:
        by_pk = {pk: key for key, pk in self.product.items()}
        return [by_pk.get(decode_id("Product", g), "?") for g in gids]


async def build_catalog(db) -> Catalog:
    """Categories, brands, attributes, warehouses and the PRODUCTS above, indexed for search."""
    c = Catalog()
    async with db.transaction() as conn:
        async def one(sql, *args):
            return await conn.fetchval(sql + " RETURNING id", *args)

        root = await one("INSERT INTO backend_categories (name, is_leaf) VALUES ('量子电子 zqx', false)")
        bcat = {"phone": await one("INSERT INTO backend_categories (parent_id, name, depth) VALUES ($1, '量子手机', 2)",
                                   root),
                "case": await one("INSERT INTO backend_categories (parent_id, name, depth) VALUES ($1, '量子配件', 2)",
                                  root)}
        c.frontend["digital"] = await one("INSERT INTO frontend_categories (name) VALUES ('量子数码')")
        c.frontend["phones"] = await one("INSERT INTO frontend_categories (parent_id, name) VALUES ($1, '量子手机馆')",
                                         c.frontend["digital"])
        c.frontend["empty"] = await one("INSERT INTO frontend_categories (name) VALUES ('量子空')")
        await conn.executemany("INSERT INTO frontend_category_mappings VALUES ($1, $2)",
                               [(c.frontend["phones"], bcat["phone"]), (c.frontend["digital"], bcat["case"])])
        c.brand["xingchen"] = await one("INSERT INTO brands (name_zh, name_en) VALUES ('星辰量子', 'Xingchen')")
        c.brand["zorbit"] = await one("INSERT INTO brands (name_zh, name_en) VALUES ('佐比特量子', 'Zorbit')")
        for name, kind, filterable, sort in (("颜色", "SALES", True, 1), ("内存", "SALES", True, 2),
                                             ("屏幕", "KEY", True, 3), ("产地", "NORMAL", False, 4)):
            c.attribute[name] = await one("INSERT INTO attributes (category_id, name, kind, filterable, sort)"
                                          " VALUES ($1, $2, $3, $4, $5)", root, name, kind, filterable, sort)
        for attr, values in (("颜色", ["黑色", "白色"]), ("内存", ["128GB", "256GB"]), ("屏幕", ["6.1寸", "6.7寸"]),
                             ("产地", ["深圳"])):
            for i, v in enumerate(values):
                c.value[v] = await one("INSERT INTO attribute_values (attribute_id, value, sort) VALUES ($1, $2, $3)",
                                       c.attribute[attr], v, i)
        warehouse = {key: await one("INSERT INTO warehouses (merchant_id, name, active, priority)"
                                    " VALUES ($1, $2, $3, $4)", m, name, active, prio)
                     for key, m, name, active, prio in (("platform", 1, "量子自营仓", True, 0),
                                                        ("acme", 2, "Acme 量子仓", True, 5),
                                                        ("acme_closed", 2, "Acme 旧仓", False, 0),
                                                        ("lumen", 3, "Lumen 量子仓", True, 0))}
        for key, (merchant, cat, brand, title, status, sales, ago, key_attrs, skus) in PRODUCTS.items():
            pid = await one(
                "INSERT INTO products (merchant_id, category_id, brand_id, title, subtitle, description,"
                " fulfillment_type, status, sales_count, listed_at, rating_sum, rating_count)"
                " VALUES ($1, $2, $3, $4, '量子副标题', '<p>详情</p>', 'MERCHANT', $5, $6,"
                " CASE WHEN $7::int IS NULL THEN NULL ELSE now() - make_interval(mins => $7::int) END, 9, 2)",
                merchant, bcat[cat], c.brand.get(brand), title, status, sales, ago)
            c.product[key] = pid
            await conn.executemany("INSERT INTO product_images (product_id, url, sort) VALUES ($1, $2, $3)",
                                   [(pid, f"https://img.example/{key}/{i}.jpg", i) for i in (1, 0)])
            for v in key_attrs:
                await conn.execute("INSERT INTO product_attributes (product_id, attribute_id, value_id)"
                                   " VALUES ($1, $2, $3)", pid, c.attribute["屏幕"], c.value[v])
            await conn.execute("INSERT INTO product_attributes (product_id, attribute_id, text_value)"
                               " VALUES ($1, $2, '量子陶瓷')", pid, c.attribute["产地"])
            offered = sorted({v for _, values, *_ in skus for v in values}, key=lambda v: c.value[v])
            for v in offered:
                attr = "颜色" if v.endswith("色") else "内存"
                await conn.execute(
                    "INSERT INTO product_sales_values (product_id, attribute_id, value_id, image_url, sort)"
                    " VALUES ($1, $2, $3, $4, $5)", pid, c.attribute[attr], c.value[v],
                    f"https://img.example/{key}/{v}.jpg" if attr == "颜色" else None, c.value[v])
            for code, values, price, stock, sku_status in skus:
                sid = await one(
                    "INSERT INTO skus (product_id, merchant_id, code, spec_value_ids, spec_label, price, status)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7)", pid, merchant, code,
                    sorted(c.value[v] for v in values), " / ".join(values), price, sku_status)
                c.sku[code] = sid
                await conn.executemany("INSERT INTO stock (sku_id, warehouse_id, on_hand, reserved)"
                                       " VALUES ($1, $2, $3, $4)",
                                       [(sid, warehouse[w], on_hand, reserved) for w, on_hand, reserved in stock])
        await refresh_product_index(conn, list(c.product.values()))
    return c


@pytest.fixture(scope="module")
async def catalog(db, tokens) -> Catalog:
    return await build_catalog(db)


SEARCH = """query($search: String, $fc: ID, $brands: [ID!], $values: [ID!], $min: Money, $max: Money,
  $inStock: Boolean, $sort: ProductSort = RELEVANCE, $first: Int = 20, $after: String) {
  products(search: $search, frontendCategoryId: $fc, brandIds: $brands, attributeValueIds: $values,
           priceMin: $min, priceMax: $max, inStock: $inStock, sort: $sort, first: $first, after: $after) {
    edges { cursor node { id title minPrice maxPrice salesCount } }
    pageInfo { hasNextPage endCursor }
    totalCount
  } }"""


async def search(gql, catalog, token=None, **variables) -> tuple[list[str], dict]:
    """Keys of the matching products in order (scoped to this catalog by 'zqx'), and the connection."""
    variables.setdefault("search", "zqx")
    data = await gql.ok(SEARCH, variables, token=token)
    conn = data["products"]
    return catalog.keys_of([e["node"]["id"] for e in conn["edges"]]), conn


LISTED = {k for k, v in PRODUCTS.items() if v[4] == "LISTED"}


async def test_english_keyword_search_ranks_title_matches_first(gql, catalog, tokens):
    keys, conn = await search(gql, catalog, tokens["buyer"], search="zorbit phone")
    # "phone" also matches the category path of every phone ("量子手机" is not English): title matches only
    assert set(keys) == {"pro", "case"}
    assert keys == ["case", "pro"]          # both titles match; then sales
    assert conn["totalCount"] == 2
    keys, _ = await search(gql, catalog, search="ZORBIT")
    assert set(keys) == {"pro", "mini", "case"} | {f"filler{i}" for i in range(1, 14, 2)}


async def test_chinese_keyword_search_over_title_brand_and_category(gql, catalog, tokens):
    by_title, _ = await search(gql, catalog, tokens["buyer"], search="星辰手机")
    assert by_title == ["x1"]
    by_brand, _ = await search(gql, catalog, search="星辰量子")       # brand name_zh, not in any title
    assert set(by_brand) == {"x1", "shell"}
    by_category, _ = await search(gql, catalog, search="量子手机")    # backend category name
    assert by_category == ["x1", "mini", "pro"]  # no title matches; sales, then newer id
    nothing, conn = await search(gql, catalog, search="不存在的东西")
    assert nothing == [] and conn["totalCount"] == 0


async def test_search_escapes_like_wildcards(gql, catalog):
    assert (await search(gql, catalog, search="%"))[0] == []
    assert (await search(gql, catalog, search="z_x"))[0] == []


async def test_word_with_no_substring_match_falls_back_to_similarity(gql, catalog):
    keys, _ = await search(gql, catalog, search="zorbitt")
    assert {"pro", "mini", "case"} <= set(keys)


async def test_frontend_category_covers_descendants_mappings(gql, catalog):
    phones, _ = await search(gql, catalog, fc=encode_id("FrontendCategory", catalog.frontend["phones"]))
    assert set(phones) == {"x1", "pro", "mini"}
    everything, _ = await search(gql, catalog, fc=encode_id("FrontendCategory", catalog.frontend["digital"]),
                                 first=100)
    assert set(everything) == LISTED
    empty, _ = await search(gql, catalog, fc=encode_id("FrontendCategory", catalog.frontend["empty"]))
    assert empty == []


async def test_brand_filter(gql, catalog):
    keys, _ = await search(gql, catalog, brands=[encode_id("Brand", catalog.brand["xingchen"])])
    assert set(keys) == {"x1", "shell"}
    both, _ = await search(gql, catalog, first=100, brands=[encode_id("Brand", b) for b in catalog.brand.values()])
    assert set(both) == LISTED - {f"filler{i}" for i in range(0, 14, 2)}


async def test_attribute_values_or_within_and_across_attributes(gql, catalog):
    v = {k: encode_id("AttributeValue", pk) for k, pk in catalog.value.items()}
    black, _ = await search(gql, catalog, values=[v["黑色"]])
    assert set(black) == {"x1", "pro"}
    black_or_white, _ = await search(gql, catalog, values=[v["黑色"], v["白色"]])
    assert set(black_or_white) == {"x1", "pro", "mini"}     # pro's white SKU is disabled: black only
    white_128, _ = await search(gql, catalog, values=[v["白色"], v["128GB"]])
    assert set(white_128) == {"x1", "mini"}   # per product: x1 offers white (256GB) and 128GB (black)
    screen, _ = await search(gql, catalog, values=[v["6.1寸"], v["黑色"], v["白色"]])
    assert set(screen) == {"x1", "mini"}
    unknown, _ = await search(gql, catalog, values=[encode_id("AttributeValue", 10**12)])
    assert unknown == []


async def test_price_range_overlaps_the_sku_price_range(gql, catalog):
    keys, _ = await search(gql, catalog, min=300000, max=400000)
    assert set(keys) == {"x1"}                 # 299900..359900 overlaps; pro is 499900 (white is disabled)
    cheap, _ = await search(gql, catalog, max=4900, first=100)
    assert set(cheap) == {"shell"} | {f"filler{i}" for i in range(14) if i % 5 != 4}
    exact, _ = await search(gql, catalog, min=499900, max=499900)
    assert exact == ["pro"]


async def test_in_stock_counts_active_skus_in_the_merchants_active_warehouses(gql, catalog, tokens):
    keys, _ = await search(gql, catalog, inStock=True, first=100)
    # case: all reserved; pro: its 50 in another merchant's / a closed warehouse do not count, 3 do;
    # mini: no stock row; odd fillers have one unit
    assert set(keys) == {"x1", "pro", "shell"} | {f"filler{i}" for i in range(1, 14, 2)}
    no_filter, _ = await search(gql, catalog, inStock=False, first=100)
    assert set(no_filter) == LISTED


SORT_EXPECTATIONS = {
    "PRICE_ASC": lambda p: (min(s[2] for s in p[8] if s[4] == "ACTIVE"),),
    "PRICE_DESC": lambda p: (-min(s[2] for s in p[8] if s[4] == "ACTIVE"),),
    "SALES": lambda p: (-p[5],),
    "NEWEST": lambda p: (p[6],),
}


@pytest.mark.parametrize("sort", ["RELEVANCE", "PRICE_ASC", "PRICE_DESC", "SALES", "NEWEST"])
async def test_every_sort_pages_without_gaps_or_duplicates(gql, catalog, sort):
    everything, _ = await search(gql, catalog, sort=sort, first=100)
    seen, after, pages = [], None, 0
    while True:
        keys, conn = await search(gql, catalog, sort=sort, first=4, after=after)
        seen += keys
        pages += 1
        assert conn["totalCount"] == len(LISTED)
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        assert after == conn["edges"][-1]["cursor"]
    assert seen == everything and len(seen) == len(set(seen)) == len(LISTED)
    assert pages == -(-len(LISTED) // 4)
    if sort in SORT_EXPECTATIONS:
        tie_break = 1 if sort == "PRICE_ASC" else -1    # equal keys: ascending id, or descending
        expected = sorted(LISTED, key=lambda k: (*SORT_EXPECTATIONS[sort](PRODUCTS[k]),
                                                 tie_break * catalog.product[k]))
        assert seen == expected
    assert (await search(gql, catalog, sort=sort, first=4, after=after))[0] == keys   # stable


async def test_relevance_cursor_pages_without_gaps(gql, catalog):
    first_page, conn = await search(gql, catalog, search="zorbit", first=2)
    rest, _ = await search(gql, catalog, search="zorbit", first=100, after=conn["pageInfo"]["endCursor"])
    everything, _ = await search(gql, catalog, search="zorbit", first=100)
    assert first_page + rest == everything


FACETS = """query($search: String, $brands: [ID!], $values: [ID!], $min: Money, $max: Money, $inStock: Boolean) {
  products(search: $search, brandIds: $brands, attributeValueIds: $values, priceMin: $min, priceMax: $max,
           inStock: $inStock, first: 1) {
    totalCount
    facets { brands { brand { id nameZh } count }
             attributes { attribute { id name } values { value { id value } count } }
             priceRange { min max } inStockCount } } }"""


def _facet_counts(facets) -> dict:
    return {
        "brands": {b["brand"]["nameZh"]: b["count"] for b in facets["brands"]},
        "attributes": {a["attribute"]["name"]: {v["value"]["value"]: v["count"] for v in a["values"]}
                       for a in facets["attributes"]},
        "price": (facets["priceRange"]["min"], facets["priceRange"]["max"]),
        "in_stock": facets["inStockCount"],
    }


async def test_facets_count_the_whole_result(gql, catalog):
    data = await gql.ok(FACETS, {"search": "zqx"})
    got = _facet_counts(data["products"]["facets"])
    assert got["brands"] == {"佐比特量子": 10, "星辰量子": 2}
    # filterable only (产地 is not); pro's disabled white/128 SKU adds no value
    assert got["attributes"] == {"颜色": {"黑色": 2, "白色": 2}, "内存": {"128GB": 2, "256GB": 2},
                                 "屏幕": {"6.1寸": 2, "6.7寸": 1}}
    assert got["price"] == (1000, 499900)
    assert got["in_stock"] == 10
    assert data["products"]["totalCount"] == len(LISTED)


async def test_each_facet_group_ignores_its_own_filter(gql, catalog):
    v = {k: encode_id("AttributeValue", pk) for k, pk in catalog.value.items()}
    data = await gql.ok(FACETS, {"search": "zqx", "brands": [encode_id("Brand", catalog.brand["zorbit"])],
                                 "values": [v["黑色"]], "inStock": True})
    assert data["products"]["totalCount"] == 1   # pro
    got = _facet_counts(data["products"]["facets"])
    # brands: black and in stock, any brand → x1 (星辰) and pro (佐比特)
    assert got["brands"] == {"星辰量子": 1, "佐比特量子": 1}
    # colour: zorbit and in stock, any colour → pro (black); mini has no stock
    # memory/screen: zorbit, black, in stock → pro
    assert got["attributes"] == {"颜色": {"黑色": 1}, "内存": {"256GB": 1}, "屏幕": {"6.7寸": 1}}
    # in stock: zorbit and black, ignoring stock → pro
    assert got["in_stock"] == 1
    assert got["price"] == (499900, 499900)
    priced = await gql.ok(FACETS, {"search": "zqx", "min": 150000, "max": 300000})
    got = _facet_counts(priced["products"]["facets"])
    assert got["price"] == (1000, 499900)                 # the slider keeps its whole range
    assert got["brands"] == {"星辰量子": 1, "佐比特量子": 1}  # x1 and mini


BAD = [
    ({"first": 1000}, "INVALID_PAGE_SIZE"),
    ({"first": -1}, "INVALID_PAGE_SIZE"),
    ({"min": -1}, "INVALID_VALUE"),
    ({"min": 500, "max": 100}, "INVALID_VALUE"),
    ({"after": "not-a-cursor"}, "INVALID_CURSOR"),
    ({"search": "x" * 101}, "INVALID_VALUE"),
    ({"brands": [encode_id("Brand", n) for n in range(1, 52)]}, "TOO_MANY"),
    ({"fc": "nope"}, "INVALID_ID"),
    ({"fc": encode_id("Brand", 1)}, "INVALID_ID"),
    ({"brands": ["%%%"]}, "INVALID_ID"),
    ({"values": [encode_id("Product", 1)]}, "INVALID_ID"),
]


@pytest.mark.parametrize(("variables", "code"), BAD)
async def test_bad_arguments_are_graphql_errors_with_codes(gql, catalog, variables, code):
    body = await gql(SEARCH, {"search": "zqx", **variables})
    assert gql.last_response.status_code == 200
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code, body


async def test_tampered_cursors_are_refused(gql, catalog):
    import base64
    import json
    _, conn = await search(gql, catalog, sort="PRICE_ASC", first=2)
    good = conn["pageInfo"]["endCursor"]
    raw = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))

    def enc(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    for tampered in (enc(["SALES", *raw[1:]]), enc(raw[:-1]), enc([raw[0], "1", raw[2]]),
                     enc([raw[0], raw[1], 2**70]), enc({"a": 1}), good[:-3] + "!!!"):
        body = await gql(SEARCH, {"search": "zqx", "sort": "PRICE_ASC", "after": tampered})
        assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", tampered
    # a cursor of one sort is refused by another
    body = await gql(SEARCH, {"search": "zqx", "sort": "NEWEST", "after": good})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
