"""Catalog reads: DataLoader batch functions and buyer search.

Every `*_by_*` function answers a whole DataLoader batch with one `= ANY($1::bigint[])`
statement and returns its results in key order (None or [] for a missing key), so a page
of products costs a constant number of statements whatever its size.
"""

import base64
import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import asyncpg

from app.catalog import words
from app.db import Database, grouped
from app.errors import CommonError, DomainError, Problem

# Columns a `Product` is built from; search pages select the same list.
PRODUCT_COLUMNS = (
    "p.id, p.merchant_id, p.category_id, p.brand_id, p.title, p.subtitle, p.description,"
    " p.fulfillment_type, p.status, p.reject_reason, p.listed_at, p.sales_count, p.rating_sum,"
    " p.rating_count, p.min_price, p.max_price, p.created_at, p.scheduled_listing_at"
)

# Whether product p's shop is OPEN (docs/merchants.md: a suspended or closed shop's products are
# hidden from buyers); uncorrelated, so PostgreSQL evaluates it once per statement.
SHOP_OPEN = "p.merchant_id <> ALL (SELECT id FROM merchants WHERE status <> 'OPEN')"

# An ACTIVE or DISABLED SKU with what its merchant's active warehouses can still sell.
_SKU_SELECT = """
    SELECT s.id, s.product_id, s.merchant_id, s.code, s.spec_value_ids, s.spec_label, s.price,
           s.list_price, s.member_price, s.member_level, s.weight_grams, s.image_url,
           s.purchase_limit, s.status, s.recharge_account_kind,
           coalesce((SELECT sum(st.on_hand - st.reserved) FROM stock st
                     JOIN warehouses w ON w.id = st.warehouse_id
                     WHERE st.sku_id = s.id AND w.merchant_id = s.merchant_id AND w.active), 0)::bigint
               AS available
    FROM skus s
"""


def _in_key_order(rows: Sequence[asyncpg.Record], keys: Sequence[int], column: str = "id") -> list:
    by_key = {r[column]: r for r in rows}
    return [by_key.get(k) for k in keys]


async def products_by_ids(db: Database, ids: Sequence[int]) -> list[asyncpg.Record | None]:
    # shop_open: whether buyers may see and buy it at all (a suspended shop's products are hidden)
    rows = await db.fetch(f"SELECT {PRODUCT_COLUMNS}, {SHOP_OPEN} AS shop_open FROM products p"
                          " WHERE p.id = ANY($1::bigint[])", ids)
    return _in_key_order(rows, ids)


async def skus_by_product_ids(db: Database, product_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch(_SKU_SELECT + " WHERE s.product_id = ANY($1::bigint[]) ORDER BY s.product_id, s.id",
                          product_ids)
    return grouped(rows, product_ids, "product_id")


async def skus_by_ids(db: Database, ids: Sequence[int]) -> list[asyncpg.Record | None]:
    rows = await db.fetch(_SKU_SELECT + " WHERE s.id = ANY($1::bigint[])", ids)
    return _in_key_order(rows, ids)


async def stock_by_sku_ids(db: Database, sku_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    """Stock rows per SKU in its own merchant's warehouses, highest routing priority first."""
    rows = await db.fetch(
        "SELECT st.sku_id, st.warehouse_id, w.name AS warehouse_name, st.on_hand, st.reserved"
        " FROM stock st JOIN skus s ON s.id = st.sku_id"
        " JOIN warehouses w ON w.id = st.warehouse_id AND w.merchant_id = s.merchant_id"
        " WHERE st.sku_id = ANY($1::bigint[]) ORDER BY st.sku_id, w.priority DESC, w.id", sku_ids)
    return grouped(rows, sku_ids, "sku_id")


async def images_by_product_ids(db: Database, product_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT product_id, url, sort FROM product_images"
                          " WHERE product_id = ANY($1::bigint[]) ORDER BY product_id, sort, id", product_ids)
    return grouped(rows, product_ids, "product_id")


async def attribute_values_by_product_ids(db: Database,
                                          product_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    """KEY and NORMAL attribute values, enumerated or free text, in template order."""
    rows = await db.fetch(
        "SELECT pa.product_id, a.id AS attribute_id, a.name, a.kind, pa.value_id,"
        "       coalesce(av.value, pa.text_value) AS value"
        " FROM product_attributes pa JOIN attributes a ON a.id = pa.attribute_id"
        " LEFT JOIN attribute_values av ON av.id = pa.value_id"
        " WHERE pa.product_id = ANY($1::bigint[])"
        " ORDER BY pa.product_id, a.sort, a.id, av.sort, pa.id", product_ids)
    return grouped(rows, product_ids, "product_id")


async def sales_values_by_product_ids(db: Database, product_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    """The sales-attribute values a product offers (with their images), attribute by attribute."""
    rows = await db.fetch(
        "SELECT psv.product_id, a.id AS attribute_id, a.name AS attribute_name, av.id AS value_id,"
        "       av.value, psv.image_url"
        " FROM product_sales_values psv JOIN attributes a ON a.id = psv.attribute_id"
        " JOIN attribute_values av ON av.id = psv.value_id"
        " WHERE psv.product_id = ANY($1::bigint[])"
        " ORDER BY psv.product_id, a.sort, a.id, psv.sort, av.sort, av.id", product_ids)
    return grouped(rows, product_ids, "product_id")


async def brands_by_ids(db: Database, ids: Sequence[int]) -> list[asyncpg.Record | None]:
    return _in_key_order(await db.fetch("SELECT * FROM brands WHERE id = ANY($1::bigint[])", ids), ids)


async def backend_categories_by_ids(db: Database, ids: Sequence[int]) -> list[asyncpg.Record | None]:
    rows = await db.fetch("SELECT * FROM backend_categories WHERE id = ANY($1::bigint[])", ids)
    return _in_key_order(rows, ids)


async def frontend_categories_by_backend_ids(db: Database,
                                             backend_ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    """Frontend categories mapped directly to each backend category, in display order."""
    rows = await db.fetch(
        "SELECT m.backend_category_id, f.* FROM frontend_category_mappings m"
        " JOIN frontend_categories f ON f.id = m.frontend_category_id"
        " WHERE m.backend_category_id = ANY($1::bigint[])"
        " ORDER BY m.backend_category_id, f.sort, f.id", backend_ids)
    return grouped(rows, backend_ids, "backend_category_id")


# ---------------------------------------------------------------------------------------
# Buyer search: LISTED products with a price, filtered, sorted, keyset-paginated, faceted.
# ---------------------------------------------------------------------------------------

MAX_SEARCH_LENGTH = 100
MAX_FILTER_IDS = 50
MAX_PRICE = 10_000_000_000  # the SKU price ceiling of the skus table
SORTS = ("RELEVANCE", "PRICE_ASC", "PRICE_DESC", "SALES", "NEWEST")


@dataclass(frozen=True)
class ProductSearch:
    """What a buyer asked for. `in_stock` False means "no stock filter", like None."""

    search: str | None = None
    frontend_category_id: int | None = None
    brand_ids: tuple[int, ...] = ()
    attribute_value_ids: tuple[int, ...] = ()
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool | None = None
    sort: str = "RELEVANCE"

    @cached_property
    def terms(self) -> list[str]:
        """The query's words (app/catalog/words.py; its dictionary loaded by `words.load()`)."""
        return words.query_words(self.search or "")

    @property
    def searches_nothing(self) -> bool:
        """Text with no word in it (only punctuation) matches no product."""
        return bool((self.search or "").strip()) and not self.terms

    def check(self) -> None:
        """Refuse arguments no buyer could mean, before any SQL runs."""
        problems = []
        if self.search and len(self.search) > MAX_SEARCH_LENGTH:
            problems.append(Problem(CommonError.INVALID_VALUE, f"search is longer than {MAX_SEARCH_LENGTH} characters",
                                    ("search",)))
        for name, value in (("priceMin", self.price_min), ("priceMax", self.price_max)):
            if value is not None and not 0 <= value <= MAX_PRICE:
                problems.append(Problem(CommonError.INVALID_VALUE,
                                        f"{name} must be between 0 and {MAX_PRICE} cents", (name,)))
        if (self.price_min is not None and self.price_max is not None and not problems
                and self.price_min > self.price_max):
            problems.append(Problem(CommonError.INVALID_VALUE, "priceMin is above priceMax", ("priceMin",)))
        for name, ids in (("brandIds", self.brand_ids), ("attributeValueIds", self.attribute_value_ids)):
            if len(ids) > MAX_FILTER_IDS:
                problems.append(Problem(CommonError.TOO_MANY, f"at most {MAX_FILTER_IDS} {name}", (name,)))
        if self.sort not in SORTS:
            problems.append(Problem(CommonError.INVALID_VALUE, "unknown sort", ("sort",)))
        if problems:
            raise DomainError(*problems)


class _Args:
    """Positional SQL parameters collected while a statement is built."""

    def __init__(self) -> None:
        self.values: list = []

    def __call__(self, value, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"


def _like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _word_pattern(word: str) -> str:
    """LIKE pattern of a whole word of the space-padded `search_text`."""
    return "% " + _like_pattern(word)[1:-1] + " %"


# A typo is corrected only in words this long (shorter ones have too few trigrams to compare).
MIN_TYPO_LENGTH = 3
# The closest vocabulary words a typo stands for: trigram distance at most 0.75 (similarity of
# at least 0.25: "iphnoe" is 0.27 from "iphone", "huawai" 0.4 from "huawei"), nearest first,
# through the GiST index of search_words.
_CORRECTIONS = ("ARRAY(SELECT '% ' || replace(replace(replace(w.word, '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
                " || ' %' FROM search_words w WHERE w.word <-> {word} <= 0.75"
                " ORDER BY w.word <-> {word} LIMIT 3)")
# A scalar subquery with LIMIT, not EXISTS: PostgreSQL would turn EXISTS into a semi-join over
# all stock rows, while this stays an indexed probe per candidate product, so a sorted listing
# stops after its first page.
_IN_STOCK = ("coalesce((SELECT true FROM skus s JOIN stock st ON st.sku_id = s.id"
             " JOIN warehouses w ON w.id = st.warehouse_id AND w.merchant_id = s.merchant_id AND w.active"
             " WHERE s.product_id = p.id AND s.status = 'ACTIVE' AND st.on_hand > st.reserved LIMIT 1), false)")

# Frontend category → itself and its descendants → mapped backend categories and their subtrees.
_CATEGORY_SUBTREE = """p.category_id = ANY(ARRAY(
    WITH RECURSIVE fc AS (
        SELECT id FROM frontend_categories WHERE id = {fc}
        UNION ALL SELECT f.id FROM frontend_categories f JOIN fc ON f.parent_id = fc.id
    ), bc AS (
        SELECT m.backend_category_id AS id FROM frontend_category_mappings m JOIN fc ON fc.id = m.frontend_category_id
        UNION ALL SELECT c.id FROM backend_categories c JOIN bc ON c.parent_id = bc.id
    ) SELECT id FROM bc))"""  # ARRAY(...) is uncorrelated: PostgreSQL runs it once, not per row

# Value ids grouped by attribute: OR within a group, AND across groups. Unknown ids form a
# group of their own that no product matches.
_VALUE_GROUPS = ("SELECT av.attribute_id, array_agg(v) AS ids FROM unnest({ids}) v"
                 " LEFT JOIN attribute_values av ON av.id = v GROUP BY av.attribute_id")


def _filters(q: ProductSearch, arg: _Args, attributes: bool = True) -> dict[str, str]:
    """SQL conditions by filter name; `base` always applies, facets take the others apart."""
    base = ["p.status = 'LISTED'", "p.min_price IS NOT NULL", SHOP_OPEN]
    if q.searches_nothing:
        base.append("false")
    for term in q.terms:
        # A whole-word match (the trigram index serves it). Only a word that matches no listed
        # product at all falls back to the closest vocabulary words (typos): the NOT EXISTS and
        # the corrections are uncorrelated, so PostgreSQL evaluates them once per statement and
        # never for words that have matches; no work is added per row.
        pattern = arg(_word_pattern(term), "text")
        if len(term) < MIN_TYPO_LENGTH:
            base.append(f"p.search_text LIKE {pattern}")
            continue
        corrections = _CORRECTIONS.format(word=arg(term, "text"))
        base.append(f"(p.search_text LIKE {pattern} OR (NOT EXISTS (SELECT 1 FROM products x"
                    f" WHERE x.status = 'LISTED' AND x.search_text LIKE {pattern})"
                    f" AND p.search_text LIKE ANY ({corrections})))")
    if q.frontend_category_id is not None:
        base.append(_CATEGORY_SUBTREE.format(fc=arg(q.frontend_category_id, "bigint")))
    conds = {"base": " AND ".join(base)}
    if q.brand_ids:
        conds["brand"] = f"p.brand_id = ANY({arg(list(q.brand_ids), 'bigint[]')})"
    if q.attribute_value_ids and attributes:
        ids = arg(list(q.attribute_value_ids), "bigint[]")
        conds["attributes"] = (f"p.attribute_value_ids && {ids} AND NOT EXISTS"
                               f" (SELECT 1 FROM ({_VALUE_GROUPS.format(ids=ids)}) g"
                               f" WHERE NOT p.attribute_value_ids && g.ids)")
    # Price: the product's active-SKU price range overlaps the asked range.
    if q.price_min is not None:
        conds["price_min"] = f"p.max_price >= {arg(q.price_min, 'bigint')}"
    if q.price_max is not None:
        conds["price_max"] = f"p.min_price <= {arg(q.price_max, 'bigint')}"
    if q.in_stock:
        conds["in_stock"] = _IN_STOCK
    return conds


@dataclass(frozen=True)
class _SortKey:
    exprs: tuple[str, ...]      # ends with p.id
    types: tuple[type, ...]     # of each value in a cursor
    descending: bool


def _sort_key(q: ProductSearch, arg: _Args) -> _SortKey:
    if q.sort == "RELEVANCE" and q.terms:
        title = f"p.title ILIKE ALL({arg([_like_pattern(t) for t in q.terms], 'text[]')})"
        return _SortKey((title, "p.sales_count", "p.id"), (bool, int, int), True)
    if q.sort in ("RELEVANCE", "SALES"):
        return _SortKey(("p.sales_count", "p.id"), (int, int), True)
    if q.sort == "NEWEST":
        return _SortKey(("coalesce(p.listed_at, p.created_at)", "p.id"), (datetime, int), True)
    return _SortKey(("p.min_price", "p.id"), (int, int), q.sort == "PRICE_DESC")


def encode_cursor(sort: str, values: Sequence) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([sort, *plain], separators=(",", ":"), ensure_ascii=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> DomainError:
    return DomainError.of(CommonError.INVALID_CURSOR, "after is not a cursor of this listing", "after")


def decode_cursor(cursor: str, sort: str, types: Sequence[type]) -> list:
    """The sort key a cursor carries, checked value by value: a tampered cursor is refused."""
    if len(cursor) > 512:
        raise _bad_cursor()
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise _bad_cursor() from None
    if not isinstance(raw, list) or len(raw) != len(types) + 1 or raw[0] != sort:
        raise _bad_cursor()
    values: list[bool | int | float | datetime] = []
    for typ, value in zip(types, raw[1:]):
        if typ is bool and isinstance(value, bool):
            values.append(value)
        elif typ is int and type(value) is int and -2**63 <= value < 2**63:
            values.append(value)
        elif typ is float and type(value) in (int, float) and math.isfinite(value):
            values.append(float(value))
        elif typ is datetime and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise _bad_cursor() from None
            if moment.tzinfo is None:
                raise _bad_cursor()
            values.append(moment)
        else:
            raise _bad_cursor()
    return values


_SQL_TYPE = {bool: "boolean", int: "bigint", float: "real", datetime: "timestamptz"}


@dataclass(frozen=True)
class ProductPage:
    rows: list[asyncpg.Record]
    cursors: list[str]
    has_next_page: bool


async def search_products(db: Database, q: ProductSearch, first: int, after: str | None) -> ProductPage:
    """One statement: the page's product rows plus one more to know whether a next page exists."""
    await words.load()
    arg = _Args()
    conds = list(_filters(q, arg).values())
    key = _sort_key(q, arg)
    if after is not None:
        values = decode_cursor(after, q.sort, key.types)
        params = ", ".join(arg(v, _SQL_TYPE[t]) for v, t in zip(values, key.types))
        conds.append(f"({', '.join(key.exprs)}) {'<' if key.descending else '>'} ({params})")
    direction = " DESC" if key.descending else ""
    keys = ", ".join(f"{e} AS k{i}" for i, e in enumerate(key.exprs))
    rows = await db.fetch(
        f"SELECT {PRODUCT_COLUMNS}, {keys} FROM products p WHERE {' AND '.join(conds)}"
        f" ORDER BY {', '.join(e + direction for e in key.exprs)} LIMIT {arg(first + 1, 'int')}",
        *arg.values)
    page = rows[:first]
    n = len(key.exprs)
    cursors = [encode_cursor(q.sort, [r[f"k{i}"] for i in range(n)]) for r in page]
    return ProductPage(page, cursors, len(rows) > first)


async def count_products(db: Database, q: ProductSearch) -> int:
    await words.load()
    arg = _Args()
    conds = _filters(q, arg).values()
    return await db.fetchval(f"SELECT count(*) FROM products p WHERE {' AND '.join(conds)}", *arg.values)


async def product_facets(db: Database, q: ProductSearch) -> asyncpg.Record:
    """All facets in one statement, each group counted with every filter but its own.

    Each matching product carries which of the brand, price and stock filters it passes and
    which attribute groups it misses; a brand is counted over products passing everything but
    the brand filter, an attribute's values over products missing at most that attribute's
    group, and so on. Returns brands, attributes and price_range as JSON, and in_stock_count.
    """
    await words.load()
    arg = _Args()
    conds = _filters(q, arg, attributes=False)
    ids = arg(list(q.attribute_value_ids), "bigint[]")
    price = " AND ".join(conds[k] for k in ("price_min", "price_max") if k in conds) or "true"
    m_stock = "in_stock" if q.in_stock else "true"
    sql = f"""
    WITH grp AS ({_VALUE_GROUPS.format(ids=ids)}),
    f AS MATERIALIZED (
        SELECT p.id, p.brand_id, p.min_price, p.max_price, p.attribute_value_ids,
               {conds.get('brand', 'true')} AS m_brand, {price} AS m_price,
               {_IN_STOCK} AS in_stock,
               ARRAY(SELECT coalesce(g.attribute_id, 0) FROM grp g
                     WHERE NOT p.attribute_value_ids && g.ids) AS missed
        FROM products p WHERE {conds['base']}
    ), brand_counts AS (
        SELECT brand_id, count(*) AS n FROM f
        WHERE m_price AND {m_stock} AND missed = '{{}}' AND brand_id IS NOT NULL GROUP BY brand_id
    ), value_counts AS (
        SELECT av.attribute_id, av.id AS value_id, count(*) AS n
        FROM f CROSS JOIN LATERAL unnest(f.attribute_value_ids) AS vid
        JOIN attribute_values av ON av.id = vid
        WHERE f.m_brand AND f.m_price AND {m_stock}
          AND (f.missed = '{{}}' OR f.missed = ARRAY[av.attribute_id])
        GROUP BY av.attribute_id, av.id
    ), attribute_facets AS (
        SELECT a.id, a.sort, jsonb_build_object('attribute', to_jsonb(a), 'values',
                   jsonb_agg(jsonb_build_object('value', to_jsonb(av), 'count', vc.n) ORDER BY av.sort, av.id)) AS j
        FROM value_counts vc JOIN attributes a ON a.id = vc.attribute_id AND a.filterable
        JOIN attribute_values av ON av.id = vc.value_id
        GROUP BY a.id
    )
    SELECT
      (SELECT coalesce(jsonb_agg(jsonb_build_object('brand', to_jsonb(b), 'count', bc.n) ORDER BY bc.n DESC, b.id),
                       '[]') FROM brand_counts bc JOIN brands b ON b.id = bc.brand_id) AS brands,
      (SELECT coalesce(jsonb_agg(j ORDER BY sort, id), '[]') FROM attribute_facets) AS attributes,
      (SELECT jsonb_build_object('min', min(min_price), 'max', max(max_price)) FROM f
        WHERE m_brand AND {m_stock} AND missed = '{{}}') AS price_range,
      (SELECT count(*) FROM f WHERE m_brand AND m_price AND missed = '{{}}' AND in_stock) AS in_stock_count
    """
    return await db.fetchrow(sql, *arg.values)
