"""Brands (DOMAIN §2): Chinese and English names, logo, origin, status, linked categories.

Brand names are part of every product's search text, so a rename refreshes the brand's
products in the same transaction. Buyers and merchants see ACTIVE brands only.
"""

from collections.abc import Sequence

import asyncpg

from app.auth.principal import Principal
from app.catalog.categories import check_ids_unique, check_url, clean_name
from app.catalog.errors import CatalogError
from app.catalog.index import refresh_products_of_brand
from app.db import Database
from app.errors import CommonError, DomainError, NotFound, Problem

BRAND_STATUSES = ("ACTIVE", "DISABLED")


def _check_text(value: str, max_len: int, *field: str) -> str:
    value = (value or "").strip()
    if len(value) > max_len:
        raise DomainError.of(CommonError.INVALID_VALUE, f"give at most {max_len} characters", *field)
    return value


def _check_status(status: str) -> str:
    if status not in BRAND_STATUSES:
        raise DomainError.of(CommonError.INVALID_VALUE, "status is ACTIVE or DISABLED", "status")
    return status


async def brand_category_ids_by_ids(db: Database, ids: Sequence[int]) -> list[list[int]]:
    rows = await db.fetch("SELECT * FROM brand_categories WHERE brand_id = ANY($1::bigint[]) ORDER BY category_id",
                          list(ids))
    grouped: dict[int, list[int]] = {pk: [] for pk in ids}
    for r in rows:
        grouped[r["brand_id"]].append(r["category_id"])
    return [grouped[pk] for pk in ids]


async def list_brands(conn: asyncpg.Connection, principal: Principal | None, category_id: int | None,
                      first: int, after_id: int | None) -> list[asyncpg.Record]:
    """Up to `first + 1` brands by Chinese name after brand `after_id`; with a category, those
    linked to it or to one of its ancestors. Admins also see disabled brands."""
    active_only = principal is None or not principal.is_admin
    return await conn.fetch(
        """
        WITH RECURSIVE up AS (
            SELECT id, parent_id FROM backend_categories WHERE id = $1
            UNION ALL SELECT c.id, c.parent_id FROM backend_categories c JOIN up ON c.id = up.parent_id)
        SELECT b.* FROM brands b
        WHERE (NOT $2 OR b.status = 'ACTIVE')
          AND ($1::bigint IS NULL OR EXISTS (SELECT 1 FROM brand_categories bc
                                             WHERE bc.brand_id = b.id AND bc.category_id IN (SELECT id FROM up)))
          AND ($4::bigint IS NULL OR (b.name_zh, b.id) > (SELECT name_zh, id FROM brands WHERE id = $4))
        ORDER BY b.name_zh, b.id LIMIT $3
        """, category_id, active_only, first + 1, after_id)


async def create_brand(conn: asyncpg.Connection, name_zh: str, name_en: str,
                       logo_url: str | None, origin: str, status: str) -> asyncpg.Record:
    name_zh = clean_name(name_zh, 100, "nameZh")
    name_en = _check_text(name_en, 100, "nameEn")
    origin = _check_text(origin, 100, "origin")
    logo_url = check_url(logo_url, "logoUrl")
    row = await conn.fetchrow(
        "INSERT INTO brands (name_zh, name_en, logo_url, origin, status) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT ((lower(name_zh))) DO NOTHING RETURNING *",
        name_zh, name_en, logo_url, origin, _check_status(status))
    if row is None:
        raise DomainError.of(CatalogError.DUPLICATE_NAME, f"a brand is already called '{name_zh}'", "nameZh")
    return row


async def _lock_brand(conn: asyncpg.Connection, brand_id: int, *field: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM brands WHERE id = $1 FOR UPDATE", brand_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "brand not found", *field)
    return row


async def update_brand(conn: asyncpg.Connection, brand_id: int, name_zh: str | None,
                       name_en: str | None, logo_url: str | None, origin: str | None,
                       status: str | None) -> asyncpg.Record:
    """None keeps a field; an empty `logo_url` removes the logo."""
    current = await _lock_brand(conn, brand_id, "id")
    if name_zh is not None:
        name_zh = clean_name(name_zh, 100, "nameZh")
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM brands WHERE lower(name_zh) = lower($1) AND id <> $2)",
                               name_zh, brand_id):
            raise DomainError.of(CatalogError.DUPLICATE_NAME, f"a brand is already called '{name_zh}'", "nameZh")
    if name_en is not None:
        name_en = _check_text(name_en, 100, "nameEn")
    if origin is not None:
        origin = _check_text(origin, 100, "origin")
    if status is not None:
        _check_status(status)
    new_logo = current["logo_url"] if logo_url is None else check_url(logo_url, "logoUrl")
    row = await conn.fetchrow(
        "UPDATE brands SET name_zh = coalesce($2, name_zh), name_en = coalesce($3, name_en), logo_url = $4,"
        " origin = coalesce($5, origin), status = coalesce($6, status) WHERE id = $1 RETURNING *",
        brand_id, name_zh, name_en, new_logo, origin, status)
    if (row["name_zh"], row["name_en"]) != (current["name_zh"], current["name_en"]):
        await refresh_products_of_brand(conn, brand_id)
    return row


async def set_brand_categories(conn: asyncpg.Connection, brand_id: int,
                               category_ids: Sequence[int]) -> asyncpg.Record:
    """Replace the backend categories a brand is offered in."""
    check_ids_unique(category_ids, "categoryIds")
    row = await _lock_brand(conn, brand_id, "brandId")
    found = {r["id"] for r in await conn.fetch("SELECT id FROM backend_categories WHERE id = ANY($1::bigint[])",
                                               list(category_ids))}
    problems = [Problem(CommonError.NOT_FOUND, "category not found", ("categoryIds", str(i)))
                for i, pk in enumerate(category_ids) if pk not in found]
    if problems:
        raise DomainError(*problems)
    await conn.execute("DELETE FROM brand_categories WHERE brand_id = $1", brand_id)
    await conn.execute("INSERT INTO brand_categories (brand_id, category_id) SELECT $1, unnest($2::bigint[])",
                       brand_id, list(category_ids))
    return row
