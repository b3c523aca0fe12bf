"""Product lifecycle (DOMAIN §2): DRAFT → PENDING_REVIEW → APPROVED → LISTED ⇄ DELISTED → RECYCLED.

`next_status` is the pure rule; `transition` applies it under a row lock, writes the history
row and the outbox event in the same transaction. Rejection returns a product to DRAFT with
a reason. Self-operated (platform) products skip review: submitting approves them.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

import asyncpg

from app.auth.principal import Principal
from app.catalog import categories
from app.errors import DomainError, Forbidden, NotFound, Problem
from app.events import emit
from app.merchants import shops

PLATFORM_MERCHANT_ID = 1


class ProductStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING_REVIEW = "PENDING_REVIEW"
    APPROVED = "APPROVED"
    LISTED = "LISTED"
    DELISTED = "DELISTED"
    RECYCLED = "RECYCLED"


class LifecycleAction(StrEnum):
    SUBMIT = "SUBMIT"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    LIST = "LIST"
    DELIST = "DELIST"
    RECYCLE = "RECYCLE"


S, A = ProductStatus, LifecycleAction
# action -> (statuses it may start from, status it leads to)
_RULES: dict[LifecycleAction, tuple[frozenset[ProductStatus], ProductStatus]] = {
    A.SUBMIT: (frozenset({S.DRAFT}), S.PENDING_REVIEW),
    A.APPROVE: (frozenset({S.PENDING_REVIEW}), S.APPROVED),
    A.REJECT: (frozenset({S.PENDING_REVIEW}), S.DRAFT),
    A.LIST: (frozenset({S.APPROVED, S.DELISTED}), S.LISTED),
    A.DELIST: (frozenset({S.LISTED}), S.DELISTED),
    A.RECYCLE: (frozenset({S.DRAFT, S.APPROVED, S.DELISTED}), S.RECYCLED),
}
_ADMIN_ONLY = {A.APPROVE, A.REJECT}
EVENT_OF = {A.SUBMIT: "PRODUCT_SUBMITTED", A.APPROVE: "PRODUCT_APPROVED", A.REJECT: "PRODUCT_REJECTED",
            A.LIST: "PRODUCT_LISTED", A.DELIST: "PRODUCT_DELISTED", A.RECYCLE: "PRODUCT_RECYCLED"}


def next_status(current: ProductStatus, action: LifecycleAction, self_operated: bool) -> ProductStatus:
    allowed_from, target = _RULES[action]
    if current not in allowed_from:
        raise DomainError.of("INVALID_TRANSITION",
                             f"cannot {action.value.lower()} a product that is {current.value}", "action")
    if action is A.SUBMIT and self_operated:
        return S.APPROVED
    return target


@dataclass(frozen=True)
class TransitionResult:
    product_id: int
    from_status: ProductStatus
    to_status: ProductStatus


async def lock_owned_product(conn: asyncpg.Connection, principal: Principal, product_id: int) -> asyncpg.Record:
    """Lock a product the caller may manage; others' products look like they do not exist."""
    row = await conn.fetchrow("SELECT id, merchant_id, status FROM products WHERE id = $1 FOR UPDATE",
                              product_id)
    if row is None or not principal.can_manage_merchant(row["merchant_id"]):
        raise NotFound.of("NOT_FOUND", "product not found", "productId")
    return row


async def _missing_required_attributes(conn: asyncpg.Connection, product_id: int) -> list[str]:
    """Required template attributes the product gives no value for (drafts may lack them)."""
    category_id = await conn.fetchval("SELECT category_id FROM products WHERE id = $1", product_id)
    [template] = await categories.template_attributes_by_category_ids(conn, [category_id])
    given = {r["attribute_id"] for r in await conn.fetch(
        "SELECT attribute_id FROM product_attributes WHERE product_id = $1"
        " UNION SELECT attribute_id FROM product_sales_values WHERE product_id = $1", product_id)}
    return [a["name"] for a in template if a["required"] and a["id"] not in given]


async def _shop_sells_its_category(conn: asyncpg.Connection, product_id: int) -> bool:
    """A shop's categories may have changed since the product was written."""
    row = await conn.fetchrow("SELECT merchant_id, category_id FROM products WHERE id = $1", product_id)
    [path] = await categories.backend_category_paths_by_ids(conn, [row["category_id"]])
    return await shops.sells_in(conn, row["merchant_id"], [r["id"] for r in path])


async def _check_ready_for(conn: asyncpg.Connection, product_id: int, action: LifecycleAction) -> None:
    """A product goes to review or on sale only with an image and an active, priced SKU, and to
    review only with its required attributes."""
    if action not in (A.SUBMIT, A.LIST):
        return
    facts = await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM product_images WHERE product_id = $1) AS has_image,"
        "       EXISTS (SELECT 1 FROM skus WHERE product_id = $1 AND status = 'ACTIVE') AS has_sku",
        product_id)
    problems = []
    if not facts["has_image"]:
        problems.append(("NO_IMAGE", "add at least one main image first"))
    if not facts["has_sku"]:
        problems.append(("NO_SKU", "add at least one active SKU first"))
    if action is A.SUBMIT:
        problems += [("MISSING_ATTRIBUTE", f"fill in the required attribute '{name}' first")
                     for name in await _missing_required_attributes(conn, product_id)]
        if not await _shop_sells_its_category(conn, product_id):
            problems.append(("CATEGORY_NOT_ALLOWED", "the shop may no longer sell in this category"))
    if problems:
        raise DomainError(*(Problem(code, msg, ("productId",)) for code, msg in problems))


async def record_transition(conn: asyncpg.Connection, product_id: int, merchant_id: int,
                            from_status: ProductStatus | None, to_status: ProductStatus, event_type: str,
                            actor: str, reason: str | None) -> None:
    """History row + outbox event for a status change already made by the caller."""
    await conn.execute(
        "INSERT INTO product_status_history (product_id, from_status, to_status, actor, reason)"
        " VALUES ($1, $2, $3, $4, $5)", product_id, from_status, to_status, actor, reason)
    await emit(conn, "product", event_type,
               {"product_id": product_id, "from": from_status, "to": to_status, "reason": reason,
                "actor": actor}, merchant_id=merchant_id)


async def transition(conn: asyncpg.Connection, principal: Principal, product_id: int,
                     action: LifecycleAction, reason: str | None = None) -> TransitionResult:
    row = await lock_owned_product(conn, principal, product_id)
    if action in _ADMIN_ONLY and not principal.is_admin:
        raise Forbidden.of("FORBIDDEN", "only the platform reviews products", "action")
    if action is A.REJECT and not (reason and reason.strip()):
        raise DomainError.of("REASON_REQUIRED", "a rejection needs a reason", "reason")
    current = ProductStatus(row["status"])
    target = next_status(current, action, row["merchant_id"] == PLATFORM_MERCHANT_ID)
    await _check_ready_for(conn, product_id, action)
    await conn.execute(
        "UPDATE products SET status = $2, updated_at = now(),"
        " reject_reason = CASE WHEN $2 = 'DRAFT' THEN $3 ELSE NULL END,"
        " listed_at = CASE WHEN $2 = 'LISTED' THEN now() ELSE listed_at END,"
        " scheduled_listing_at = CASE WHEN $2 = 'APPROVED' THEN scheduled_listing_at END"
        " WHERE id = $1", product_id, target, reason)
    await record_transition(conn, product_id, row["merchant_id"], current, target, EVENT_OF[action],
                            principal.subject, reason)
    return TransitionResult(product_id, current, target)


async def schedule_listing(conn: asyncpg.Connection, principal: Principal, product_id: int,
                           at: datetime | None) -> None:
    """Set (or clear, with None) the time an approved product goes on sale by itself."""
    row = await lock_owned_product(conn, principal, product_id)
    if row["status"] != S.APPROVED:
        raise DomainError.of("INVALID_TRANSITION", "only an approved product can be scheduled", "productId")
    if at is not None and at.tzinfo is None:
        raise DomainError.of("INVALID_TIME", "give the time with a timezone", "at")
    await conn.execute("UPDATE products SET scheduled_listing_at = $2, updated_at = now() WHERE id = $1",
                       product_id, at)


async def list_due_products(conn: asyncpg.Connection, now: datetime | None = None) -> int:
    """List approved products whose scheduled time has come (the worker's cron job).

    SKIP LOCKED lets two workers share the work; the status condition makes a re-run a no-op.
    """
    now = now or datetime.now(timezone.utc)
    rows = await conn.fetch(
        "UPDATE products SET status = 'LISTED', listed_at = $1, scheduled_listing_at = NULL, updated_at = now()"
        " WHERE id IN (SELECT id FROM products WHERE status = 'APPROVED' AND scheduled_listing_at <= $1"
        "              AND EXISTS (SELECT 1 FROM skus s WHERE s.product_id = products.id AND s.status = 'ACTIVE')"
        "              ORDER BY id FOR UPDATE SKIP LOCKED)"
        " RETURNING id, merchant_id", now)
    for r in rows:
        await record_transition(conn, r["id"], r["merchant_id"], S.APPROVED, S.LISTED, "PRODUCT_LISTED",
                                "system", "scheduled listing")
    return len(rows)
