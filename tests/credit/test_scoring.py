"""The credit scorer (app/risk/credit_scoring.py): hard rules in order, points, tiers and limits,
each case worked by hand from the tables in docs/credit.md."""

from dataclasses import replace
from datetime import date

import pytest

from app.risk.credit_scoring import CreditFacts, CreditRejection, CreditTier, birth_date, score
from tests.credit.helpers import resident_id

TODAY = date(2026, 12, 1)


def facts(born: str, **changes) -> CreditFacts:
    base = CreditFacts(id_number=resident_id(f"110105{born}123"), monthly_income=1_200_000, phone="13800138000",
                       account_phone="13800138000", blacklisted=False, account_days=400, completed_orders=8,
                       after_sales=1)
    return replace(base, **changes)


def test_the_standard_examples_are_valid_ids():
    assert birth_date("11010519491231002X") == date(1949, 12, 31)
    assert birth_date("440524188001010014") == date(1880, 1, 1)
    assert birth_date("110105194912310021") is None          # wrong check character
    assert resident_id("11010519491231002") == "11010519491231002X"


@pytest.mark.parametrize(("changes", "born", "tier", "limit", "total"), [
    # 30 years old, ¥12,000/month, 400 days, 8 orders: 500 + 150 + 50 + 60 + 40 = 800 ⇒ A; 3 × ¥12,000
    ({}, "19960520", CreditTier.A, 3_600_000, 800),
    # 50, ¥8,500, 200 days, 3 orders: 500 + 100 + 30 + 40 + 20 = 690 ⇒ B; 2 × ¥8,500 = ¥17,000
    ({"monthly_income": 850_000, "account_days": 200, "completed_orders": 3}, "19760301", CreditTier.B, 1_700_000, 690),
    # 22, ¥6,000, 40 days, none: 500 + 100 + 0 + 20 + 0 = 620 ⇒ C; ¥6,000 capped at ¥5,000
    ({"monthly_income": 600_000, "account_days": 40, "completed_orders": 0, "after_sales": 0}, "20040101",
     CreditTier.C, 500_000, 620),
    # ¥3,333.33 ⇒ 50; 22 ⇒ 0; 30 days ⇒ 20: 570 ⇒ C; the limit ¥3,333.33 in whole ¥100: ¥3,300
    ({"monthly_income": 333_333, "account_days": 30, "completed_orders": 0, "after_sales": 0}, "20040101",
     CreditTier.C, 330_000, 570),
    # after-sales above 30% of 10 orders: 500 + 150 + 50 + 60 + 40 − 80 = 720 ⇒ B; 2 × ¥12,000 capped ¥20,000
    ({"completed_orders": 10, "after_sales": 4}, "19960520", CreditTier.B, 2_000_000, 720),
])
def test_points_pick_the_tier_and_the_limit(changes, born, tier, limit, total):
    decision = score(facts(born, **changes), TODAY)
    assert (decision.approved, decision.tier, decision.limit, decision.score) == (True, tier, limit, total)
    assert sum(points for _, points in decision.rules) == total


@pytest.mark.parametrize(("changes", "born", "reason"), [
    ({"id_number": "110105199605201231"}, "19960520", CreditRejection.INVALID_ID),   # check character off
    ({"id_number": resident_id("11010519960231123")}, "19960520", CreditRejection.INVALID_ID),   # no 31 Feb
    ({}, "20081202", CreditRejection.AGE_NOT_ELIGIBLE),          # 17 until tomorrow
    ({}, "19601130", CreditRejection.AGE_NOT_ELIGIBLE),          # 66
    ({"blacklisted": True}, "19960520", CreditRejection.BLACKLISTED),
    ({"phone": "13900139000"}, "19960520", CreditRejection.PHONE_NOT_VERIFIED),
    ({"account_phone": None}, "19960520", CreditRejection.PHONE_NOT_VERIFIED),
    ({"monthly_income": 199_999}, "19960520", CreditRejection.INCOME_TOO_LOW),
    ({"id_holds_other_line": True}, "19960520", CreditRejection.ID_ALREADY_USED),
    # ¥2,000 ⇒ 0, 22 ⇒ 0, new account, no orders: 500 < 560
    ({"monthly_income": 200_000, "account_days": 0, "completed_orders": 0, "after_sales": 0}, "20040101",
     CreditRejection.SCORE_TOO_LOW),
])
def test_rejections_say_why(changes, born, reason):
    decision = score(facts(born, **changes), TODAY)
    assert (decision.approved, decision.reason, decision.limit, decision.tier) == (False, reason, 0, None)
    assert decision.rules


def test_hard_rules_apply_in_order():
    both = score(facts("20100101", blacklisted=True, monthly_income=1), TODAY)     # underage wins
    assert both.reason is CreditRejection.AGE_NOT_ELIGIBLE
    assert score(facts("20081201"), TODAY).approved          # 18 today
