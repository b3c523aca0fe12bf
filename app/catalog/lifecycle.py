"""Product lifecycle (DOMAIN §2): DRAFT → PENDING_REVIEW → APPROVED → LISTED ⇄ DELISTED → RECYCLED.

The transitions are data (`PRODUCTS`, an app/state_machine.py `StateMachine`): every move is a
guarded UPDATE with its history row and outbox event (the event names of the API, per action)
in the same transaction. Rejection returns a product to DRAFT with a reason; editing an approved
or delisted marketplace product (`EDIT`) sends it back to DRAFT; self-operated (platform)
products skip review: submitting approves them. Who may review is the GraphQL field's role;
here only ownership and the product's own rules are checked.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import asyncpg

from app.auth.principal import Principal
from app.catalog import categories
from app.catalog.errors import CatalogError
from app.errors import CommonError, DomainError, NotFound, Problem
from app.events import emit
from app.merchants import shops
from app.merchants.errors import ShopError
from app.state_machine import StateMachine

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
    EDIT = "EDIT"        # content changed on an approved or delisted marketplace product: review again


S, A = ProductStatus, LifecycleAction
PRODUCTS = StateMachine[ProductStatus, LifecycleAction](
    noun="product", table="products", history_table="product_status_history", history_key="product_id",
    topic="product", field="action",
    transitions={
        A.SUBMIT: (frozenset({S.DRAFT}), S.PENDING_REVIEW),
        A.APPROVE: (frozenset({S.PENDING_REVIEW}), S.APPROVED),
        A.REJECT: (frozenset({S.PENDING_REVIEW}), S.DRAFT),
        A.LIST: (frozenset({S.APPROVED, S.DELISTED}), S.LISTED),
        A.DELIST: (frozenset({S.LISTED}), S.DELISTED),
        A.RECYCLE: (frozenset({S.DRAFT, S.APPROVED, S.DELISTED}), S.RECYCLED),
        A.EDIT: (frozenset({S.APPROVED, S.DELISTED}), S.DRAFT),
    },
    events={A.SUBMIT: "PRODUCT_SUBMITTED", A.APPROVE: "PRODUCT_APPROVED", A.REJECT: "PRODUCT_REJECTED",
            A.LIST: "PRODUCT_LISTED", A.DELIST: "PRODUCT_DELISTED", A.RECYCLE: "PRODUCT_RECYCLED",
            A.EDIT: "PRODUCT_UPDATED"},
)
# What a move sets besides the status ($3 is the new status, $4 the rejection reason): a
# rejection's reason until the next move, the listing time, and a schedule only while APPROVED.
_MOVE_SETS = ("updated_at = now(), reject_reason = CASE WHEN $3 = 'DRAFT' THEN $4::text END,"
              " listed_at = CASE WHEN $3 = 'LISTED' THEN now() ELSE t.listed_at END,"
              " scheduled_listing_at = CASE WHEN $3 = 'APPROVED' THEN t.scheduled_listing_at END")


def next_status(current: ProductStatus, action: LifecycleAction, self_operated: bool) -> ProductStatus:
    """The pure rule: the machine's target, except that self-operated products skip review."""
    target = PRODUCTS.target(current, action)
    return S.APPROVED if action is A.SUBMIT and self_operated else target


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
        raise NotFound.of(CommonError.NOT_FOUND, "product not found", "productId")
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
    problems: list[tuple[StrEnum, str]] = []
    if not facts["has_image"]:
        problems.append((CatalogError.NO_IMAGE, "add at least one main image first"))
    if not facts["has_sku"]:
        problems.append((CatalogError.NO_SKU, "add at least one active SKU first"))
    if action is A.SUBMIT:
        problems += [(CatalogError.MISSING_ATTRIBUTE, f"fill in the required attribute '{name}' first")
                     for name in await _missing_required_attributes(conn, product_id)]
        if not await _shop_sells_its_category(conn, product_id):
            problems.append((ShopError.CATEGORY_NOT_ALLOWED, "the shop may no longer sell in this category"))
    if problems:
        raise DomainError(*(Problem(code, msg, ("productId",)) for code, msg in problems))


async def record_creation(conn: asyncpg.Connection, product_id: int, merchant_id: int, actor: str) -> None:
    """The first history row and event of a new DRAFT (a birth, not a move of the machine)."""
    await conn.execute("INSERT INTO product_status_history (product_id, from_status, to_status, actor)"
                       " VALUES ($1, NULL, 'DRAFT', $2)", product_id, actor)
    await emit(conn, "product", "PRODUCT_CREATED",
               {"product_id": product_id, "from": None, "to": S.DRAFT, "reason": None, "actor": actor},
               merchant_id=merchant_id)


async def transition(conn: asyncpg.Connection, principal: Principal, product_id: int,
                     action: LifecycleAction, reason: str | None = None) -> TransitionResult:
    """Who may review is the field's role (admins); here only ownership and the rules."""
    row = await lock_owned_product(conn, principal, product_id)
    if action is A.REJECT and not (reason and reason.strip()):
        raise DomainError.of(CatalogError.REASON_REQUIRED, "a rejection needs a reason", "reason")
    current = ProductStatus(row["status"])
    target = next_status(current, action, row["merchant_id"] == PLATFORM_MERCHANT_ID)
    await _check_ready_for(conn, product_id, action)
    await PRODUCTS.move(conn, [product_id], action, actor=principal.subject, reason=reason, target=target,
                        sets=_MOVE_SETS, args=(reason,))
    return TransitionResult(product_id, current, target)


async def schedule_listing(conn: asyncpg.Connection, principal: Principal, product_id: int,
                           at: datetime | None) -> None:
    """Set (or clear, with None) the time an approved product goes on sale by itself."""
    row = await lock_owned_product(conn, principal, product_id)
    if row["status"] != S.APPROVED:
        raise DomainError.of(CommonError.INVALID_TRANSITION, "only an approved product can be scheduled", "productId")
    if at is not None and at.tzinfo is None:
        raise DomainError.of(CatalogError.INVALID_TIME, "give the time with a timezone", "at")
    await conn.execute("UPDATE products SET scheduled_listing_at = $2, updated_at = now() WHERE id = $1",
                       product_id, at)


async def list_due_products(conn: asyncpg.Connection, now: datetime | None = None) -> int:
    """List approved products whose scheduled time has come (the worker's cron job).

    SKIP LOCKED lets two workers share the work; the machine's status guard makes a re-run a no-op.
    """
    now = now or datetime.now(UTC)
    due = [r["id"] for r in await conn.fetch(
        "SELECT id FROM products WHERE status = 'APPROVED' AND scheduled_listing_at <= $1"
        " AND EXISTS (SELECT 1 FROM skus s WHERE s.product_id = products.id AND s.status = 'ACTIVE')"
        " ORDER BY id FOR UPDATE SKIP LOCKED", now)]
    moved = await PRODUCTS.move(conn, due, A.LIST, actor="system", reason="scheduled listing",
                                sets="listed_at = $4, scheduled_listing_at = NULL, updated_at = now()", args=(now,))
    return len(moved)
