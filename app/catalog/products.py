"""Writing products (SPU + SKUs) for merchant staff and admins (DOMAIN §2).

A product's content (category, brand, texts, images, key/normal attributes, sales values
and the SKU grid) is checked as a whole before anything is written, so a bad request writes
nothing; every problem is reported with its input path. Updates merge the given fields into
the stored content and check the result the same way.

Content may change while a product is DRAFT, APPROVED or DELISTED. An approved or delisted
marketplace product that is edited goes back to DRAFT for review again (recorded in its
history); PENDING_REVIEW, LISTED and RECYCLED products refuse content edits. SKU prices may
change in any status but RECYCLED, without review.
"""

import contextlib
import dataclasses
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import asyncpg

from app.auth.principal import Principal
from app.catalog import categories
from app.catalog.errors import CatalogError
from app.catalog.index import refresh_product_index
from app.catalog.lifecycle import (
    PLATFORM_MERCHANT_ID,
    PRODUCTS,
    LifecycleAction,
    ProductStatus,
    lock_owned_product,
    record_creation,
)
from app.catalog.reads import PRODUCT_COLUMNS, ProductPage, decode_cursor, encode_cursor
from app.catalog.recharge import DEFAULT_KIND, RechargeAccountKind
from app.catalog.skus import (
    MAX_SKUS,
    SalesAxis,
    SkuCombination,
    SkuDraft,
    match_skus,
    matrix_size,
    price_problems,
    sku_matrix,
)
from app.errors import CommonError, DomainError, NotFound, Problem
from app.events import emit
from app.merchants import shops

FULFILLMENT_TYPES = ("WAREHOUSE", "DROPSHIP", "MERCHANT", "VIRTUAL")
EDITABLE = frozenset({ProductStatus.DRAFT, ProductStatus.APPROVED, ProductStatus.DELISTED})
BACK_TO_REVIEW = PRODUCTS.sources(LifecycleAction.EDIT)
MAX_TITLE, MAX_SUBTITLE, MAX_DESCRIPTION, MAX_TEXT_VALUE = 200, 500, 100_000, 500
MAX_IMAGES, MAX_ATTRIBUTES, MAX_SALES_ATTRIBUTES, MAX_SALES_VALUES = 20, 100, 5, 100
URL = re.compile(r"^https?://[^\s\x00]{1,990}$")


@dataclass(frozen=True)
class AttributeChoice:
    """A KEY/NORMAL attribute: an enumerated value or free text, exactly one of them."""
    attribute_id: int
    value_id: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class SalesValueChoice:
    value_id: int
    image_url: str | None = None


@dataclass(frozen=True)
class SalesAttributeChoice:
    attribute_id: int
    values: tuple[SalesValueChoice, ...]


@dataclass(frozen=True)
class ProductContent:
    category_id: int
    title: str
    fulfillment_type: str
    brand_id: int | None = None
    subtitle: str = ""
    description: str = ""
    images: tuple[str, ...] = ()
    attributes: tuple[AttributeChoice, ...] = ()
    sales_attributes: tuple[SalesAttributeChoice, ...] = ()
    skus: tuple[SkuDraft, ...] = ()


CONTENT_FIELDS = frozenset(f.name for f in dataclasses.fields(ProductContent))


@dataclass(frozen=True)
class _CheckedContent:
    """Content that passed every rule, with what the writes need."""
    content: ProductContent
    combinations: list[SkuCombination]     # per SKU of `content.skus`


@dataclass(frozen=True)
class PriceChange:
    sku_id: int
    product_id: int


# ---------------------------------------------------------------- checks


def _field_problems(c: ProductContent) -> list[Problem]:
    problems = [Problem(CatalogError.INVALID_TEXT, "text may not contain NUL characters", path)
                for path, text in _texts(c) if "\x00" in text]
    if not 1 <= len(c.title.strip()) <= MAX_TITLE:
        problems.append(Problem(CatalogError.INVALID_NAME, f"title must be 1 to {MAX_TITLE} characters", ("title",)))
    if len(c.subtitle) > MAX_SUBTITLE:
        problems.append(Problem(CommonError.INVALID_VALUE,
                                f"subtitle is longer than {MAX_SUBTITLE} characters", ("subtitle",)))
    if len(c.description) > MAX_DESCRIPTION:
        problems.append(Problem(CommonError.INVALID_VALUE, f"description is longer than {MAX_DESCRIPTION} characters",
                                ("description",)))
    if c.fulfillment_type not in FULFILLMENT_TYPES:
        problems.append(Problem(CommonError.INVALID_VALUE, "unknown fulfillment type", ("fulfillmentType",)))
    for name, items, cap in (("images", c.images, MAX_IMAGES), ("attributes", c.attributes, MAX_ATTRIBUTES),
                             ("salesAttributes", c.sales_attributes, MAX_SALES_ATTRIBUTES),
                             ("skus", c.skus, MAX_SKUS)):
        if len(items) > cap:
            problems.append(Problem(CommonError.TOO_MANY, f"at most {cap} {name} per product", (name,)))
    for i, url in enumerate(c.images):
        if not URL.match(url):
            problems.append(Problem(CatalogError.INVALID_URL,
                                    "image url must be an http(s) URL", ("images", str(i), "url")))
    return problems


def _texts(c: ProductContent):
    """Every free text of the content with its input path (PostgreSQL text cannot hold NUL)."""
    yield ("title",), c.title
    yield ("subtitle",), c.subtitle
    yield ("description",), c.description
    for i, a in enumerate(c.attributes):
        if a.text is not None:
            yield ("attributes", str(i), "text"), a.text


async def _category_template(conn: asyncpg.Connection, category_id: int,
                             ) -> tuple[list[int], dict[int, asyncpg.Record]]:
    """(the leaf's path of category ids, its template attributes by id); products bind to leaves."""
    category = await categories.get_backend_category(conn, category_id, "categoryId")
    if not category["is_leaf"]:
        raise DomainError.of(CatalogError.NOT_LEAF_CATEGORY, "choose a leaf category", "categoryId")
    [path] = await categories.backend_category_paths_by_ids(conn, [category_id])
    [template] = await categories.template_attributes_by_category_ids(conn, [category_id])
    return [r["id"] for r in path], {r["id"]: r for r in template}


async def _brand_problems(conn: asyncpg.Connection, brand_id: int | None, path: list[int]) -> list[Problem]:
    """An ACTIVE brand; a brand linked to categories only for those (or their subcategories)."""
    if brand_id is None:
        return []
    row = await conn.fetchrow(
        "SELECT b.status, array(SELECT category_id FROM brand_categories WHERE brand_id = b.id) AS categories"
        " FROM brands b WHERE b.id = $1", brand_id)
    if row is None:
        return [Problem(CommonError.NOT_FOUND, "brand not found", ("brandId",))]
    if row["status"] != "ACTIVE":
        return [Problem(CatalogError.BRAND_NOT_ACTIVE, "this brand is disabled", ("brandId",))]
    if row["categories"] and not set(row["categories"]) & set(path):
        return [Problem(CatalogError.BRAND_NOT_IN_CATEGORY,
                        "this brand is not available in this category", ("brandId",))]
    return []


def _attribute_problems(c: ProductContent, template: dict[int, asyncpg.Record],
                        values: dict[int, asyncpg.Record]) -> list[Problem]:
    problems, seen = [], set()
    for i, choice in enumerate(c.attributes):
        at = ("attributes", str(i))
        attr = template.get(choice.attribute_id)
        if attr is None or attr["kind"] == "SALES":
            problems.append(Problem(CatalogError.NOT_IN_TEMPLATE, "not a key or normal attribute of this category",
                                    (*at, "attributeId")))
            continue
        if choice.attribute_id in seen:
            problems.append(Problem(CatalogError.DUPLICATE_ATTRIBUTE,
                                    f"'{attr['name']}' is given twice", (*at, "attributeId")))
        seen.add(choice.attribute_id)
        if (choice.value_id is None) == (choice.text is None):
            problems.append(Problem(CommonError.INVALID_VALUE, "give either a value or a text", at))
        elif choice.value_id is not None:
            value = values.get(choice.value_id)
            if value is None or value["attribute_id"] != choice.attribute_id:
                problems.append(Problem(CommonError.INVALID_VALUE,
                                        f"not a value of '{attr['name']}'", (*at, "valueId")))
        elif choice.text is not None and not 1 <= len(choice.text.strip()) <= MAX_TEXT_VALUE:   # set: see above
            problems.append(Problem(CommonError.INVALID_VALUE,
                                    f"text must be 1 to {MAX_TEXT_VALUE} characters", (*at, "text")))
    return problems


def _sales_axes(sales: tuple[SalesAttributeChoice, ...], template: dict[int, asyncpg.Record],
                values: dict[int, asyncpg.Record], path: tuple[str, ...] = ("salesAttributes",),
                ) -> tuple[list[SalesAxis], list[Problem]]:
    problems, axes, seen_attrs = [], [], set()
    for i, choice in enumerate(sales):
        at = (*path, str(i))
        attr = template.get(choice.attribute_id)
        if attr is None or attr["kind"] != "SALES":
            problems.append(Problem(CatalogError.NOT_IN_TEMPLATE,
                                    "not a sales attribute of this category", (*at, "attributeId")))
            continue
        if choice.attribute_id in seen_attrs:
            problems.append(Problem(CatalogError.DUPLICATE_ATTRIBUTE,
                                    f"'{attr['name']}' is given twice", (*at, "attributeId")))
            continue
        seen_attrs.add(choice.attribute_id)
        if not 1 <= len(choice.values) <= MAX_SALES_VALUES:
            problems.append(Problem(CommonError.INVALID_VALUE,
                                    f"choose 1 to {MAX_SALES_VALUES} values of '{attr['name']}'",
                                    (*at, "values")))
            continue
        axis_values, seen_values = [], set()
        for j, v in enumerate(choice.values):
            vat = (*at, "values", str(j))
            value = values.get(v.value_id)
            if value is None or value["attribute_id"] != choice.attribute_id:
                problems.append(Problem(CommonError.INVALID_VALUE,
                                        f"not a value of '{attr['name']}'", (*vat, "valueId")))
            elif v.value_id in seen_values:
                problems.append(Problem(CatalogError.DUPLICATE_VALUE,
                                        f"'{value['value']}' is chosen twice", (*vat, "valueId")))
            else:
                seen_values.add(v.value_id)
                axis_values.append((v.value_id, value["value"]))
            if v.image_url is not None and not URL.match(v.image_url):
                problems.append(Problem(CatalogError.INVALID_URL,
                                        "image url must be an http(s) URL", (*vat, "imageUrl")))
        axes.append(SalesAxis(choice.attribute_id, attr["sort"], tuple(axis_values)))
    if not problems and matrix_size(axes) > MAX_SKUS:
        problems.append(Problem(CommonError.TOO_MANY, f"these values make more than {MAX_SKUS} SKUs", path))
    return axes, problems


async def _values_by_id(conn: asyncpg.Connection, value_ids: list[int]) -> dict[int, asyncpg.Record]:
    rows = await conn.fetch("SELECT id, attribute_id, value FROM attribute_values WHERE id = ANY($1::bigint[])",
                            value_ids)
    return {r["id"]: r for r in rows}


async def _code_problems(conn: asyncpg.Connection, merchant_id: int, product_id: int | None,
                         skus: tuple[SkuDraft, ...], combos: list[SkuCombination],
                         released: AbstractSet[int]) -> list[Problem]:
    """A SKU code is unique per merchant. Codes of this product's rows that the write reuses for
    the same combination, renames or deletes (`released`) are free; any other holder conflicts."""
    rows = await conn.fetch("SELECT id, product_id, code, spec_value_ids FROM skus"
                            " WHERE merchant_id = $1 AND code = ANY($2::text[])",
                            merchant_id, [s.code for s in skus])
    holders = {r["code"]: r for r in rows}
    new_keys = {c.spec_value_ids for c in combos}
    problems = []
    for i, (sku, combo) in enumerate(zip(skus, combos)):
        holder = holders.get(sku.code)
        if holder is None:
            continue
        ours = holder["product_id"] == product_id
        key = tuple(holder["spec_value_ids"])
        if ours and (key == combo.spec_value_ids or key in new_keys or holder["id"] in released):
            continue
        problems.append(Problem(CatalogError.DUPLICATE_SKU_CODE, f"SKU code '{sku.code}' is already used",
                                ("skus", str(i), "code")))
    return problems


async def _check_content(conn: asyncpg.Connection, merchant_id: int, c: ProductContent,
                         product_id: int | None = None, released: AbstractSet[int] = frozenset()) -> _CheckedContent:
    problems = _field_problems(c)
    if any(p.code == CommonError.TOO_MANY for p in problems):
        raise DomainError(*problems)  # do not even look up oversized input
    try:
        path, template = await _category_template(conn, c.category_id)
        await shops.require_sells_in(conn, merchant_id, path, "categoryId")
    except DomainError as exc:
        raise DomainError(*problems, *exc.problems) from None
    problems += await _brand_problems(conn, c.brand_id, path)
    values = await _values_by_id(conn, [a.value_id for a in c.attributes if a.value_id is not None]
                                 + [v.value_id for s in c.sales_attributes for v in s.values])
    problems += _attribute_problems(c, template, values)
    axes, sales_problems = _sales_axes(c.sales_attributes, template, values)
    if sales_problems:
        raise DomainError(*problems, *sales_problems)
    matches, sku_problems = match_skus(sku_matrix(axes), list(c.skus))
    combos = cast(list[SkuCombination], matches)   # every SKU matched once no problem is left (refused below)
    problems += sku_problems
    for i, sku in enumerate(c.skus):
        if sku.image_url is not None and not URL.match(sku.image_url):
            problems.append(Problem(CatalogError.INVALID_URL,
                                    "image url must be an http(s) URL", ("skus", str(i), "imageUrl")))
    skus, kind_problems = _recharge_kinds(c)
    problems += kind_problems
    if problems:
        raise DomainError(*problems)
    c = dataclasses.replace(c, skus=skus)
    problems = await _code_problems(conn, merchant_id, product_id, c.skus, combos, released)
    if problems:
        raise DomainError(*problems)
    return _CheckedContent(dataclasses.replace(c, title=c.title.strip()), combos)


def _recharge_kinds(c: ProductContent) -> tuple[tuple[SkuDraft, ...], list[Problem]]:
    """A virtual SKU recharges a PHONE (default) or an EMAIL account; physical goods have no
    recharge account, so a kind left on them (e.g. by a change of fulfilment type) is dropped."""
    virtual = c.fulfillment_type == "VIRTUAL"
    problems = [Problem(CommonError.INVALID_VALUE, "a recharge account kind is PHONE or EMAIL",
                        ("skus", str(i), "rechargeAccountKind"))
                for i, s in enumerate(c.skus)
                if virtual and s.recharge_account_kind not in (None, *RechargeAccountKind)]
    return tuple(dataclasses.replace(s, recharge_account_kind=(s.recharge_account_kind or DEFAULT_KIND.value)
                                     if virtual else None) for s in c.skus), problems


# ---------------------------------------------------------------- writes


async def _write_children(conn: asyncpg.Connection, product_id: int, c: ProductContent) -> None:
    """Images, attributes and sales values are replaced as a whole."""
    await conn.execute("DELETE FROM product_images WHERE product_id = $1", product_id)
    await conn.execute("DELETE FROM product_attributes WHERE product_id = $1", product_id)
    await conn.execute("DELETE FROM product_sales_values WHERE product_id = $1", product_id)
    await conn.execute(
        "INSERT INTO product_images (product_id, url, sort)"
        " SELECT $1, url, ord FROM unnest($2::text[]) WITH ORDINALITY AS t(url, ord)",
        product_id, list(c.images))
    await conn.execute(
        "INSERT INTO product_attributes (product_id, attribute_id, value_id, text_value)"
        " SELECT $1, a, v, t FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS x(a, v, t)",
        product_id, [a.attribute_id for a in c.attributes], [a.value_id for a in c.attributes],
        [a.text.strip() if a.text is not None else None for a in c.attributes])
    sales = [(s.attribute_id, v.value_id, v.image_url, j) for s in c.sales_attributes for j, v in enumerate(s.values)]
    await conn.execute(
        "INSERT INTO product_sales_values (product_id, attribute_id, value_id, image_url, sort)"
        " SELECT $1, a, v, u, s FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::int[]) AS x(a, v, u, s)",
        product_id, *([list(col) for col in zip(*sales)] if sales else [[], [], [], []]))


_SKU_COLUMNS = ("code, price, list_price, member_price, member_level, weight_grams, image_url, purchase_limit,"
                " spec_value_ids, spec_label, recharge_account_kind")


def _sku_args(sku: SkuDraft, combo: SkuCombination) -> tuple:
    return (sku.code, sku.price, sku.list_price, sku.member_price, sku.member_level, sku.weight_grams,
            sku.image_url, sku.purchase_limit, list(combo.spec_value_ids), combo.label, sku.recharge_account_kind)


@contextlib.contextmanager
def _codes_taken_meanwhile():
    """Two writes may pass the code check at once; the unique index decides, and the loser
    gets the same user error (its transaction is rolled back whole)."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "skus_merchant_id_code_key":
            raise
        raise DomainError.of(CatalogError.DUPLICATE_SKU_CODE,
                             "a SKU code was taken meanwhile; choose another", "skus") from None


async def _insert_skus(conn: asyncpg.Connection, product_id: int, merchant_id: int,
                       pairs: list[tuple[SkuDraft, SkuCombination]]) -> None:
    await conn.executemany(
        f"INSERT INTO skus (product_id, merchant_id, {_SKU_COLUMNS})"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        [(product_id, merchant_id, *_sku_args(s, c)) for s, c in pairs])


async def _replace_skus(conn: asyncpg.Connection, product_id: int, merchant_id: int, existing: list[asyncpg.Record],
                        checked: _CheckedContent, deletable: set[int]) -> None:
    """Keep rows whose combination survives (their ids and stock), add new ones, and delete or
    disable the rest (see `_deletable_skus`)."""
    by_key = {tuple(r["spec_value_ids"]): r for r in existing}
    old_code = {r["id"]: r["code"] for r in existing}
    keep = {c.spec_value_ids for c in checked.combinations}
    gone = [r["id"] for r in existing if tuple(r["spec_value_ids"]) not in keep]
    await conn.execute("DELETE FROM skus WHERE id = ANY($1::bigint[])", [i for i in gone if i in deletable])
    await conn.execute("UPDATE skus SET status = 'DISABLED' WHERE id = ANY($1::bigint[])",
                       [i for i in gone if i not in deletable])
    updates = [(by_key[c.spec_value_ids]["id"], s, c) for s, c in zip(checked.content.skus, checked.combinations)
               if c.spec_value_ids in by_key]
    # Codes are unique per merchant row by row: park renamed rows on '.<id>' (no real code starts
    # with '.') so two SKUs may swap codes in one update.
    await conn.execute("UPDATE skus SET code = '.' || id WHERE id = ANY($1::bigint[])",
                       [i for i, s, _ in updates if s.code != old_code[i]])
    await conn.executemany(
        "UPDATE skus SET code = $2, price = $3, list_price = $4, member_price = $5, member_level = $6,"
        " weight_grams = $7, image_url = $8, purchase_limit = $9, spec_value_ids = $10, spec_label = $11,"
        " recharge_account_kind = $12, status = 'ACTIVE' WHERE id = $1",
        [(i, *_sku_args(s, c)) for i, s, c in updates])
    await _insert_skus(conn, product_id, merchant_id,
                       [(s, c) for s, c in zip(checked.content.skus, checked.combinations)
                        if c.spec_value_ids not in by_key])


async def _merchant_for_new_product(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None) -> int:
    """Admins choose the merchant; merchant staff always create for their own."""
    if merchant_id is None:
        if not principal.is_merchant_staff:
            raise DomainError.of(CatalogError.MERCHANT_REQUIRED,
                                 "choose the merchant the product belongs to", "merchantId")
        merchant_id = principal.staff_merchant_id
    if not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    return await shops.require_open(conn, merchant_id, "merchantId")


async def create_product(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                         content: ProductContent) -> int:
    """A new product in DRAFT with its SKU grid; returns its id."""
    merchant_id = await _merchant_for_new_product(conn, principal, merchant_id)
    checked = await _check_content(conn, merchant_id, content)
    c = checked.content
    product_id = await conn.fetchval(
        "INSERT INTO products (merchant_id, category_id, brand_id, title, subtitle, description, fulfillment_type)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        merchant_id, c.category_id, c.brand_id, c.title, c.subtitle, c.description, c.fulfillment_type)
    await _write_children(conn, product_id, c)
    with _codes_taken_meanwhile():
        await _insert_skus(conn, product_id, merchant_id, list(zip(c.skus, checked.combinations)))
    await refresh_product_index(conn, [product_id])
    await record_creation(conn, product_id, merchant_id, principal.subject)
    return product_id


async def _stored_content(conn: asyncpg.Connection, product_id: int,
                          ) -> tuple[ProductContent, list[asyncpg.Record], bool]:
    """The product's current content (active SKUs as drafts), all its SKU rows, and whether it
    was ever listed."""
    p = await conn.fetchrow("SELECT * FROM products WHERE id = $1", product_id)
    images = await conn.fetch("SELECT url FROM product_images WHERE product_id = $1 ORDER BY sort, id", product_id)
    attrs = await conn.fetch("SELECT attribute_id, value_id, text_value FROM product_attributes"
                             " WHERE product_id = $1 ORDER BY id", product_id)
    sales = await conn.fetch("SELECT attribute_id, value_id, image_url FROM product_sales_values"
                             " WHERE product_id = $1 ORDER BY attribute_id, sort, value_id", product_id)
    skus = await conn.fetch("SELECT s.*, EXISTS (SELECT 1 FROM stock WHERE sku_id = s.id) AS stocked"
                            " FROM skus s WHERE product_id = $1 ORDER BY id FOR UPDATE", product_id)
    grouped: dict[int, list[SalesValueChoice]] = {}
    for r in sales:
        grouped.setdefault(r["attribute_id"], []).append(SalesValueChoice(r["value_id"], r["image_url"]))
    content = ProductContent(
        category_id=p["category_id"], title=p["title"], fulfillment_type=p["fulfillment_type"],
        brand_id=p["brand_id"], subtitle=p["subtitle"], description=p["description"],
        images=tuple(r["url"] for r in images),
        attributes=tuple(AttributeChoice(r["attribute_id"], r["value_id"], r["text_value"]) for r in attrs),
        sales_attributes=tuple(SalesAttributeChoice(a, tuple(v)) for a, v in grouped.items()),
        skus=tuple(SkuDraft(tuple(r["spec_value_ids"]), r["code"], r["price"], r["list_price"], r["member_price"],
                            r["member_level"], r["weight_grams"], r["image_url"], r["purchase_limit"],
                            r["recharge_account_kind"])
                   for r in skus if r["status"] == "ACTIVE"))
    return content, list(skus), p["listed_at"] is not None


def _deletable_skus(rows: list[asyncpg.Record], ever_listed: bool) -> set[int]:
    """A SKU that never held stock on a never-listed product cannot be in any order or stock
    record, so dropping its combination deletes it; any other one is only disabled."""
    return set() if ever_listed else {r["id"] for r in rows if not r["stocked"]}


async def update_product(conn: asyncpg.Connection, principal: Principal, product_id: int,
                         changes: dict) -> int:
    """Merge `changes` (ProductContent field → new value) into the product and check the whole."""
    unknown = set(changes) - CONTENT_FIELDS
    if unknown:
        raise ValueError(f"not product content: {sorted(unknown)}")
    row = await lock_owned_product(conn, principal, product_id)
    status = ProductStatus(row["status"])
    if status not in EDITABLE:
        raise DomainError.of(CommonError.INVALID_TRANSITION, f"a {status.value} product cannot be edited"
                             + ("; delist it first" if status is ProductStatus.LISTED else ""), "productId")
    current, sku_rows, ever_listed = await _stored_content(conn, product_id)
    deletable = _deletable_skus(sku_rows, ever_listed)
    checked = await _check_content(conn, row["merchant_id"], dataclasses.replace(current, **changes),
                                   product_id, released=deletable)
    c = checked.content
    switches_dropship = (current.fulfillment_type == "DROPSHIP") != (c.fulfillment_type == "DROPSHIP")
    if switches_dropship and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM stock st JOIN skus k ON k.id = st.sku_id"
            " WHERE k.product_id = $1 AND st.on_hand > 0)", product_id):
        # a DROPSHIP SKU's stock is its supplier's declaration, other SKUs' never is (warehouses.py)
        raise DomainError.of(CatalogError.WAREHOUSE_KIND_MISMATCH, "the product holds stock: set it to 0 before "
                             "switching to or from DROPSHIP", "fulfillmentType")
    back_to_draft = status in BACK_TO_REVIEW and row["merchant_id"] != PLATFORM_MERCHANT_ID
    await conn.execute(
        "UPDATE products SET category_id = $2, brand_id = $3, title = $4, subtitle = $5, description = $6,"
        " fulfillment_type = $7, updated_at = now() WHERE id = $1",
        product_id, c.category_id, c.brand_id, c.title, c.subtitle, c.description, c.fulfillment_type)
    await _write_children(conn, product_id, c)
    with _codes_taken_meanwhile():
        await _replace_skus(conn, product_id, row["merchant_id"], sku_rows, checked, deletable)
    await refresh_product_index(conn, [product_id])
    if back_to_draft:
        await PRODUCTS.move(conn, [product_id], LifecycleAction.EDIT, actor=principal.subject,
                            reason="edited; needs review again", sets="scheduled_listing_at = NULL")
    else:
        await emit(conn, "product", "PRODUCT_UPDATED", {"product_id": product_id, "status": status.value},
                   merchant_id=row["merchant_id"])
    return product_id


async def update_sku_price(conn: asyncpg.Connection, principal: Principal, sku_id: int, price: int,
                           list_price: int | None, member_price: int | None,
                           member_level: int | None) -> PriceChange:
    """Set a SKU's whole price set (omitted list/member prices are cleared); no review needed."""
    row = await conn.fetchrow(
        "SELECT s.id, s.product_id, s.price, p.merchant_id, p.status FROM skus s"
        " JOIN products p ON p.id = s.product_id WHERE s.id = $1 FOR UPDATE OF p, s", sku_id)
    if row is None or not principal.can_manage_merchant(row["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "SKU not found", "skuId")
    if row["status"] == ProductStatus.RECYCLED:
        raise DomainError.of(CommonError.INVALID_TRANSITION, "the product is recycled", "skuId")
    problems = price_problems(price, list_price, member_price, member_level, ())
    if problems:
        raise DomainError(*problems)
    await conn.execute("UPDATE skus SET price = $2, list_price = $3, member_price = $4, member_level = $5"
                       " WHERE id = $1", sku_id, price, list_price, member_price, member_level)
    await refresh_product_index(conn, [row["product_id"]])
    await emit(conn, "product", "PRICE_CHANGED",
               {"product_id": row["product_id"], "sku_id": sku_id, "old_price": row["price"], "price": price},
               merchant_id=row["merchant_id"])
    return PriceChange(sku_id, row["product_id"])


# ---------------------------------------------------------------- staff reads


async def generate_sku_matrix(conn: asyncpg.Connection, category_id: int,
                              sales_attributes: tuple[SalesAttributeChoice, ...]) -> list[SkuCombination]:
    """The SKU grid a console renders for proposed sales values of a category."""
    _, template = await _category_template(conn, category_id)
    if len(sales_attributes) > MAX_SALES_ATTRIBUTES:
        raise DomainError.of(CommonError.TOO_MANY,
                             f"at most {MAX_SALES_ATTRIBUTES} sales attributes", "salesAttributes")
    values = await _values_by_id(conn, [v.value_id for s in sales_attributes for v in s.values])
    axes, problems = _sales_axes(sales_attributes, template, values)
    if problems:
        raise DomainError(*problems)
    return sku_matrix(axes)


def _visible_merchant(principal: Principal, merchant_id: int | None) -> int | None:
    """Staff read their own merchant; admins one merchant or (None) all."""
    if principal.is_admin:
        return merchant_id
    if merchant_id is not None and merchant_id != principal.merchant_id:
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    return principal.merchant_id


async def merchant_products(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                            status: ProductStatus | None, first: int, after: str | None) -> ProductPage:
    """A merchant's products in any status, newest first (keyset on id)."""
    merchant_id = _visible_merchant(principal, merchant_id)
    after_id = decode_cursor(after, "MERCHANT", (int,))[0] if after else None
    rows = await conn.fetch(
        f"SELECT {PRODUCT_COLUMNS} FROM products p WHERE ($1::bigint IS NULL OR p.merchant_id = $1)"
        " AND ($2::text IS NULL OR p.status = $2) AND ($3::bigint IS NULL OR p.id < $3)"
        " ORDER BY p.id DESC LIMIT $4", merchant_id, status, after_id, first + 1)
    page = rows[:first]
    return ProductPage(page, [encode_cursor("MERCHANT", [r["id"]]) for r in page], len(rows) > first)


async def review_queue(conn: asyncpg.Connection, first: int, after: str | None) -> ProductPage:
    """PENDING_REVIEW products, longest waiting (since their latest submission) first (the
    field is admin-only: every merchant's products)."""
    after_key = decode_cursor(after, "REVIEW", (datetime, int)) if after else (None, None)
    rows = await conn.fetch(
        f"""
        SELECT {PRODUCT_COLUMNS}, h.at AS submitted_at FROM products p
        CROSS JOIN LATERAL (SELECT max(created_at) AS at FROM product_status_history
                            WHERE product_id = p.id AND to_status = 'PENDING_REVIEW') h
        WHERE p.status = 'PENDING_REVIEW'
          AND ($1::timestamptz IS NULL OR (h.at, p.id) > ($1, $2::bigint))
        ORDER BY h.at, p.id LIMIT $3
        """, *after_key, first + 1)
    page = rows[:first]
    return ProductPage(page, [encode_cursor("REVIEW", [r["submitted_at"], r["id"]]) for r in page],
                       len(rows) > first)


async def status_history(conn: asyncpg.Connection, principal: Principal, product_id: int) -> list[asyncpg.Record]:
    """Every status change of a product the caller manages, oldest first."""
    merchant_id = await conn.fetchval("SELECT merchant_id FROM products WHERE id = $1", product_id)
    if merchant_id is None or not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "product not found", "productId")
    return await conn.fetch("SELECT from_status, to_status, actor, reason, created_at FROM product_status_history"
                            " WHERE product_id = $1 ORDER BY id", product_id)
