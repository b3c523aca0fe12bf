"""A marketplace shop sells only in its categories (issue 8 §2.6): refused at create, update
and submit; the platform's self-operated shop sells everywhere; an admin writing a product for
a shop is bound by that shop's categories."""

import pytest

from tests.catalog.product_helpers import CREATE, UPDATE, act, create_phone, gid, make_catalog, phone_input, pk


@pytest.fixture(scope="module")
async def cat(db, tokens):
    """A tree only Acme (merchant 2) may sell in; Lumen (3) may not."""
    return await make_catalog(db, shops=(2,))


def codes(out: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in out["userErrors"]]


async def test_a_shop_cannot_create_in_a_category_it_may_not_sell(gql, tokens, cat, db):
    before = await db.fetchval("SELECT count(*) FROM products")
    out = (await gql.ok(CREATE, {"i": phone_input(cat)}, token=tokens["lumen"]))["createProduct"]
    assert codes(out) == [("CATEGORY_NOT_ALLOWED", ["input", "categoryId"])] and out["product"] is None
    assert await db.fetchval("SELECT count(*) FROM products") == before
    await create_phone(gql, tokens["acme"], cat)     # granted the root: its leaves are allowed


async def test_an_admin_is_bound_by_the_shops_categories_the_platform_is_not(gql, tokens, cat):
    out = (await gql.ok(CREATE, {"i": phone_input(cat, merchantId=gid("Merchant", 3))},
                        token=tokens["admin"]))["createProduct"]
    assert codes(out) == [("CATEGORY_NOT_ALLOWED", ["input", "categoryId"])]
    own = await create_phone(gql, tokens["admin"], cat, merchantId=gid("Merchant", 1))   # self-operated
    assert own["merchantId"] == gid("Merchant", 1)


async def test_moving_a_product_to_a_category_not_granted_is_refused(gql, tokens, cat, db):
    other = await make_catalog(db, shops=())          # nobody was granted this tree
    product = await create_phone(gql, tokens["acme"], cat)
    out = (await gql.ok(UPDATE, {"i": {"productId": product["id"], "categoryId": other.shirts, "salesAttributes": [],
                                       "attributes": [], "skus": [{"specValueIds": [], "code": f"S{cat.tag}",
                                                                   "price": 9900}]}},
                        token=tokens["acme"]))["updateProduct"]
    assert codes(out) == [("CATEGORY_NOT_ALLOWED", ["input", "categoryId"])]


async def test_submit_is_refused_once_the_category_is_withdrawn(gql, tokens, cat, db):
    product = await create_phone(gql, tokens["acme"], cat)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM merchant_categories WHERE merchant_id = 2 AND category_id = $1",
                           pk("BackendCategory", cat.root))
    try:
        out = await act(gql, tokens["acme"], "submitProductForReview", product["id"])
        assert codes(out) == [("CATEGORY_NOT_ALLOWED", ["input", "productId"])]
        status = await db.fetchval("SELECT status FROM products WHERE id = $1", pk("Product", product["id"]))
        assert status == "DRAFT"
    finally:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO merchant_categories VALUES (2, $1)", pk("BackendCategory", cat.root))
    out = await act(gql, tokens["acme"], "submitProductForReview", product["id"])
    assert out["userErrors"] == [] and out["product"]["status"] == "PENDING_REVIEW"
