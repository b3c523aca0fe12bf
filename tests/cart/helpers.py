"""Shared by the cart tests: a small catalog written with SQL (two merchants, sellable and
unsellable SKUs, a bulk product for big carts), buyers and staff with access tokens, device
tokens, and the GraphQL documents of the cart."""

import secrets
import uuid
from types import SimpleNamespace

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.ids import encode_id

LINE_FIELDS = """sku { id price memberPrice specLabel imageUrl } product { id title }
  quantity selected position addedAt unitPrice amount stockState imageUrl"""
CART_FIELDS = f"""lineCount selectedQuantity selectedTotal
  groups {{ merchantId merchantName selectedTotal lines {{ {LINE_FIELDS} }} }}"""
CART = f"{{ cart {{ {CART_FIELDS} }} }}"
PAYLOAD = f"""cart {{ {CART_FIELDS} }} warnings {{ skuId code message requestedQuantity quantity }}
  userErrors {{ field code message }}"""
ADD = f"mutation($i: AddCartLineInput!) {{ addCartLine(input: $i) {{ {PAYLOAD} }} }}"
UPDATE = f"mutation($i: UpdateCartLineInput!) {{ updateCartLine(input: $i) {{ {PAYLOAD} }} }}"
REMOVE = f"mutation($i: RemoveCartLinesInput!) {{ removeCartLines(input: $i) {{ {PAYLOAD} }} }}"
SELECT = f"mutation($i: SelectCartLinesInput!) {{ selectCartLines(input: $i) {{ {PAYLOAD} }} }}"
CLEAR = f"mutation {{ clearCart {{ {PAYLOAD} }} }}"
MERGE = f"mutation($i: MergeCartInput!) {{ mergeCart(input: $i) {{ {PAYLOAD} }} }}"

BULK_SKUS = 210


def device_token() -> str:
    return secrets.token_urlsafe(16)   # 22 characters of A-Z a-z 0-9 _ -


def device(token: str) -> dict:
    return {"x-device-token": token}


def sku_gid(pk: int) -> str:
    return encode_id("Sku", pk)


async def make_shop(db) -> SimpleNamespace:
    """Merchant A sells a phone (plain, limited to 3, low stock 2, out of stock, disabled SKU) and
    a delisted product; merchant B a case with its own image; A also lists a bulk product with
    `BULK_SKUS` SKUs at 100 cents. Every warehouse holds 100 of a SKU unless said otherwise."""
    tag = uuid.uuid4().hex[:8]
    async with db.transaction() as c:
        async def merchant(name):
            return await c.fetchval("INSERT INTO merchants (name, kind) VALUES ($1, 'MARKETPLACE') RETURNING id",
                                    f"{name}-{tag}")

        a, b = await merchant("甲店"), await merchant("乙店")
        category = await c.fetchval("INSERT INTO backend_categories (name) VALUES ($1) RETURNING id", f"cart-{tag}")
        warehouses = {m: await c.fetchval("INSERT INTO warehouses (merchant_id, name) VALUES ($1, 'main') RETURNING id",
                                          m) for m in (a, b)}

        async def product(merchant_id, title, status="LISTED"):
            pid = await c.fetchval(
                "INSERT INTO products (merchant_id, category_id, title, fulfillment_type, status)"
                " VALUES ($1, $2, $3, 'MERCHANT', $4) RETURNING id", merchant_id, category, f"{title} {tag}", status)
            await c.execute("INSERT INTO product_images (product_id, url) VALUES ($1, $2)",
                            pid, f"https://img.example.com/{pid}.jpg")
            return pid

        async def sku(product_id, merchant_id, n, price, stock=100, **extra):
            cols = ", ".join(["product_id", "merchant_id", "code", "spec_value_ids", "spec_label", "price", *extra])
            args = [product_id, merchant_id, f"C{tag}-{product_id}-{n}", [n], f"规格{n}", price, *extra.values()]
            params = ", ".join(f"${i}" for i in range(1, len(args) + 1))
            sid = await c.fetchval(f"INSERT INTO skus ({cols}) VALUES ({params}) RETURNING id", *args)
            await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, $3)",
                            sid, warehouses[merchant_id], stock)
            return sid

        phone = await product(a, "手机")
        skus = {
            "plain": await sku(phone, a, 1, 1000, member_price=900, member_level=1),
            "limited": await sku(phone, a, 2, 2500, purchase_limit=3),
            "low": await sku(phone, a, 3, 500, stock=2),
            "out": await sku(phone, a, 4, 700, stock=0),
            "disabled": await sku(phone, a, 5, 800, status="DISABLED"),
        }
        skus["delisted"] = await sku(await product(a, "下架", "DELISTED"), a, 1, 600)
        skus["case"] = await sku(await product(b, "手机壳"), b, 1, 3000, image_url="https://img.example.com/case.jpg")
        bulk = await product(a, "批量")
        await c.execute(
            "INSERT INTO skus (product_id, merchant_id, code, spec_value_ids, price)"
            " SELECT $1, $2, $3 || n, ARRAY[n]::bigint[], 100 FROM generate_series(1, $4) n",
            bulk, a, f"B{tag}-", BULK_SKUS)
        bulk_ids = [r["id"] for r in await c.fetch("SELECT id FROM skus WHERE product_id = $1 ORDER BY id", bulk)]
        await c.execute("INSERT INTO stock (sku_id, warehouse_id, on_hand) SELECT unnest($1::bigint[]), $2, 100",
                        bulk_ids, warehouses[a])
    return SimpleNamespace(tag=tag, merchant_a=a, merchant_b=b, name_a=f"甲店-{tag}", name_b=f"乙店-{tag}",
                           phone=phone, pk=skus, gid={k: sku_gid(v) for k, v in skus.items()},
                           bulk=bulk_ids, warehouse_a=warehouses[a])


async def new_buyer(db, settings) -> tuple[int, str]:
    """A buyer row and an access token for it (no password: these buyers never log in)."""
    buyer_id = await db.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ($1, 'x') RETURNING id",
                                 "137" + str(uuid.uuid4().int)[:8])
    async with db.transaction() as conn:
        return buyer_id, (await open_session(conn, settings, Principal(kind="buyer", id=buyer_id))).access_token


async def staff_token(db, settings, merchant_id: int) -> str:
    staff_id = await db.fetchval(
        "INSERT INTO staff_accounts (username, password_hash, kind, merchant_id, merchant_role)"
        " VALUES ($1, 'x', 'MERCHANT', $2, 'OWNER') RETURNING id", f"cart-{uuid.uuid4().hex[:10]}", merchant_id)
    principal = Principal(kind="staff", id=staff_id, staff_kind="MERCHANT", merchant_id=merchant_id,
                          merchant_role="OWNER")
    async with db.transaction() as conn:
        return (await open_session(conn, settings, principal)).access_token


async def fill_cart(db, owner_column: str, owner, sku_ids: list[int]) -> None:
    """Put one of each SKU straight into a cart (faster than 200 mutations)."""
    async with db.transaction() as c:
        cart_id = await c.fetchval(
            f"INSERT INTO carts ({owner_column}) VALUES ($1)"
            f" ON CONFLICT ({owner_column}) DO UPDATE SET updated_at = now() RETURNING id", owner)
        await c.execute("INSERT INTO cart_lines (cart_id, sku_id, quantity, position)"
                        " SELECT $1, s, 1, coalesce((SELECT max(position) FROM cart_lines WHERE cart_id = $1), 0) + n"
                        " FROM unnest($2::bigint[]) WITH ORDINALITY AS t(s, n)", cart_id, sku_ids)


def lines(cart: dict) -> list[dict]:
    """Every line of a cart answer, in cart order."""
    return sorted((line for g in cart["groups"] for line in g["lines"]), key=lambda line: line["position"])


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def ok(gql, query: str, variables: dict | None = None, token: str | None = None,
             headers: dict | None = None) -> dict:
    """Data of a request (with extra headers) that must have no top-level errors."""
    body = await gql(query, variables, token, headers)
    assert "errors" not in body, body["errors"]
    return body["data"]
