"""Backend categories (with attribute templates and commission rates) and frontend categories.

Backend categories form the tree products bind to, always at a leaf: a category that already
has products cannot get children. A category's attribute template is its ancestors'
attributes followed by its own, so a name may appear only once along any root-to-leaf path.
Frontend categories are the display tree, mapped many-to-many onto backend leaves; search
text includes frontend names, so every mapping or rename refreshes the affected products.
Platform operators (admins) own all of this; merchants only read it.
"""

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

import asyncpg

from app.auth.principal import Principal
from app.catalog.errors import CatalogError
from app.catalog.index import refresh_products_of_category
from app.db import Database
from app.errors import CommonError, DomainError, NotFound, Problem

MAX_DEPTH = 5
MAX_LIST_INPUT = 200      # values / ids accepted in one call
ATTRIBUTE_KINDS = ("KEY", "SALES", "NORMAL")

_CATEGORY_COLUMNS = "id, parent_id, name, depth, is_leaf, commission_rate, sort"
_ANCESTRY = f"""
    WITH RECURSIVE path AS (
        SELECT id AS start_id, {_CATEGORY_COLUMNS} FROM backend_categories WHERE id = ANY($1::bigint[])
        UNION ALL
        SELECT path.start_id, c.id, c.parent_id, c.name, c.depth, c.is_leaf, c.commission_rate, c.sort
        FROM backend_categories c JOIN path ON c.id = path.parent_id)
"""


# ---- pure rules -------------------------------------------------------------------------

def clean_name(name: str, max_len: int, *field: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= max_len:
        raise DomainError.of(CatalogError.INVALID_NAME, f"give a name of 1 to {max_len} characters", *field)
    return name


def check_rate(rate: Decimal, *field: str) -> Decimal:
    """A commission rate is a fraction 0..1 with at most 4 decimals (numeric(6,4))."""
    exponent = rate.as_tuple().exponent  # an int for a finite rate ('n', 'N', 'F' otherwise)
    if not rate.is_finite() or not 0 <= rate <= 1 or (isinstance(exponent, int) and exponent < -4):
        raise DomainError.of(CatalogError.INVALID_RATE,
                             "a rate is a fraction from 0 to 1 with at most 4 decimals", *field)
    return rate


def check_url(url: str | None, *field: str) -> str | None:
    """Empty means no image; otherwise an http(s) URL of reasonable length."""
    if not url:
        return None
    if len(url) > 1000 or not url.startswith(("https://", "http://")):
        raise DomainError.of(CatalogError.INVALID_URL, "give an http(s) URL of at most 1000 characters", *field)
    return url


def clean_list(items: Sequence[str], max_len: int, duplicate_code: StrEnum, *field: str) -> list[str]:
    """Strip, bound and de-duplicate a list of names/values from a client, reporting each bad item."""
    if len(items) > MAX_LIST_INPUT:
        raise DomainError.of(CommonError.TOO_MANY, f"give at most {MAX_LIST_INPUT} items", *field)
    problems, seen, cleaned = [], set(), []
    for i, raw in enumerate(items):
        value = raw.strip()
        if not 1 <= len(value) <= max_len:
            problems.append(Problem(CommonError.INVALID_VALUE,
                                    f"give a value of 1 to {max_len} characters", (*field, str(i))))
        elif value.lower() in seen:
            problems.append(Problem(duplicate_code, f"'{value}' is given twice", (*field, str(i))))
        seen.add(value.lower())
        cleaned.append(value)
    if problems:
        raise DomainError(*problems)
    return cleaned


def check_ids_unique(ids: Sequence[int], *field: str) -> None:
    if len(ids) > MAX_LIST_INPUT:
        raise DomainError.of(CommonError.TOO_MANY, f"give at most {MAX_LIST_INPUT} items", *field)
    seen: set[int] = set()
    for i, pk in enumerate(ids):
        if pk in seen:
            raise DomainError.of(CatalogError.DUPLICATE_VALUE, "an id is given twice", *field, str(i))
        seen.add(pk)


def nearest_override(own_rate: Decimal, overrides_self_to_root: Sequence[Decimal | None]) -> Decimal:
    """The merchant's override on the category or its nearest ancestor, else the category's rate."""
    return next((r for r in overrides_self_to_root if r is not None), own_rate)


# ---- batch reads (DataLoaders) ---------------------------------------------------------

def _group(rows, keys: Sequence[int], key: str, pick=lambda r: r) -> list[list]:
    grouped: dict[int, list] = {k: [] for k in keys}
    for r in rows:
        grouped[r[key]].append(pick(r))
    return [grouped[k] for k in keys]


async def backend_category_children_by_ids(db: Database, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch(f"SELECT {_CATEGORY_COLUMNS} FROM backend_categories WHERE parent_id = ANY($1::bigint[])"
                          " ORDER BY sort, id", list(ids))
    return _group(rows, ids, "parent_id")


async def backend_category_paths_by_ids(db: Database, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch(_ANCESTRY + " SELECT * FROM path ORDER BY start_id, depth", list(ids))
    return _group(rows, ids, "start_id")


async def template_attributes_by_category_ids(db: Database, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch(
        _ANCESTRY + " SELECT path.start_id, a.* FROM path JOIN attributes a ON a.category_id = path.id"
                    " ORDER BY path.start_id, path.depth, a.sort, a.id", list(ids))
    return _group(rows, ids, "start_id")


async def attribute_values_by_attribute_ids(db: Database, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM attribute_values WHERE attribute_id = ANY($1::bigint[])"
                          " ORDER BY sort, id", list(ids))
    return _group(rows, ids, "attribute_id")


async def frontend_category_children_by_ids(db: Database, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM frontend_categories WHERE parent_id = ANY($1::bigint[]) ORDER BY sort, id",
                          list(ids))
    return _group(rows, ids, "parent_id")


async def frontend_backend_ids_by_ids(db: Database, ids: Sequence[int]) -> list[list[int]]:
    rows = await db.fetch("SELECT * FROM frontend_category_mappings WHERE frontend_category_id = ANY($1::bigint[])"
                          " ORDER BY backend_category_id", list(ids))
    return _group(rows, ids, "frontend_category_id", lambda r: r["backend_category_id"])


# ---- backend categories -----------------------------------------------------------------

async def all_backend_categories(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The whole tree in one statement, parents before children, siblings in display order."""
    return await conn.fetch(f"SELECT {_CATEGORY_COLUMNS} FROM backend_categories ORDER BY depth, sort, id")


def children_by_parent(rows: Sequence) -> dict[int | None, list]:
    tree: dict[int | None, list] = {r["id"]: [] for r in rows}
    tree[None] = []
    for r in rows:
        tree[r["parent_id"]].append(r)
    return tree


async def get_backend_category(conn: asyncpg.Connection, category_id: int, *field: str,
                               lock: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow(f"SELECT {_CATEGORY_COLUMNS} FROM backend_categories WHERE id = $1"
                              + (" FOR UPDATE" if lock else ""), category_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "category not found", *field)
    return row


async def create_backend_category(conn: asyncpg.Connection, parent_id: int | None,
                                  name: str, commission_rate: Decimal, sort: int) -> asyncpg.Record:
    name = clean_name(name, 50, "name")
    check_rate(commission_rate, "commissionRate")
    depth = 1
    if parent_id is not None:
        # FOR UPDATE: a product binding that reads the parent FOR SHARE waits, then sees is_leaf = false.
        parent = await get_backend_category(conn, parent_id, "parentId", lock=True)
        if parent["depth"] >= MAX_DEPTH:
            raise DomainError.of(CatalogError.DEPTH_LIMIT, f"the tree is at most {MAX_DEPTH} levels deep", "parentId")
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM products WHERE category_id = $1)", parent_id):
            raise DomainError.of(CatalogError.CATEGORY_HAS_PRODUCTS,
                                 "products are bound to this category; it must stay a leaf", "parentId")
        depth = parent["depth"] + 1
    row = await conn.fetchrow(
        "INSERT INTO backend_categories (parent_id, name, depth, commission_rate, sort) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT ((coalesce(parent_id, 0)), name) DO NOTHING RETURNING " + _CATEGORY_COLUMNS,
        parent_id, name, depth, commission_rate, sort)
    if row is None:
        raise DomainError.of(CatalogError.DUPLICATE_NAME, f"a sibling category is already called '{name}'", "name")
    if parent_id is not None:
        await conn.execute("UPDATE backend_categories SET is_leaf = false WHERE id = $1", parent_id)
    return row


async def update_backend_category(conn: asyncpg.Connection, category_id: int,
                                  name: str | None, commission_rate: Decimal | None,
                                  sort: int | None) -> asyncpg.Record:
    current = await get_backend_category(conn, category_id, "id", lock=True)
    if name is not None:
        name = clean_name(name, 50, "name")
        if name != current["name"] and await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM backend_categories WHERE parent_id IS NOT DISTINCT FROM $1"
                " AND name = $2)", current["parent_id"], name):
            raise DomainError.of(CatalogError.DUPLICATE_NAME, f"a sibling category is already called '{name}'", "name")
    if commission_rate is not None:
        check_rate(commission_rate, "commissionRate")
    row = await conn.fetchrow(
        "UPDATE backend_categories SET name = coalesce($2, name), commission_rate = coalesce($3, commission_rate),"
        " sort = coalesce($4, sort) WHERE id = $1 RETURNING " + _CATEGORY_COLUMNS,
        category_id, name, commission_rate, sort)
    if name is not None and name != current["name"]:
        # Search text holds the category path, so every product below this node is affected.
        subtree = await conn.fetch(
            "WITH RECURSIVE sub AS (SELECT id FROM backend_categories WHERE id = $1"
            " UNION ALL SELECT c.id FROM backend_categories c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub",
            category_id)
        await refresh_products_of_category(conn, [r["id"] for r in subtree])
    return row


# ---- commission -------------------------------------------------------------------------

async def _require_merchant(conn: asyncpg.Connection, merchant_id: int) -> None:
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)", merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")


async def effective_commission_rate(conn: asyncpg.Connection, merchant_id: int, category_id: int) -> Decimal:
    """The rate settlement charges a merchant for a category (DOMAIN §10)."""
    rows = await conn.fetch(
        _ANCESTRY + " SELECT path.commission_rate, o.commission_rate AS override FROM path"
                    " LEFT JOIN merchant_commission_rates o ON o.category_id = path.id AND o.merchant_id = $2"
                    " ORDER BY path.depth DESC", [category_id], merchant_id)
    if not rows:
        raise NotFound.of(CommonError.NOT_FOUND, "category not found", "categoryId")
    return nearest_override(rows[0]["commission_rate"], [r["override"] for r in rows])


async def commission_rate_for(conn: asyncpg.Connection, principal: Principal, merchant_id: int,
                              category_id: int) -> Decimal:
    """The effective rate as its merchant's staff (or an admin) may see it."""
    if not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    await _require_merchant(conn, merchant_id)
    return await effective_commission_rate(conn, merchant_id, category_id)


async def set_merchant_commission_rate(conn: asyncpg.Connection, merchant_id: int,
                                       category_id: int, rate: Decimal | None) -> Decimal:
    """Set (or with None remove) a merchant's override on a category; returns the effective rate."""
    await _require_merchant(conn, merchant_id)
    await get_backend_category(conn, category_id, "categoryId")
    if rate is None:
        await conn.execute("DELETE FROM merchant_commission_rates WHERE merchant_id = $1 AND category_id = $2",
                           merchant_id, category_id)
    else:
        check_rate(rate, "rate")
        await conn.execute(
            "INSERT INTO merchant_commission_rates (merchant_id, category_id, commission_rate) VALUES ($1, $2, $3)"
            " ON CONFLICT (merchant_id, category_id) DO UPDATE SET commission_rate = EXCLUDED.commission_rate",
            merchant_id, category_id, rate)
    return await effective_commission_rate(conn, merchant_id, category_id)


# ---- attribute templates ----------------------------------------------------------------

async def _insert_values(conn: asyncpg.Connection, attribute_id: int, values: list[str], first_sort: int) -> None:
    await conn.execute(
        "INSERT INTO attribute_values (attribute_id, value, sort)"
        " SELECT $1, v, $3 + ord::int - 1 FROM unnest($2::text[]) WITH ORDINALITY AS t(v, ord)",
        attribute_id, values, first_sort)


async def create_attribute(conn: asyncpg.Connection, category_id: int, name: str,
                           kind: str, filterable: bool, required: bool, sort: int,
                           values: Sequence[str]) -> asyncpg.Record:
    name = clean_name(name, 50, "name")
    if kind not in ATTRIBUTE_KINDS:
        raise DomainError.of(CommonError.INVALID_VALUE, "kind is KEY, SALES or NORMAL", "kind")
    values = clean_list(values, 100, CatalogError.DUPLICATE_VALUE, "values")
    await get_backend_category(conn, category_id, "categoryId")
    # Lock the tree's root: attribute names are unique along every path of that tree.
    await conn.execute(_ANCESTRY + " SELECT 1 FROM backend_categories WHERE id ="
                                   " (SELECT id FROM path WHERE parent_id IS NULL) FOR UPDATE", [category_id])
    clash = await conn.fetchval(
        _ANCESTRY + """, below AS (
            SELECT id FROM backend_categories WHERE id = $1[1]
            UNION ALL SELECT c.id FROM backend_categories c JOIN below ON c.parent_id = below.id)
        SELECT EXISTS (SELECT 1 FROM attributes a
                       WHERE (a.category_id IN (SELECT id FROM path) OR a.category_id IN (SELECT id FROM below))
                         AND lower(a.name) = lower($2))""", [category_id], name)
    if clash:
        raise DomainError.of(CatalogError.DUPLICATE_NAME,
                             f"'{name}' is already an attribute of this category, an ancestor or a descendant", "name")
    row = await conn.fetchrow(
        "INSERT INTO attributes (category_id, name, kind, filterable, required, sort)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *", category_id, name, kind, filterable, required, sort)
    await _insert_values(conn, row["id"], values, 0)
    return row


async def add_attribute_values(conn: asyncpg.Connection, attribute_id: int,
                               values: Sequence[str]) -> asyncpg.Record:
    values = clean_list(values, 100, CatalogError.DUPLICATE_VALUE, "values")
    if not values:
        raise DomainError.of(CommonError.INVALID_VALUE, "give at least one value", "values")
    attribute = await conn.fetchrow("SELECT * FROM attributes WHERE id = $1 FOR UPDATE", attribute_id)
    if attribute is None:
        raise NotFound.of(CommonError.NOT_FOUND, "attribute not found", "attributeId")
    existing = await conn.fetch("SELECT value, sort FROM attribute_values WHERE attribute_id = $1", attribute_id)
    known = {r["value"].lower() for r in existing}
    problems = [Problem(CatalogError.DUPLICATE_VALUE, f"'{v}' is already a value", ("values", str(i)))
                for i, v in enumerate(values) if v.lower() in known]
    if problems:
        raise DomainError(*problems)
    await _insert_values(conn, attribute_id, values, max((r["sort"] for r in existing), default=-1) + 1)
    return attribute


# ---- frontend categories ----------------------------------------------------------------

async def all_frontend_categories(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The whole display tree with each node's backend category ids, in one statement."""
    return await conn.fetch(
        "WITH RECURSIVE tree AS ("
        "  SELECT f.*, 1 AS level FROM frontend_categories f WHERE parent_id IS NULL"
        "  UNION ALL SELECT f.*, tree.level + 1 FROM frontend_categories f JOIN tree ON f.parent_id = tree.id)"
        " SELECT tree.*, coalesce((SELECT array_agg(m.backend_category_id ORDER BY m.backend_category_id)"
        "                          FROM frontend_category_mappings m WHERE m.frontend_category_id = tree.id),"
        "                         '{}') AS backend_category_ids"
        " FROM tree ORDER BY level, sort, id")


async def _lock_frontend_category(conn: asyncpg.Connection, category_id: int, *field: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM frontend_categories WHERE id = $1 FOR UPDATE", category_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "frontend category not found", *field)
    return row


async def _check_frontend_sibling_name(conn: asyncpg.Connection, parent_id: int | None, name: str,
                                       except_id: int = 0) -> None:
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM frontend_categories WHERE parent_id IS NOT DISTINCT FROM $1"
                           " AND name = $2 AND id <> $3)", parent_id, name, except_id):
        raise DomainError.of(CatalogError.DUPLICATE_NAME, f"a sibling category is already called '{name}'", "name")


async def _mapped_backend_ids(conn: asyncpg.Connection, frontend_id: int) -> list[int]:
    return [r["backend_category_id"] for r in await conn.fetch(
        "SELECT backend_category_id FROM frontend_category_mappings WHERE frontend_category_id = $1", frontend_id)]


async def create_frontend_category(conn: asyncpg.Connection, parent_id: int | None,
                                   name: str, icon_url: str | None, sort: int) -> asyncpg.Record:
    name = clean_name(name, 50, "name")
    icon_url = check_url(icon_url, "iconUrl")
    if parent_id is not None:
        await _lock_frontend_category(conn, parent_id, "parentId")
        depth = await conn.fetchval(
            "WITH RECURSIVE up AS (SELECT id, parent_id FROM frontend_categories WHERE id = $1"
            " UNION ALL SELECT f.id, f.parent_id FROM frontend_categories f JOIN up ON f.id = up.parent_id)"
            " SELECT count(*) FROM up", parent_id)
        if depth >= MAX_DEPTH:
            raise DomainError.of(CatalogError.DEPTH_LIMIT, f"the tree is at most {MAX_DEPTH} levels deep", "parentId")
    await _check_frontend_sibling_name(conn, parent_id, name)
    return await conn.fetchrow("INSERT INTO frontend_categories (parent_id, name, icon_url, sort)"
                               " VALUES ($1, $2, $3, $4) RETURNING *", parent_id, name, icon_url, sort)


async def update_frontend_category(conn: asyncpg.Connection, category_id: int,
                                   name: str | None, icon_url: str | None, sort: int | None) -> asyncpg.Record:
    """`icon_url` None keeps the icon, "" removes it."""
    current = await _lock_frontend_category(conn, category_id, "id")
    if name is not None:
        name = clean_name(name, 50, "name")
        await _check_frontend_sibling_name(conn, current["parent_id"], name, category_id)
    new_icon = current["icon_url"] if icon_url is None else check_url(icon_url, "iconUrl")
    row = await conn.fetchrow("UPDATE frontend_categories SET name = coalesce($2, name), icon_url = $3,"
                              " sort = coalesce($4, sort) WHERE id = $1 RETURNING *",
                              category_id, name, new_icon, sort)
    if name is not None and name != current["name"]:
        await refresh_products_of_category(conn, await _mapped_backend_ids(conn, category_id))
    return row


async def delete_frontend_category(conn: asyncpg.Connection, category_id: int) -> None:
    await _lock_frontend_category(conn, category_id, "id")
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM frontend_categories WHERE parent_id = $1)", category_id):
        raise DomainError.of(CatalogError.HAS_CHILDREN, "delete or move its child categories first", "id")
    mapped = await _mapped_backend_ids(conn, category_id)
    await conn.execute("DELETE FROM frontend_categories WHERE id = $1", category_id)
    await refresh_products_of_category(conn, mapped)


async def set_frontend_category_mappings(conn: asyncpg.Connection, frontend_id: int,
                                         backend_ids: Sequence[int]) -> asyncpg.Record:
    """Replace the backend leaves a display category shows."""
    check_ids_unique(backend_ids, "backendCategoryIds")
    row = await _lock_frontend_category(conn, frontend_id, "frontendCategoryId")
    found = {r["id"]: r for r in await conn.fetch(
        "SELECT id, is_leaf FROM backend_categories WHERE id = ANY($1::bigint[])", list(backend_ids))}
    problems = []
    for i, pk in enumerate(backend_ids):
        if pk not in found:
            problems.append(Problem(CommonError.NOT_FOUND, "category not found", ("backendCategoryIds", str(i))))
        elif not found[pk]["is_leaf"]:
            problems.append(Problem(CatalogError.NOT_LEAF_CATEGORY, "map leaf categories (products bind to leaves)",
                                    ("backendCategoryIds", str(i))))
    if problems:
        raise DomainError(*problems)
    before = await _mapped_backend_ids(conn, frontend_id)
    await conn.execute("DELETE FROM frontend_category_mappings WHERE frontend_category_id = $1", frontend_id)
    await conn.execute("INSERT INTO frontend_category_mappings (frontend_category_id, backend_category_id)"
                       " SELECT $1, unnest($2::bigint[])", frontend_id, list(backend_ids))
    await refresh_products_of_category(conn, sorted(set(before) ^ set(backend_ids)))
    return row
