"""Installment plans at trial pricing (DOMAIN §8): which plans a buyer may pay a checkout with,
each with its full schedule (app/credit/schedule.py), given the line's available limit and
tier, the amount, and the goods' categories. Plans are configured per tier (`credit_plans`);
categories can be excluded (with their subtrees); interest-free offers (免息) make the buyer's
fee 0 and charge the plan's fee to the platform or to the merchant selling the whole checkout.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import asyncpg

from app.credit import lines
from app.credit.errors import CreditError
from app.credit.schedule import PERIODS, Installment, schedule, total_fee
from app.errors import CommonError, DomainError, NotFound


class Unavailable(StrEnum):
    """Why a checkout lists no installment plan."""
    NOT_SIGNED_IN = "NOT_SIGNED_IN"
    NO_CREDIT_LINE = "NO_CREDIT_LINE"
    INSUFFICIENT_LIMIT = "INSUFFICIENT_LIMIT"
    CATEGORY_NOT_ELIGIBLE = "CATEGORY_NOT_ELIGIBLE"
    AMOUNT_NOT_ELIGIBLE = "AMOUNT_NOT_ELIGIBLE"


@dataclass(frozen=True)
class Plan:
    periods: int
    rate_percent: Decimal             # the plan's rate: what the fee is computed at
    interest_free: bool
    subsidiser: str | None            # PLATFORM or MERCHANT, for an interest-free plan
    subsidiser_merchant_id: int | None
    installments: list[Installment]   # what the buyer is billed
    subsidy_fee: int                  # what the subsidiser is charged (0 unless interest-free)

    @property
    def total_fee(self) -> int:
        return sum(x.fee for x in self.installments)


@dataclass(frozen=True)
class PlanChoice:
    plans: list[Plan]
    unavailable: Unavailable | None
    available_limit: int


async def plans_for(conn: asyncpg.Connection, buyer_id: int | None, payable: int, sku_ids: Sequence[int],
                    merchant_ids: Sequence[int], now: datetime) -> PlanChoice:
    """The plans the buyer may choose for a checkout of `payable` (shipping included) selling
    `sku_ids` from `merchant_ids`; none, with the reason, when installments are not possible."""
    if buyer_id is None:
        return PlanChoice([], Unavailable.NOT_SIGNED_IN, 0)
    line = await lines.line_of(conn, buyer_id)
    if line is None:
        return PlanChoice([], Unavailable.NO_CREDIT_LINE, 0)
    available = lines.available(line)
    if payable <= 0 or payable > available:
        return PlanChoice([], Unavailable.INSUFFICIENT_LIMIT, available)
    if await _has_excluded_category(conn, sku_ids):
        return PlanChoice([], Unavailable.CATEGORY_NOT_ELIGIBLE, available)
    rows = await conn.fetch(
        "SELECT periods, rate_percent FROM credit_plans WHERE tier = $1 AND enabled AND min_amount <= $2"
        " AND (max_amount IS NULL OR max_amount >= $2) ORDER BY periods", line["tier"], payable)
    if not rows:
        return PlanChoice([], Unavailable.AMOUNT_NOT_ELIGIBLE, available)
    offers = await _interest_free_offers(conn, payable, merchant_ids, now)
    plans = []
    for r in rows:
        rate, offer = Decimal(r["rate_percent"]), offers.get(r["periods"])
        if offer is None:
            plans.append(Plan(r["periods"], rate, False, None, None, schedule(payable, r["periods"], rate), 0))
        else:
            plans.append(Plan(r["periods"], rate, True, offer["subsidiser"], offer["merchant_id"],
                              schedule(payable, r["periods"], Decimal(0)), total_fee(payable, rate)))
    return PlanChoice(plans, None, available)


async def _has_excluded_category(conn: asyncpg.Connection, sku_ids: Sequence[int]) -> bool:
    return await conn.fetchval(
        """
        WITH RECURSIVE up AS (
            SELECT c.id, c.parent_id FROM skus s JOIN products p ON p.id = s.product_id
            JOIN backend_categories c ON c.id = p.category_id WHERE s.id = ANY($1::bigint[])
            UNION SELECT c.id, c.parent_id FROM backend_categories c JOIN up ON c.id = up.parent_id)
        SELECT EXISTS (SELECT 1 FROM up JOIN credit_excluded_categories x ON x.category_id = up.id)
        """, list(sku_ids))


async def _interest_free_offers(conn: asyncpg.Connection, payable: int, merchant_ids: Sequence[int],
                                now: datetime) -> dict[int, asyncpg.Record]:
    """The offer that makes each period count interest-free, if any: a platform offer before a
    merchant's, then the oldest. A merchant's offer needs the whole checkout to be its goods."""
    only_merchant = merchant_ids[0] if len(set(merchant_ids)) == 1 else None
    rows = await conn.fetch(
        "SELECT id, periods, subsidiser, merchant_id FROM credit_interest_free_offers"
        " WHERE active AND starts_at <= $1 AND ends_at > $1 AND min_amount <= $2"
        " AND (subsidiser = 'PLATFORM' OR merchant_id = $3)"
        " ORDER BY subsidiser = 'PLATFORM' DESC, id", now, payable, only_merchant)
    chosen: dict[int, asyncpg.Record] = {}
    for r in rows:
        for p in r["periods"]:
            chosen.setdefault(p, r)
    return chosen


# ---------------------------------------------------------------- the back office's configuration

async def set_plan(conn: asyncpg.Connection, tier: str, periods: int, rate_percent: Decimal, min_amount: int,
                   max_amount: int | None, enabled: bool) -> None:
    if (tier not in ("A", "B", "C") or periods not in PERIODS or not Decimal(0) <= rate_percent <= 100
            or rate_percent != rate_percent.quantize(Decimal("0.001")) or min_amount < 1
            or (max_amount is not None and max_amount < min_amount)):
        raise DomainError.of(CreditError.INVALID_PLAN, "tier A/B/C, periods 3/6/9/12, rate 0..100 % with at most 3"
                             " decimals, 1 ≤ minAmount ≤ maxAmount")
    await conn.execute(
        "INSERT INTO credit_plans (tier, periods, rate_percent, min_amount, max_amount, enabled)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tier, periods) DO UPDATE SET rate_percent = $3,"
        " min_amount = $4, max_amount = $5, enabled = $6", tier, periods, rate_percent, min_amount, max_amount, enabled)


async def all_plans(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM credit_plans ORDER BY tier, periods")


async def set_category_excluded(conn: asyncpg.Connection, category_id: int, excluded: bool) -> None:
    if await conn.fetchval("SELECT 1 FROM backend_categories WHERE id = $1", category_id) is None:
        raise NotFound.of(CommonError.NOT_FOUND, "category not found", "categoryId")
    if excluded:
        await conn.execute("INSERT INTO credit_excluded_categories (category_id) VALUES ($1) ON CONFLICT DO NOTHING",
                           category_id)
    else:
        await conn.execute("DELETE FROM credit_excluded_categories WHERE category_id = $1", category_id)


async def excluded_categories(conn: asyncpg.Connection) -> list[int]:
    return [r["category_id"] for r in await conn.fetch("SELECT category_id FROM credit_excluded_categories"
                                                       " ORDER BY category_id")]


async def create_offer(conn: asyncpg.Connection, periods: Sequence[int], subsidiser: str, merchant_id: int | None,
                       min_amount: int, starts_at: datetime, ends_at: datetime) -> int:
    if (not periods or not set(periods) <= set(PERIODS) or subsidiser not in ("PLATFORM", "MERCHANT")
            or (subsidiser == "MERCHANT") != (merchant_id is not None) or min_amount < 1 or ends_at <= starts_at):
        raise DomainError.of(CreditError.INVALID_OFFER, "periods among 3/6/9/12; a MERCHANT offer names its merchant,"
                             " a PLATFORM one none; minAmount ≥ 1; endsAt after startsAt")
    if merchant_id is not None and await conn.fetchval("SELECT 1 FROM merchants WHERE id = $1", merchant_id) is None:
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    return await conn.fetchval(
        "INSERT INTO credit_interest_free_offers (periods, subsidiser, merchant_id, min_amount, starts_at, ends_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", sorted(set(periods)), subsidiser, merchant_id, min_amount,
        starts_at, ends_at)


async def offers(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM credit_interest_free_offers ORDER BY id DESC")
