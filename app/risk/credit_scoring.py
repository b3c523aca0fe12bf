"""The rule-based credit scorer (授信, DOMAIN §8 and §11): an application's facts → approve with a
limit and a risk tier, or reject with a reason, and every rule that fired with its weight, so
the decision log says why. Pure: the caller gathers the facts (blacklists, the buyer's history)
and logs the decision. Every rule and weight is listed in docs/credit.md; change both together.

Hard rules reject outright (in this order): an ID number that is not a valid resident ID
(GB 11643: 18 characters, a real birth date, the ISO 7064 MOD 11-2 check character), an
applicant under 18 or over 65, a blacklist hit, the phone not the account's verified phone,
a monthly income under ¥2,000. Otherwise points are added to a base of 500 and the total picks
the tier; the limit is the monthly income times the tier's multiple, capped, in whole ¥100.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

BASE_SCORE = 500


class CreditTier(StrEnum):
    A = "A"     # best
    B = "B"
    C = "C"


class CreditRejection(StrEnum):
    INVALID_ID = "INVALID_ID"
    AGE_NOT_ELIGIBLE = "AGE_NOT_ELIGIBLE"
    BLACKLISTED = "BLACKLISTED"
    ID_ALREADY_USED = "ID_ALREADY_USED"
    PHONE_NOT_VERIFIED = "PHONE_NOT_VERIFIED"
    INCOME_TOO_LOW = "INCOME_TOO_LOW"
    SCORE_TOO_LOW = "SCORE_TOO_LOW"


# (minimum score, tier, income multiple, cap in cents): the first whose minimum the score reaches
TIERS = ((750, CreditTier.A, 3, 5_000_000), (650, CreditTier.B, 2, 2_000_000), (560, CreditTier.C, 1, 500_000))
# (monthly income from, in cents; points)
INCOME_POINTS = ((2_000_000, 200), (1_000_000, 150), (500_000, 100), (300_000, 50), (200_000, 0))
# (age from, age to, points)
AGE_POINTS = ((18, 24, 0), (25, 45, 50), (46, 55, 30), (56, 65, 0))
ACCOUNT_DAYS_POINTS = ((365, 60), (180, 40), (30, 20), (0, 0))
COMPLETED_ORDER_POINTS = ((20, 60), (5, 40), (1, 20), (0, 0))
AFTER_SALE_RATE_PENALTY = (0.3, -80)        # after-sales / completed orders above 30% (5+ orders)
MIN_INCOME = 200_000


@dataclass(frozen=True)
class CreditFacts:
    id_number: str
    monthly_income: int          # cents
    phone: str                   # as given on the application
    account_phone: str | None    # the buyer's verified phone
    blacklisted: bool            # buyer, phone or ID on a blacklist (the caller checks)
    account_days: int            # days since registration
    completed_orders: int
    after_sales: int             # after-sale requests over the buyer's life
    id_holds_other_line: bool = False   # the same ID number opened another account's credit line


@dataclass(frozen=True)
class CreditDecision:
    approved: bool
    tier: CreditTier | None
    limit: int                   # cents, 0 when rejected
    score: int
    reason: CreditRejection | None
    rules: tuple[tuple[str, int], ...]     # (rule, points) that fired, in order


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def birth_date(id_number: str) -> date | None:
    """The birth date in a valid 18-character resident ID number, else None."""
    if len(id_number) != 18 or not id_number[:17].isdigit() or id_number[17] not in "0123456789X":
        return None
    if _ID_CHECK[sum(int(c) * w for c, w in zip(id_number[:17], _ID_WEIGHTS, strict=True)) % 11] != id_number[17]:
        return None
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _first(table, value: int) -> int:
    return next(points for threshold, points in table if value >= threshold)


def score(facts: CreditFacts, today: date) -> CreditDecision:
    def reject(reason: CreditRejection, rules: list[tuple[str, int]], total: int = 0) -> CreditDecision:
        return CreditDecision(False, None, 0, total, reason, tuple(rules))

    id_number = facts.id_number.strip().upper()
    born = birth_date(id_number)
    if born is None or born > today:
        return reject(CreditRejection.INVALID_ID, [("ID_INVALID", 0)])
    age = age_on(born, today)
    if not 18 <= age <= 65:
        return reject(CreditRejection.AGE_NOT_ELIGIBLE, [("AGE_OUT_OF_RANGE", 0)])
    if facts.blacklisted:
        return reject(CreditRejection.BLACKLISTED, [("BLACKLIST_HIT", 0)])
    if facts.id_holds_other_line:
        return reject(CreditRejection.ID_ALREADY_USED, [("ID_HOLDS_ANOTHER_LINE", 0)])
    if facts.account_phone is None or facts.phone.strip() != facts.account_phone:
        return reject(CreditRejection.PHONE_NOT_VERIFIED, [("PHONE_MISMATCH", 0)])
    if facts.monthly_income < MIN_INCOME:
        return reject(CreditRejection.INCOME_TOO_LOW, [("INCOME_BELOW_MINIMUM", 0)])

    rules = [("BASE", BASE_SCORE), ("INCOME", _first(INCOME_POINTS, facts.monthly_income)),
             ("AGE", next(p for lo, hi, p in AGE_POINTS if lo <= age <= hi)),
             ("ACCOUNT_AGE", _first(ACCOUNT_DAYS_POINTS, facts.account_days)),
             ("COMPLETED_ORDERS", _first(COMPLETED_ORDER_POINTS, facts.completed_orders))]
    threshold, penalty = AFTER_SALE_RATE_PENALTY
    if facts.completed_orders >= 5 and facts.after_sales > threshold * facts.completed_orders:
        rules.append(("AFTER_SALE_RATE", penalty))
    rules = [r for r in rules if r[1] or r[0] == "BASE"]
    total = sum(points for _, points in rules)
    for minimum, tier, multiple, cap in TIERS:
        if total >= minimum:
            limit = min(facts.monthly_income * multiple, cap) // 10_000 * 10_000
            return CreditDecision(True, tier, limit, total, None, tuple(rules))
    return reject(CreditRejection.SCORE_TOO_LOW, rules, total)
