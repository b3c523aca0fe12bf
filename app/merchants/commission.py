"""Commission rates (扣点, DOMAIN §10): per backend category, overridable per merchant, each
with effective dates; the rate in force at placement is stored on each order line, so a later
change never reprices a sale. Self-operated shops settle to the platform itself at rate 0 (§10.1).

Dated rates live in `commission_rates` (a row per change, in force from `effective_from` until
the next row of the same category and merchant). The older undated columns stay the base: the
rate of a sale at `at` is the first of
  1. the merchant's override nearest the product's leaf along its ancestry — at each level the
     dated one in force at `at`, else the undated one (merchant_commission_rates),
  2. the leaf category's dated rate in force at `at`,
  3. the leaf category's undated rate (backend_categories.commission_rate).
A category's own rate is its leaf's (products bind to leaves), so category rates are set on
leaves; a merchant's override may name any ancestor and covers its subtree.
Changes take effect from a date (00:00 UTC) today or later — from now when the date is today —
so no sale already placed is ever re-rated.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.merchants.errors import ShopError

_DATED = ("(SELECT r.rate FROM commission_rates r WHERE r.category_id = {category} AND coalesce(r.merchant_id, 0) = {who}"
          " AND r.effective_from <= $3 ORDER BY r.effective_from DESC LIMIT 1)")


async def rates_in_force(conn: asyncpg.Connection, merchant_id: int, product_ids: Sequence[int],
                         at: datetime) -> dict[int, Decimal]:
    """The commission rate of each product's sale by the merchant at `at`, by product id: the
    merchant's override nearest the product's leaf category along its ancestry (dated before
    undated at each level, as the catalog's effectiveCommissionRate walks it), else the leaf's
    dated rate, else the leaf's undated rate; 0 for self-operated shops."""
    rows = await conn.fetch(
        f"""
        WITH RECURSIVE path AS (
            SELECT p.id AS product_id, c.id, c.parent_id, 0 AS depth
            FROM products p JOIN backend_categories c ON c.id = p.category_id WHERE p.id = ANY($2::bigint[])
            UNION ALL
            SELECT path.product_id, c.id, c.parent_id, path.depth + 1
            FROM backend_categories c JOIN path ON c.id = path.parent_id),
        override AS (
            SELECT path.product_id, path.depth, coalesce({_DATED.format(category="path.id", who="$1")},
                (SELECT o.commission_rate FROM merchant_commission_rates o
                 WHERE o.category_id = path.id AND o.merchant_id = $1)) AS rate
            FROM path)
        SELECT p.id, CASE WHEN m.kind = 'SELF_OPERATED' THEN 0 ELSE coalesce(
            (SELECT o.rate FROM override o WHERE o.product_id = p.id AND o.rate IS NOT NULL ORDER BY o.depth LIMIT 1),
            {_DATED.format(category="c.id", who="0")}, c.commission_rate) END AS rate
        FROM products p JOIN backend_categories c ON c.id = p.category_id JOIN merchants m ON m.id = $1
        WHERE p.id = ANY($2::bigint[])
        """, merchant_id, list(product_ids), at)
    return {r["id"]: Decimal(r["rate"]) for r in rows}


def _rate(value: str | Decimal) -> Decimal:
    try:
        rate = Decimal(value)
    except (InvalidOperation, TypeError):
        rate = Decimal(-1)
    if not (rate.is_finite() and 0 <= rate <= 1 and rate == rate.quantize(Decimal("0.0001"))):
        raise DomainError.of(CommonError.INVALID_VALUE, "a rate is a fraction from 0 to 1 with at most 4 decimals",
                             "rate")
    return rate


def effective_from(day: date, now: datetime) -> datetime:
    """When a change from `day` starts: its midnight (UTC), or now when `day` is today."""
    if day < now.astimezone(UTC).date():
        raise DomainError.of(ShopError.COMMISSION_DATE_IN_PAST, "rates change from today on, never before",
                             "effectiveFrom")
    return max(datetime.combine(day, time(), UTC), now)


async def set_rate(conn: asyncpg.Connection, admin: Principal, category_id: int, merchant_id: int | None,
                   rate: str | Decimal, day: date, now: datetime) -> asyncpg.Record:
    """The category's rate (merchant_id None) or the merchant's override from `day`; setting the
    same start again replaces that change."""
    value = _rate(rate)
    start = effective_from(day, now)
    leaf = await conn.fetchval("SELECT is_leaf FROM backend_categories WHERE id = $1", category_id)
    if leaf is None:
        raise NotFound.of(CommonError.NOT_FOUND, "category not found", "categoryId")
    if merchant_id is None and not leaf:
        raise DomainError.of(CommonError.INVALID_VALUE, "a category's rate is set on a leaf category (products bind "
                             "to leaves); a merchant's override may name any category", "categoryId")
    if merchant_id is not None and not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1 AND kind = 'MARKETPLACE')", merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "shop not found", "merchantId")
    row = await conn.fetchrow(
        "INSERT INTO commission_rates (category_id, merchant_id, rate, effective_from, set_by)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (category_id, (coalesce(merchant_id, 0)), effective_from)"
        " DO UPDATE SET rate = EXCLUDED.rate, set_by = EXCLUDED.set_by, created_at = now() RETURNING *",
        category_id, merchant_id, value, start, admin.subject)
    await emit(conn, "merchant", "COMMISSION_RATE_SET",
               {"category_id": category_id, "rate": str(value), "effective_from": start.isoformat(),
                "actor": admin.subject}, merchant_id)
    return row


async def rate_changes(conn: asyncpg.Connection, category_id: int | None, merchant_id: int | None,
                       limit: int = 100) -> list[asyncpg.Record]:
    """Dated changes, latest start first: of a category (its own and its overrides), of a merchant,
    or both."""
    return await conn.fetch(
        "SELECT * FROM commission_rates WHERE ($1::bigint IS NULL OR category_id = $1)"
        " AND ($2::bigint IS NULL OR merchant_id = $2) ORDER BY effective_from DESC, id DESC LIMIT $3",
        category_id, merchant_id, limit)
