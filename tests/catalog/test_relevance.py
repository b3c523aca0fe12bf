"""Search relevance over the seeded demo catalog (app/demo.py): queries a buyer types, Chinese
without spaces, English, mixed and with typos, and the demo products each must find.

Expected sets are read from the demo's own product definitions (brand, leaf category, status),
and results are compared on the demo's products only, so products other tests add to the same
database do not change the verdict.
"""

import pytest

from app.demo import DEMO_PRODUCTS, PLATFORM
from app.ids import decode_id

LISTED = [s for s in DEMO_PRODUCTS if s.status == "LISTED"]


def codes(keep) -> set[str]:
    return {s.code for s in LISTED if keep(s)}


def brand(name: str, category: str | None = None) -> set[str]:
    return codes(lambda s: s.brand == name and (category is None or s.category == category))


def titled(*words: str) -> set[str]:
    return codes(lambda s: all(w.lower() in s.title.lower() for w in words))


RELEVANCE = [
    # Chinese without spaces: segmented into words, each a whole word of the index
    ("苹果手机", brand("苹果", "手机")),
    ("华为手机", brand("华为", "手机")),
    ("小米耳机", brand("小米", "耳机音箱")),
    ("手机", codes(lambda s: s.category == "手机")),      # not the tablets and watches of 手机数码
    ("衬衫", codes(lambda s: s.category == "衬衫")),
    ("移动", brand("中国移动")),                            # a word inside the brand name 中国移动
    # typos, corrected word by word
    ("iphnoe", titled("iphone")),
    ("huawai", brand("华为")),
    ("huawai手机", brand("华为", "手机")),
    # English and mixed
    ("iPhone 16", titled("iphone 16")),
    ("airpods", titled("airpods")),
    ("Xiaomi", brand("小米")),
    ("iPhone手机", titled("iphone")),
    ("华为 watch", titled("华为", "watch")),
    ("uniqlo 衬衫", brand("优衣库", "衬衫")),
    # nothing the catalog sells
    ("冰箱", set()),
    ("qwxyzk", set()),
]


def test_the_relevance_set_means_something():
    """Every positive query expects products, and no expectation is the whole catalog."""
    assert all(expected for query, expected in RELEVANCE if query not in ("冰箱", "qwxyzk"))
    assert len(brand("华为", "手机")) == 3 and len(brand("苹果", "手机")) == 2
    assert all(len(expected) < len(LISTED) / 2 for _, expected in RELEVANCE)


@pytest.fixture(scope="module")
async def demo_codes(db, tokens) -> dict[int, str]:
    """Demo product id → its seed code (found by merchant and title, the demo's natural key)."""
    rows = await db.fetch("SELECT id, merchant_id, title FROM products WHERE merchant_id = ANY($1::bigint[])",
                          list({s.merchant_id for s in DEMO_PRODUCTS} | {PLATFORM}))
    by_key = {(s.merchant_id, s.title): s.code for s in DEMO_PRODUCTS}
    return {r["id"]: by_key[r["merchant_id"], r["title"]] for r in rows if (r["merchant_id"], r["title"]) in by_key}


@pytest.mark.parametrize(("query", "expected"), RELEVANCE, ids=[q for q, _ in RELEVANCE])
async def test_query_finds_its_products(gql, demo_codes, query, expected):
    data = await gql.ok("query($q: String!) { products(search: $q, first: 100) { edges { node { id } } } }",
                        {"q": query})
    found = {demo_codes[pk] for e in data["products"]["edges"]
             if (pk := decode_id("Product", e["node"]["id"])) in demo_codes}
    assert found == expected


async def test_products_emptied_by_the_migration_are_indexed_again(gql, db, demo_codes):
    """Migration 0013 empties search_text (SQL cannot segment); `reindex_unindexed` restores it."""
    from app.catalog.index import reindex_unindexed
    phones = [pk for pk, code in demo_codes.items() if code in brand("华为", "手机")]
    async with db.transaction() as conn:
        await conn.execute("UPDATE products SET search_text = '' WHERE id = ANY($1::bigint[])", phones)
    assert await reindex_unindexed(db) >= len(phones)
    data = await gql.ok('{ products(search: "华为手机", first: 100) { edges { node { id } } } }')
    assert set(phones) <= {decode_id("Product", e["node"]["id"]) for e in data["products"]["edges"]}
