"""Shared by the product tests: a small category tree with its attribute template, the GraphQL
documents of the product write side, and a phone input (colour × memory = 4 SKUs)."""

import uuid
from types import SimpleNamespace

from app.ids import decode_id, encode_id

PRODUCT_FIELDS = """id status title subtitle rejectReason minPrice maxPrice merchantId
  brand { id } backendCategory { id } images { url }
  attributes { attributeId valueId value }
  salesAttributes { attributeId values { id value imageUrl } }
  skus { id code specLabel specValueIds price listPrice memberPrice memberLevel status }"""
PAYLOAD = f"product {{ {PRODUCT_FIELDS} }} userErrors {{ field code message }}"
CREATE = f"mutation($i: CreateProductInput!) {{ createProduct(input: $i) {{ {PAYLOAD} }} }}"
UPDATE = f"mutation($i: UpdateProductInput!) {{ updateProduct(input: $i) {{ {PAYLOAD} }} }}"
PRICE = """mutation($i: UpdateSkuPriceInput!) { updateSkuPrice(input: $i) {
  sku { id price listPrice memberPrice memberLevel } userErrors { field code message } } }"""
ACTIONS = {name: f"mutation($i: {kind}!) {{ {name}(input: $i) {{ {PAYLOAD} }} }}" for name, kind in (
    ("submitProductForReview", "ProductActionInput"), ("approveProduct", "ProductActionInput"),
    ("rejectProduct", "RejectProductInput"), ("listProduct", "ProductActionInput"),
    ("delistProduct", "ProductActionInput"), ("recycleProduct", "ProductActionInput"),
    ("scheduleProductListing", "ScheduleProductListingInput"))}


def gid(type_name: str, pk: int) -> str:
    return encode_id(type_name, pk)


def pk(type_name: str, global_id: str) -> int:
    return decode_id(type_name, global_id)


async def make_catalog(db, shops: tuple[int, ...] = (2, 3)) -> SimpleNamespace:
    """手机 (root, NORMAL 产地) → 智能手机 (leaf: KEY 型号, SALES 颜色 sort 1 / 内存 sort 2),
    plus a leaf 衬衫 elsewhere with SALES 尺码, an active and a disabled brand. The marketplace
    `shops` may sell in both trees (as granted at onboarding)."""
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        async def category(name, parent=None, leaf=True):
            return await c.fetchval(
                "INSERT INTO backend_categories (parent_id, name, depth, is_leaf)"
                " VALUES ($1, $2, CASE WHEN $1::bigint IS NULL THEN 1 ELSE 2 END, $3) RETURNING id",
                parent, f"{name}-{tag}", leaf)

        async def attribute(category_id, name, kind, sort, values):
            aid = await c.fetchval("INSERT INTO attributes (category_id, name, kind, sort) VALUES ($1, $2, $3, $4)"
                                   " RETURNING id", category_id, name, kind, sort)
            vids = [await c.fetchval("INSERT INTO attribute_values (attribute_id, value, sort) VALUES ($1, $2, $3)"
                                     " RETURNING id", aid, v, n) for n, v in enumerate(values)]
            return aid, vids

        root = await category("手机", leaf=False)
        leaf = await category("智能手机", root)
        shirts = await category("衬衫")
        origin, _ = await attribute(root, "产地", "NORMAL", 5, [])
        model, model_values = await attribute(leaf, "型号", "KEY", 0, ["X1", "X2"])
        colour, colours = await attribute(leaf, "颜色", "SALES", 1, ["黑色", "白色", "蓝色"])
        memory, memories = await attribute(leaf, "内存", "SALES", 2, ["128GB", "256GB"])
        size, sizes = await attribute(shirts, "尺码", "SALES", 1, ["M", "L"])
        brand = await c.fetchval("INSERT INTO brands (name_zh, name_en) VALUES ($1, 'Acme') RETURNING id",
                                 f"艾克米-{tag}")
        await c.executemany("INSERT INTO merchant_categories (merchant_id, category_id) VALUES ($1, $2)",
                            [(m, category_id) for m in shops for category_id in (root, shirts)])
        disabled_brand = await c.fetchval("INSERT INTO brands (name_zh, status) VALUES ($1, 'DISABLED') RETURNING id",
                                          f"停用-{tag}")
    return SimpleNamespace(
        tag=tag, root=gid("BackendCategory", root), leaf=gid("BackendCategory", leaf),
        shirts=gid("BackendCategory", shirts), origin=gid("Attribute", origin), model=gid("Attribute", model),
        model_values=[gid("AttributeValue", v) for v in model_values], colour=gid("Attribute", colour),
        colours=[gid("AttributeValue", v) for v in colours], memory=gid("Attribute", memory),
        memories=[gid("AttributeValue", v) for v in memories], size=gid("Attribute", size),
        sizes=[gid("AttributeValue", v) for v in sizes], brand=gid("Brand", brand),
        disabled_brand=gid("Brand", disabled_brand))


def phone_input(cat: SimpleNamespace, colours: int = 2, **overrides) -> dict:
    """A phone in `colours` colours × 2 memories; SKU price 3999.00 + 500.00 for the bigger memory."""
    tag = uuid.uuid4().hex[:6]
    chosen = cat.colours[:colours]
    skus = [{"specValueIds": [c, m], "code": f"P{tag}-{i}-{j}", "price": 399900 + 50000 * j,
             "listPrice": 459900 + 50000 * j, "weightGrams": 200}
            for i, c in enumerate(chosen) for j, m in enumerate(cat.memories)]
    data = {
        "categoryId": cat.leaf, "brandId": cat.brand, "title": f"Acme Phone X1 {tag}", "subtitle": "旗舰",
        "description": "<p>好手机</p>", "fulfillmentType": "MERCHANT",
        "images": [{"url": f"https://img.example.com/{tag}.jpg"}],
        "attributes": [{"attributeId": cat.model, "valueId": cat.model_values[0]},
                       {"attributeId": cat.origin, "text": "深圳"}],
        "salesAttributes": [{"attributeId": cat.colour,
                             "values": [{"valueId": c, "imageUrl": f"https://img.example.com/{tag}-{n}.jpg"}
                                        for n, c in enumerate(chosen)]},
                            {"attributeId": cat.memory, "values": [{"valueId": m} for m in cat.memories]}],
        "skus": skus,
    }
    data.update(overrides)
    return data


async def create_phone(gql, token: str, cat: SimpleNamespace, **overrides) -> dict:
    """Create a phone that must succeed; returns the product."""
    out = (await gql.ok(CREATE, {"i": phone_input(cat, **overrides)}, token=token))["createProduct"]
    assert out["userErrors"] == [], out["userErrors"]
    return out["product"]


async def act(gql, token: str, action: str, product_id: str, **extra) -> dict:
    return (await gql.ok(ACTIONS[action], {"i": {"productId": product_id, **extra}}, token=token))[action]


async def counts(db) -> dict:
    """Row counts of every table a product write touches, to prove a refused write wrote nothing."""
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM skus) AS skus,"
        " (SELECT count(*) FROM product_images) AS images, (SELECT count(*) FROM product_attributes) AS attrs,"
        " (SELECT count(*) FROM product_sales_values) AS sales, (SELECT count(*) FROM outbox) AS outbox,"
        " (SELECT count(*) FROM product_status_history) AS history,"
        " (SELECT coalesce(sum(price), 0) FROM skus) AS prices,"
        " (SELECT string_agg(status || title, ',' ORDER BY id) FROM products) AS products_state")
    return dict(row)
