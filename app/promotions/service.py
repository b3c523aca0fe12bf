"""Managing promotions (DOMAIN §4.1): merchants run shop promotions on their own SKUs, operators
run platform promotions and approve merchants' enrolment (报名) of SKUs in them.

Who may do what:
- merchant staff create promotions for their own merchant only; every SKU a promotion names (in
  scope, in a bundle, as a gift) must be that merchant's;
- admins create platform promotions (merchant_id None) or act for any merchant;
- merchants enrol their SKUs in a running platform promotion; an operator approves or rejects;
  only APPROVED SKUs are in scope.
Status changes are in app/promotions/lifecycle.py.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError, NotFound, Problem
from app.merchants import shops
from app.pricing.model import Funder, Funding, PromotionKind
from app.promotions import lifecycle
from app.promotions.errors import PromotionError
from app.promotions.rules import MAX_MONEY, MERCHANT_ONLY, check_rule, rule_skus

MAX_SCOPE_SKUS = 500
MAX_SCOPE_CATEGORIES = 50
MAX_WINDOW_DAYS = 366


@dataclass(frozen=True)
class PromotionDraft:
    kind: PromotionKind
    name: str
    starts_at: datetime
    ends_at: datetime
    rule: dict[str, Any]                     # engine field names, see app/promotions/rules.py
    priority: int = 0
    stackable_with_coupons: bool = True
    funding: Funding | None = None           # None = the default funder of DOMAIN §4.6
    whole_scope: bool = False
    category_ids: tuple[int, ...] = ()
    sku_ids: tuple[int, ...] = ()
    budget: int | None = None


@dataclass(frozen=True)
class Enrolment:
    promotion_id: int
    sku_id: int
    merchant_id: int
    status: str
    note: str
    created_at: datetime
    decided_at: datetime | None = field(default=None)


def check_common(name: str, starts_at: datetime, ends_at: datetime, funding: Funding | None,
                 merchant_id: int | None, *, window: tuple[str, str]) -> list[Problem]:
    """Checks shared by promotions and coupon templates."""
    problems = []
    if not 1 <= len(name.strip()) <= 100:
        problems.append(Problem(PromotionError.INVALID_NAME, "give a name of 1 to 100 characters", ("name",)))
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        problems.append(Problem(PromotionError.INVALID_TIME, "times need a time zone", (window[0],)))
    elif ends_at <= starts_at:
        problems.append(Problem(PromotionError.INVALID_WINDOW, "the end must come after the start", (window[1],)))
    elif (ends_at - starts_at).days > MAX_WINDOW_DAYS:
        problems.append(Problem(PromotionError.INVALID_WINDOW,
                                f"a window is at most {MAX_WINDOW_DAYS} days", (window[1],)))
    if funding is not None:
        if funding.funder is Funder.SPLIT and not 1 <= funding.platform_percent <= 99:
            problems.append(Problem(PromotionError.INVALID_FUNDING, "a split gives the platform 1 to 99 percent",
                                    ("funding", "platformPercent")))
        if funding.funder is not Funder.SPLIT and funding.platform_percent:
            problems.append(Problem(PromotionError.INVALID_FUNDING, "a platform percent only goes with SPLIT",
                                    ("funding", "platformPercent")))
    return problems


async def owner_merchant(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                         platform_allowed: bool) -> int | None:
    """The merchant a new promotion or coupon belongs to (None = the platform): merchant staff
    always their own; admins the one they name, or the platform."""
    if principal.is_merchant_staff:
        if merchant_id not in (None, principal.merchant_id):
            raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
        merchant_id = principal.merchant_id
    if merchant_id is None:
        if not platform_allowed:
            raise DomainError.of(PromotionError.MERCHANT_REQUIRED, "choose the merchant", "merchantId")
        return None
    return await shops.require_open(conn, merchant_id, "merchantId")


async def category_problems(conn: asyncpg.Connection, category_ids: tuple[int, ...], *path: str) -> list[Problem]:
    if len(category_ids) > MAX_SCOPE_CATEGORIES:
        return [Problem(CommonError.TOO_MANY, f"at most {MAX_SCOPE_CATEGORIES} categories", path)]
    if len(set(category_ids)) != len(category_ids):
        return [Problem(PromotionError.DUPLICATE_VALUE, "a category is given twice", path)]
    known = {r["id"] for r in await conn.fetch("SELECT id FROM backend_categories WHERE id = ANY($1::bigint[])",
                                               list(category_ids))}
    return [Problem(CommonError.NOT_FOUND, "category not found", (*path, str(i)))
            for i, c in enumerate(category_ids) if c not in known]


async def _sku_problems(conn: asyncpg.Connection, merchant_id: int | None, draft: PromotionDraft) -> list[Problem]:
    """Every SKU named must exist and, for a merchant's promotion, be that merchant's."""
    named = rule_skus(draft.rule)
    paths = {**{s: ("scope", "skuIds", str(i)) for i, s in enumerate(draft.sku_ids)},
             **{s: ("rule", "bundleItems", str(i), "skuId") for i, s in enumerate(named.bundle)}}
    if named.gift is not None:
        paths[named.gift] = ("rule", "giftSkuId")
    owners = {r["id"]: r["merchant_id"] for r in await conn.fetch(
        "SELECT id, merchant_id FROM skus WHERE id = ANY($1::bigint[])", list(paths))}
    return [Problem(CommonError.NOT_FOUND, "SKU not found", path) for sku, path in paths.items()
            if sku not in owners or (merchant_id is not None and owners[sku] != merchant_id)]


async def _check_draft(conn: asyncpg.Connection, merchant_id: int | None, d: PromotionDraft) -> None:
    problems = check_common(d.name, d.starts_at, d.ends_at, d.funding, merchant_id, window=("startsAt", "endsAt"))
    problems += check_rule(d.kind, merchant_id, d.rule)
    if not 0 <= d.priority <= 1000:
        problems.append(Problem(PromotionError.INVALID_PRIORITY, "priority is 0 to 1000 (higher first)", ("priority",)))
    if d.budget is not None and not 1 <= d.budget <= MAX_MONEY:
        problems.append(Problem(PromotionError.INVALID_AMOUNT, f"a budget is 1 to {MAX_MONEY} cents", ("budget",)))
    if len(d.sku_ids) > MAX_SCOPE_SKUS:
        problems.append(Problem(CommonError.TOO_MANY, f"at most {MAX_SCOPE_SKUS} SKUs", ("scope", "skuIds")))
    elif len(set(d.sku_ids)) != len(d.sku_ids):
        problems.append(Problem(PromotionError.DUPLICATE_VALUE, "a SKU is given twice", ("scope", "skuIds")))
    scoped = d.whole_scope or d.category_ids or d.sku_ids
    if d.kind in (PromotionKind.PAYMENT, PromotionKind.BUNDLE):
        if scoped:
            problems.append(Problem(PromotionError.NOT_ALLOWED, f"a {d.kind.value} promotion's scope is "
                                    + ("the whole order" if d.kind is PromotionKind.PAYMENT else "its bundle"),
                                    ("scope",)))
    elif merchant_id is not None and not scoped:
        problems.append(Problem(PromotionError.SCOPE_REQUIRED, "choose the whole shop, categories or SKUs", ("scope",)))
    if problems:
        raise DomainError(*problems)
    problems = await category_problems(conn, d.category_ids, "scope", "categoryIds")
    problems += await _sku_problems(conn, merchant_id, d)
    if problems:
        raise DomainError(*problems)


def _columns(d: PromotionDraft) -> tuple:
    return (d.name.strip(), d.priority, d.stackable_with_coupons, d.starts_at, d.ends_at,
            None if d.funding is None else d.funding.funder.value, 0 if d.funding is None else d.funding.platform_percent,
            d.whole_scope or d.kind is PromotionKind.PAYMENT, list(d.category_ids),
            {k: v for k, v in d.rule.items() if v is not None}, d.budget)


async def _write_scope_skus(conn: asyncpg.Connection, promotion_id: int, sku_ids: tuple[int, ...],
                            actor: str) -> None:
    await conn.execute("DELETE FROM promotion_skus WHERE promotion_id = $1", promotion_id)
    await conn.execute(
        "INSERT INTO promotion_skus (promotion_id, sku_id, merchant_id, status, decided_by, decided_at)"
        " SELECT $1, s.id, s.merchant_id, 'APPROVED', $3, now() FROM skus s WHERE s.id = ANY($2::bigint[])",
        promotion_id, list(sku_ids), actor)


async def create_promotion(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                           draft: PromotionDraft) -> int:
    merchant_id = await owner_merchant(conn, principal, merchant_id,
                                       platform_allowed=draft.kind not in MERCHANT_ONLY)
    await _check_draft(conn, merchant_id, draft)
    pk = await conn.fetchval(
        "INSERT INTO promotions (merchant_id, kind, created_by, name, priority, stackable_with_coupons, starts_at,"
        " ends_at, funder, platform_percent, whole_scope, category_ids, rule, budget)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        merchant_id, draft.kind.value, principal.subject, *_columns(draft))
    await _write_scope_skus(conn, pk, draft.sku_ids, principal.subject)
    await lifecycle.record_created(conn, lifecycle.PROMOTIONS, pk, principal.subject)
    return pk


async def update_promotion(conn: asyncpg.Connection, principal: Principal, promotion_id: int,
                           draft: PromotionDraft) -> None:
    """Replace a draft's content (its kind and owner stay)."""
    row = await lifecycle.lock_owned(conn, lifecycle.PROMOTIONS, principal, promotion_id)
    lifecycle.require_draft(row, lifecycle.PROMOTIONS)
    if draft.kind.value != row["kind"]:
        raise DomainError.of(PromotionError.NOT_EDITABLE, "a promotion's kind cannot change", "kind")
    await _check_draft(conn, row["merchant_id"], draft)
    await conn.execute(
        "UPDATE promotions SET name = $2, priority = $3, stackable_with_coupons = $4, starts_at = $5, ends_at = $6,"
        " funder = $7, platform_percent = $8, whole_scope = $9, category_ids = $10, rule = $11, budget = $12,"
        " review_note = '', updated_at = now() WHERE id = $1", promotion_id, *_columns(draft))
    await _write_scope_skus(conn, promotion_id, draft.sku_ids, principal.subject)


# ---------------------------------------------------------------- enrolment (报名)


def _enrolment(r: asyncpg.Record) -> Enrolment:
    return Enrolment(r["promotion_id"], r["sku_id"], r["merchant_id"], r["status"], r["note"], r["created_at"],
                     r["decided_at"])


async def enrol_skus(conn: asyncpg.Connection, principal: Principal, promotion_id: int, sku_ids: list[int],
                     now: datetime) -> list[Enrolment]:
    """A merchant puts its SKUs forward for a platform promotion; a rejected SKU may be put
    forward again, an approved or pending one is left as it is."""
    if not 1 <= len(sku_ids) <= MAX_SCOPE_SKUS or len(set(sku_ids)) != len(sku_ids):
        raise DomainError.of(CommonError.INVALID_VALUE, f"give 1 to {MAX_SCOPE_SKUS} different SKUs", "skuIds")
    promotion = await conn.fetchrow("SELECT merchant_id, kind, status, ends_at FROM promotions WHERE id = $1",
                                    promotion_id)
    if promotion is None or promotion["merchant_id"] is not None:
        raise NotFound.of(CommonError.NOT_FOUND, "platform promotion not found", "promotionId")
    if (promotion["kind"] == PromotionKind.PAYMENT or promotion["status"] not in ("ACTIVE", "PAUSED")
            or promotion["ends_at"] <= now):
        raise DomainError.of(PromotionError.NOT_OPEN_FOR_ENROLMENT, "this promotion takes no enrolments", "promotionId")
    own = {r["id"] for r in await conn.fetch(
        "SELECT id FROM skus WHERE id = ANY($1::bigint[]) AND merchant_id = $2", sku_ids, principal.merchant_id)}
    missing = [Problem(CommonError.NOT_FOUND, "SKU not found", ("skuIds", str(i)))
               for i, s in enumerate(sku_ids) if s not in own]
    if missing:
        raise DomainError(*missing)
    await conn.execute(
        "INSERT INTO promotion_skus (promotion_id, sku_id, merchant_id, status)"
        " SELECT $1, unnest($2::bigint[]), $3, 'PENDING'"
        " ON CONFLICT (promotion_id, sku_id) DO UPDATE SET status = 'PENDING', note = '', decided_by = NULL,"
        "   decided_at = NULL, created_at = now() WHERE promotion_skus.status = 'REJECTED'",
        promotion_id, sku_ids, principal.merchant_id)
    return await enrolments(conn, principal, promotion_id, sku_ids=sku_ids)


async def review_enrolments(conn: asyncpg.Connection, principal: Principal, promotion_id: int, sku_ids: list[int],
                            approve: bool, note: str | None) -> list[Enrolment]:
    """Operators decide pending enrolments; already decided ones are left as they are."""
    note = (note or "").strip()
    if not approve and not note:
        raise DomainError.of(PromotionError.NOTE_REQUIRED, "say why the SKUs are rejected", "note")
    if len(note) > 500:
        raise DomainError.of(PromotionError.INVALID_NOTE, "a note is at most 500 characters", "note")
    if not 1 <= len(sku_ids) <= MAX_SCOPE_SKUS:
        raise DomainError.of(CommonError.INVALID_VALUE, f"give 1 to {MAX_SCOPE_SKUS} SKUs", "skuIds")
    await conn.execute(
        "UPDATE promotion_skus SET status = $3, note = $4, decided_by = $5, decided_at = now()"
        " WHERE promotion_id = $1 AND sku_id = ANY($2::bigint[]) AND status = 'PENDING'",
        promotion_id, sku_ids, "APPROVED" if approve else "REJECTED", note, principal.subject)
    return await enrolments(conn, principal, promotion_id, sku_ids=sku_ids)


async def enrolments(conn: asyncpg.Connection, principal: Principal, promotion_id: int, *,
                     sku_ids: list[int] | None = None, status: str | None = None) -> list[Enrolment]:
    """Enrolments of a platform promotion: operators see all, a merchant only its own."""
    merchant = None if principal.is_admin else principal.merchant_id
    rows = await conn.fetch(
        "SELECT ps.* FROM promotion_skus ps JOIN promotions p ON p.id = ps.promotion_id AND p.merchant_id IS NULL"
        " WHERE ps.promotion_id = $1 AND ($2::bigint IS NULL OR ps.merchant_id = $2)"
        "   AND ($3::bigint[] IS NULL OR ps.sku_id = ANY($3::bigint[])) AND ($4::text IS NULL OR ps.status = $4)"
        " ORDER BY ps.created_at, ps.sku_id LIMIT 1000", promotion_id, merchant, sku_ids, status)
    return [_enrolment(r) for r in rows]


# ---------------------------------------------------------------- reads


@dataclass(frozen=True)
class PromotionFilter:
    platform: bool | None = None      # True: platform promotions; False: merchants'; None: both
    merchant_id: int | None = None    # admins only; merchant staff always see their own
    status: str | None = None
    kind: str | None = None


async def list_promotions(conn: asyncpg.Connection, principal: Principal, f: PromotionFilter,
                          after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Newest first. Merchant staff see their own promotions, and the platform's (public
    campaigns they may enrol in) when they ask for `platform`; admins see everything."""
    if principal.is_admin:
        merchant, platform = f.merchant_id, f.platform
    else:
        merchant, platform = principal.merchant_id, bool(f.platform)
        if platform:
            merchant = None
    rows = await conn.fetch(
        f"""{_SELECT}
        WHERE ($1::boolean IS NULL OR (p.merchant_id IS NULL) = $1)
          AND ($2::bigint IS NULL OR p.merchant_id = $2)
          AND ($3::text IS NULL OR p.status = $3) AND ($4::text IS NULL OR p.kind = $4)
          AND ($5::bigint IS NULL OR p.id < $5)
          AND ($6 OR p.merchant_id IS NULL OR p.merchant_id = $7)
        ORDER BY p.id DESC LIMIT $8""",
        platform, merchant, f.status, f.kind, after_id, principal.is_admin, principal.merchant_id, limit)
    return rows


async def get_promotion(conn: asyncpg.Connection, principal: Principal, promotion_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(f"{_SELECT} WHERE p.id = $1", promotion_id)
    if row is None or not (principal.is_admin or row["merchant_id"] is None
                           or principal.can_manage_merchant(row["merchant_id"])):
        raise NotFound.of(CommonError.NOT_FOUND, "promotion not found", "id")
    return row


_SELECT = """SELECT p.*, ARRAY(SELECT ps.sku_id FROM promotion_skus ps
                             WHERE ps.promotion_id = p.id AND ps.status = 'APPROVED'
                             ORDER BY ps.sku_id LIMIT 1000) AS scope_sku_ids,
                    (SELECT coalesce(sum(u.amount), 0) FROM promotion_usages u
                     WHERE u.promotion_id = p.id AND NOT u.released) AS given
             FROM promotions p"""
