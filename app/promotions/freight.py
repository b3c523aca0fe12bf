"""Freight templates (DOMAIN §4.2 step 7): one per merchant, a default fee, fees by province and
free shipping over a threshold. A merchant without a template ships free."""

from dataclasses import dataclass

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError, NotFound, Problem
from app.promotions.errors import PromotionError
from app.promotions.rules import MAX_MONEY

MAX_REGIONS = 40


@dataclass(frozen=True)
class FreightDraft:
    default_fee: int
    free_threshold: int | None = None
    fee_by_region: tuple[tuple[str, int], ...] = ()   # (province code, fee)


def _problems(d: FreightDraft) -> list[Problem]:
    problems = []
    if not 0 <= d.default_fee <= MAX_MONEY:
        problems.append(Problem(PromotionError.INVALID_AMOUNT, f"a fee is 0 to {MAX_MONEY} cents", ("defaultFee",)))
    if d.free_threshold is not None and not 0 <= d.free_threshold <= MAX_MONEY:
        problems.append(Problem(PromotionError.INVALID_AMOUNT,
                                f"a threshold is 0 to {MAX_MONEY} cents", ("freeThreshold",)))
    if len(d.fee_by_region) > MAX_REGIONS:
        return [*problems, Problem(CommonError.TOO_MANY, f"at most {MAX_REGIONS} regions", ("regions",))]
    seen = set()
    for i, (code, fee) in enumerate(d.fee_by_region):
        if not 0 <= fee <= MAX_MONEY:
            problems.append(Problem(PromotionError.INVALID_AMOUNT,
                                    f"a fee is 0 to {MAX_MONEY} cents", ("regions", str(i), "fee")))
        if code in seen:
            problems.append(Problem(PromotionError.DUPLICATE_VALUE,
                                    "a region is given twice", ("regions", str(i), "regionCode")))
        seen.add(code)
    return problems


async def set_template(conn: asyncpg.Connection, principal: Principal, merchant_id: int, d: FreightDraft) -> None:
    """Replace the merchant's template. Fees by region name provinces (e.g. 440000 广东省)."""
    if not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    problems = _problems(d)
    if not problems:
        codes = [code for code, _ in d.fee_by_region]
        known = {r["code"] for r in await conn.fetch("SELECT code FROM regions WHERE code = ANY($1::text[])", codes)}
        problems = [Problem(PromotionError.UNKNOWN_REGION, "a province code (GB/T 2260), e.g. 440000",
                            ("regions", str(i), "regionCode")) for i, c in enumerate(codes) if c not in known]
    if problems:
        raise DomainError(*problems)
    if await conn.fetchval("SELECT 1 FROM merchants WHERE id = $1", merchant_id) is None:
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    await conn.execute(
        "INSERT INTO freight_templates (merchant_id, default_fee, free_threshold) VALUES ($1, $2, $3)"
        " ON CONFLICT (merchant_id) DO UPDATE SET default_fee = $2, free_threshold = $3, updated_at = now()",
        merchant_id, d.default_fee, d.free_threshold)
    await conn.execute("DELETE FROM freight_template_regions WHERE merchant_id = $1", merchant_id)
    await conn.executemany("INSERT INTO freight_template_regions (merchant_id, region_code, fee) VALUES ($1, $2, $3)",
                           [(merchant_id, code, fee) for code, fee in d.fee_by_region])


async def get_template(conn: asyncpg.Connection, principal: Principal, merchant_id: int) -> FreightDraft | None:
    if not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    row = await conn.fetchrow("SELECT default_fee, free_threshold FROM freight_templates WHERE merchant_id = $1",
                              merchant_id)
    if row is None:
        return None
    regions = await conn.fetch("SELECT region_code, fee FROM freight_template_regions WHERE merchant_id = $1"
                               " ORDER BY region_code", merchant_id)
    return FreightDraft(row["default_fee"], row["free_threshold"], tuple((r["region_code"], r["fee"]) for r in regions))
