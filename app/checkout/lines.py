"""What the pricing engine needs to know about the lines of a checkout, read in one statement.

Lines come from the buyer's selected cart lines or a direct buy, in order (the order is
"earlier line" for apportionment). A line is deliverable when the address region is unknown
(preview before an address is chosen), when the goods are virtual, or when the routing rule
(`route_warehouse`, DOMAIN §6) finds a warehouse that can ship it.
"""

from dataclasses import dataclass

import asyncpg

from app.catalog.warehouses import province_code
from app.checkout.errors import CheckoutError
from app.errors import CommonError, DomainError, Problem
from app.pricing.model import Line

MAX_LINES = 200
MAX_QUANTITY = 9999


@dataclass(frozen=True)
class CheckoutItem:
    sku_id: int
    quantity: int


def check_line_count(count: int, *field: str) -> None:
    """Separate from `check_items` so that the API refuses a huge list before decoding its ids."""
    if count == 0:
        raise DomainError.of(CheckoutError.NO_LINES, "choose at least one item", *field)
    if count > MAX_LINES:
        raise DomainError.of(CommonError.TOO_MANY, f"at most {MAX_LINES} lines per checkout", *field)


def check_items(items: list[CheckoutItem], *field: str) -> None:
    check_line_count(len(items), *field)
    problems, seen = [], set()
    for i, item in enumerate(items):
        if not 1 <= item.quantity <= MAX_QUANTITY:
            problems.append(Problem(CheckoutError.INVALID_QUANTITY, f"quantity must be 1 to {MAX_QUANTITY}",
                                    (*field, str(i), "quantity")))
        if item.sku_id in seen:
            problems.append(Problem(CheckoutError.DUPLICATE_VALUE, "one line per SKU", (*field, str(i), "skuId")))
        seen.add(item.sku_id)
    if problems:
        raise DomainError(*problems)


async def load_lines(conn: asyncpg.Connection, items: list[CheckoutItem], region_code: str | None,
                     *field: str) -> list[Line]:
    """Engine lines for `items` (checked with `check_items`); unknown or unsellable SKUs are refused."""
    region = province_code(region_code) if region_code else None
    rows = await conn.fetch(
        """
        WITH item AS (
            SELECT * FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS t(sku_id, quantity, position)
        )
        SELECT i.position, i.sku_id, i.quantity, s.id IS NOT NULL AS known,
               s.price, s.member_price, s.member_level, s.merchant_id, s.product_id,
               s.status = 'ACTIVE' AND p.status = 'LISTED'
                   AND EXISTS (SELECT 1 FROM merchants m WHERE m.id = s.merchant_id AND m.status = 'OPEN') AS sellable,
               (WITH RECURSIVE path AS (
                    SELECT c.id, c.parent_id, 0 AS depth FROM backend_categories c WHERE c.id = p.category_id
                    UNION ALL
                    SELECT c.id, c.parent_id, path.depth + 1 FROM backend_categories c JOIN path ON c.id = path.parent_id)
                SELECT array_agg(id ORDER BY depth) FROM path) AS category_ids,
               ($3::text IS NULL OR p.fulfillment_type = 'VIRTUAL'
                OR route_warehouse(s.id, i.quantity, $3) IS NOT NULL) AS deliverable
        FROM item i LEFT JOIN skus s ON s.id = i.sku_id LEFT JOIN products p ON p.id = s.product_id
        ORDER BY i.position
        """,
        [i.sku_id for i in items], [i.quantity for i in items], region)
    problems = []
    for i, r in enumerate(rows):
        if not r["known"]:
            problems.append(Problem(CommonError.NOT_FOUND, "no such SKU", (*field, str(i), "skuId")))
        elif not r["sellable"]:
            problems.append(Problem(CheckoutError.NOT_AVAILABLE, "this item is not on sale", (*field, str(i), "skuId")))
    if problems:
        raise DomainError(*problems)
    return [Line(sku_id=r["sku_id"], product_id=r["product_id"], merchant_id=r["merchant_id"],
                 category_ids=tuple(r["category_ids"]), quantity=r["quantity"], price=r["price"],
                 position=r["position"], member_price=r["member_price"], member_level=r["member_level"],
                 deliverable=r["deliverable"])
            for r in rows]
