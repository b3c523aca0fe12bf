"""Credit lines through GraphQL: an application decided at once (and logged with its rules), one
line per buyer and per ID, re-applying after a rejection, limit changes by the back office with
their event and notification, ownership; and the installment plans trial pricing lists, each
schedule worked by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from app.ids import encode_id
from tests.cart.helpers import new_buyer
from tests.checkout.helpers import gid, lines_input, make_market
from tests.credit.helpers import APPLY, CHANGE_LIMIT, MY_LINE, new_id

PLANS = """query($i: CheckoutPreviewInput!) { checkoutPreview(input: $i) { payable
  installmentPlans { unavailableReason availableLimit plans { periods ratePercent interestFree subsidiser
    firstPeriodAmount perPeriodAmount totalFee totalAmount schedule { period principal fee amount } } } } }"""
APPLICATIONS = """query($s: CreditApplicationStatus) { creditApplications(status: $s, first: 50) {
  edges { node { id buyerId status reason } } } }"""
MY_APPLICATIONS = "query { myCreditApplications(first: 10) { edges { node { id status reason } } } }"


async def applicant(db, settings):
    buyer_id, token = await new_buyer(db, settings)
    phone = await db.fetchval("SELECT phone FROM buyers WHERE id = $1", buyer_id)
    return buyer_id, token, phone


def application(phone: str, **changes) -> dict:
    return {"i": {"idNumber": new_id(), "monthlyIncome": 1_200_000, "phone": phone, "dueDay": 10, **changes}}


async def test_an_approved_application_opens_one_line(gql, db, settings):
    buyer_id, token, phone = await applicant(db, settings)
    out = (await gql.ok(APPLY, application(phone), token))["applyForCredit"]
    assert out["userErrors"] == []
    # a new account, 30 years old, ¥12,000 a month: 500 + 150 + 50 = 700 ⇒ B, 2 × ¥12,000 capped at ¥20,000
    app = out["application"]
    assert (app["status"], app["tier"], app["limit"], app["score"], app["reason"]) == ("APPROVED", "B", 2_000_000, 700,
                                                                                     None)
    assert app["rules"] == [{"rule": "BASE", "points": 500}, {"rule": "INCOME", "points": 150},
                            {"rule": "AGE", "points": 50}]
    assert app["idNumber"].startswith("110") and "*" in app["idNumber"]
    assert out["creditLine"] == {"buyerId": gid("Buyer", buyer_id), "tier": "B", "limit": 2_000_000,
                                 "available": 2_000_000, "outstandingPrincipal": 0, "frozen": 0, "dueDay": 10}
    logged = await db.fetchrow("SELECT decision, rule, detail FROM risk_decisions WHERE stage = 'CREDIT' AND buyer_id = $1",
                               buyer_id)
    assert (logged["decision"], logged["rule"], logged["detail"]["score"]) == ("ALLOW", "CREDIT_APPROVED", 700)
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'CREDIT_APPROVED'"
                             " AND (payload->>'buyer_id')::bigint = $1", buyer_id) == 1

    again = (await gql.ok(APPLY, application(phone), token))["applyForCredit"]
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_HAS_CREDIT_LINE"]


async def test_rejections_say_why_and_a_rejected_buyer_waits_to_apply_again(gql, db, settings):
    buyer_id, token, phone = await applicant(db, settings)
    out = (await gql.ok(APPLY, application("13000000000"), token))["applyForCredit"]      # not the account's phone
    assert (out["application"]["status"], out["application"]["reason"], out["creditLine"]) == (
        "REJECTED", "PHONE_NOT_VERIFIED", None)
    assert await db.fetchval("SELECT decision FROM risk_decisions WHERE stage = 'CREDIT' AND buyer_id = $1",
                             buyer_id) == "DENY"
    too_soon = (await gql.ok(APPLY, application(phone), token))["applyForCredit"]
    assert [e["code"] for e in too_soon["userErrors"]] == ["REAPPLY_TOO_SOON"]
    async with db.transaction() as conn:   # a month later
        await conn.execute("UPDATE credit_applications SET created_at = created_at - interval '31 days'"
                           " WHERE buyer_id = $1", buyer_id)
    assert (await gql.ok(APPLY, application(phone), token))["applyForCredit"]["application"]["status"] == "APPROVED"


async def test_one_id_opens_one_line_and_blacklists_refuse(gql, db, settings):
    _, first, phone = await applicant(db, settings)
    shared = new_id()
    assert (await gql.ok(APPLY, application(phone, idNumber=shared), first))["applyForCredit"]["application"][
        "status"] == "APPROVED"
    _, second, phone2 = await applicant(db, settings)
    other = (await gql.ok(APPLY, application(phone2, idNumber=shared), second))["applyForCredit"]["application"]
    assert (other["status"], other["reason"], other["rules"]) == ("REJECTED", "ID_ALREADY_USED",
                                                                  [{"rule": "ID_HOLDS_ANOTHER_LINE", "points": 0}])
    _, third, phone3 = await applicant(db, settings)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO risk_blacklist (kind, value) VALUES ('PHONE', $1)", phone3)
    assert (await gql.ok(APPLY, application(phone3), third))["applyForCredit"]["application"]["reason"] == "BLACKLISTED"
    bad = (await gql.ok(APPLY, application(phone3, monthlyIncome=-1, dueDay=29), third))["applyForCredit"]
    assert {e["code"] for e in bad["userErrors"]} <= {"INVALID_INCOME", "INVALID_DUE_DAY"} and bad["userErrors"]


async def test_the_back_office_raises_and_cuts_limits(gql, db, settings, tokens):
    buyer_id, token, phone = await applicant(db, settings)
    await gql.ok(APPLY, application(phone), token)
    raise_to = {"i": {"buyerId": gid("Buyer", buyer_id), "limit": 3_000_000, "reason": "good repayments"}}
    refused = await gql(CHANGE_LIMIT, raise_to, token)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    raised = (await gql.ok(CHANGE_LIMIT, raise_to, tokens["admin"]))["changeCreditLimit"]["creditLine"]
    assert (raised["limit"], raised["available"]) == (3_000_000, 3_000_000)
    event = await db.fetchrow("SELECT payload FROM outbox WHERE event_type = 'CREDIT_LIMIT_CHANGED'"
                              " AND (payload->>'buyer_id')::bigint = $1", buyer_id)
    assert event["payload"] | {} == {"buyer_id": buyer_id, "from": 2_000_000, "to": 3_000_000, "direction": "RAISE",
                                     "reason": "good repayments"}
    assert await db.fetchval("SELECT template FROM buyer_notifications WHERE buyer_id = $1", buyer_id) == \
        "CREDIT_LIMIT_RAISE"

    # a cut below what is in use: available 0, never negative (§8.1)
    async with db.transaction() as conn:
        await conn.execute("UPDATE credit_lines SET outstanding_principal = 1500000, frozen = 200000"
                           " WHERE buyer_id = $1", buyer_id)
    cut = {"i": {"buyerId": gid("Buyer", buyer_id), "limit": 1_000_000, "reason": "risk review"}}
    line = (await gql.ok(CHANGE_LIMIT, cut, tokens["admin"]))["changeCreditLimit"]["creditLine"]
    assert (line["limit"], line["available"], line["outstandingPrincipal"], line["frozen"]) == (
        1_000_000, 0, 1_500_000, 200_000)
    mine = (await gql.ok(MY_LINE, {}, token))["myCreditLine"]
    assert [(c["fromLimit"], c["toLimit"]) for c in mine["limitChanges"]] == [(3_000_000, 1_000_000),
                                                                            (2_000_000, 3_000_000)]
    bad = (await gql.ok(CHANGE_LIMIT, {"i": {**cut["i"], "limit": -5}}, tokens["admin"]))["changeCreditLimit"]
    assert [e["code"] for e in bad["userErrors"]] == ["INVALID_LIMIT"]
    nobody = {"i": {"buyerId": gid("Buyer", 10**12), "limit": 100, "reason": "x"}}
    assert [e["code"] for e in (await gql.ok(CHANGE_LIMIT, nobody, tokens["admin"]))["changeCreditLimit"]["userErrors"]] \
        == ["NO_CREDIT_LINE"]


async def test_applications_are_seen_by_their_buyer_and_the_back_office_only(gql, db, settings, tokens):
    buyer_id, token, phone = await applicant(db, settings)
    await gql.ok(APPLY, application(phone), token)
    _, other, _ = await applicant(db, settings)
    assert (await gql.ok(MY_APPLICATIONS, {}, other))["myCreditApplications"]["edges"] == []
    assert len((await gql.ok(MY_APPLICATIONS, {}, token))["myCreditApplications"]["edges"]) == 1
    assert (await gql(APPLICATIONS, {}, token))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    everyone = (await gql.ok(APPLICATIONS, {"s": "APPROVED"}, tokens["admin"]))["creditApplications"]["edges"]
    assert gid("Buyer", buyer_id) in {e["node"]["buyerId"] for e in everyone}
    assert (await gql.ok(MY_LINE, {}, other))["myCreditLine"] is None


@pytest.fixture(scope="module")
async def market(db):
    return await make_market(db)


async def _plans(gql, token, lines) -> dict:
    return (await gql.ok(PLANS, {"i": {"lines": lines}}, token))["checkoutPreview"]


async def test_trial_pricing_lists_every_plan_with_its_schedule(gql, db, settings, tokens, market):
    buyer_id, token, phone = await applicant(db, settings)
    await gql.ok(APPLY, application(phone), token)
    two = lines_input((market.sku["a2"], 2))
    preview = await _plans(gql, token, two)
    # 2 × 150.00 = 300.00, A's shop reduction −30.00 from 300.00, free shipping from 99.00 ⇒ 270.00
    assert preview["payable"] == 27000
    got = preview["installmentPlans"]
    assert (got["unavailableReason"], got["availableLimit"]) == (None, 2_000_000)
    by_periods = {p["periods"]: p for p in got["plans"]}
    assert sorted(by_periods) == [3, 6, 9, 12]
    # 3: fee 27000 × 2.3% = 621 = 207 × 3; principal 9000 × 3
    assert [(b["principal"], b["fee"]) for b in by_periods[3]["schedule"]] == [(9000, 207)] * 3
    assert (by_periods[3]["perPeriodAmount"], by_periods[3]["totalFee"], by_periods[3]["totalAmount"]) == (
        9207, 621, 27621)
    # 6: fee 27000 × 4.5% = 1215 = 202 × 6 + 3 on period 1; principal 4500 × 6
    assert [(b["principal"], b["fee"]) for b in by_periods[6]["schedule"]] == [(4500, 205)] + [(4500, 202)] * 5
    assert (by_periods[6]["firstPeriodAmount"], by_periods[6]["perPeriodAmount"]) == (4705, 4702)
    # 9: fee 1755 = 195 × 9; 12: fee 2376 = 198 × 12
    assert {(b["principal"], b["fee"]) for b in by_periods[9]["schedule"]} == {(3000, 195)}
    assert {(b["principal"], b["fee"]) for b in by_periods[12]["schedule"]} == {(2250, 198)}
    assert by_periods[3]["ratePercent"] == "2.300" and not any(p["interestFree"] for p in got["plans"])

    # 免息: the platform makes 3 and 6 interest-free, merchant A its 12 (A sells the whole checkout)
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO credit_interest_free_offers (periods, subsidiser, starts_at, ends_at)"
                           " VALUES ('{3,6}', 'PLATFORM', $1, $2)", now - timedelta(hours=1), now + timedelta(days=1))
        await conn.execute("INSERT INTO credit_interest_free_offers (periods, subsidiser, merchant_id, starts_at, ends_at)"
                           " VALUES ('{12}', 'MERCHANT', $1, $2, $3)", market.a, now - timedelta(hours=1),
                           now + timedelta(days=1))
    free = {p["periods"]: p for p in (await _plans(gql, token, two))["installmentPlans"]["plans"]}
    assert (free[3]["interestFree"], free[3]["subsidiser"], free[3]["totalFee"], free[3]["perPeriodAmount"]) == (
        True, "PLATFORM", 0, 9000)
    assert (free[12]["interestFree"], free[12]["subsidiser"], free[12]["totalFee"]) == (True, "MERCHANT", 0)
    assert not free[9]["interestFree"] and free[9]["totalFee"] == 1755
    mixed = {p["periods"]: p for p in (await _plans(gql, token, lines_input((market.sku["a2"], 2),
                                                                               (market.sku["b1"], 1))))[
        "installmentPlans"]["plans"]}
    assert mixed[3]["interestFree"] and not mixed[12]["interestFree"]      # B's goods too: no merchant offer


async def test_no_plans_and_why(gql, db, settings, tokens, market):
    two = lines_input((market.sku["a2"], 2))
    assert (await _plans(gql, None, two))["installmentPlans"]["unavailableReason"] == "NOT_SIGNED_IN"
    buyer_id, token, phone = await applicant(db, settings)
    assert (await _plans(gql, token, two))["installmentPlans"]["unavailableReason"] == "NO_CREDIT_LINE"
    await gql.ok(APPLY, application(phone), token)
    await gql.ok(CHANGE_LIMIT, {"i": {"buyerId": gid("Buyer", buyer_id), "limit": 26999, "reason": "test"}},
                 tokens["admin"])
    short = (await _plans(gql, token, two))["installmentPlans"]
    assert (short["unavailableReason"], short["plans"], short["availableLimit"]) == ("INSUFFICIENT_LIMIT", [], 26999)
    await gql.ok(CHANGE_LIMIT, {"i": {"buyerId": gid("Buyer", buyer_id), "limit": 27000, "reason": "test"}},
                 tokens["admin"])
    assert len((await _plans(gql, token, two))["installmentPlans"]["plans"]) == 4      # exactly enough

    exclude = """mutation($c: ID!, $x: Boolean!) { setCreditCategoryExcluded(input: {categoryId: $c, excluded: $x}) {
      excludedCategoryIds userErrors { code } } }"""
    category = encode_id("BackendCategory", market.category)
    assert (await gql.ok(exclude, {"c": category, "x": True}, tokens["admin"]))["setCreditCategoryExcluded"][
        "excludedCategoryIds"] == [category]
    assert (await _plans(gql, token, two))["installmentPlans"]["unavailableReason"] == "CATEGORY_NOT_ELIGIBLE"
    await gql.ok(exclude, {"c": category, "x": False}, tokens["admin"])

    tier = await db.fetchval("SELECT tier FROM credit_lines WHERE buyer_id = $1", buyer_id)
    plan = """mutation($i: SetCreditPlanInput!) { setCreditPlan(input: $i) { userErrors { code } } }"""
    for periods, rate in ((3, "2.3"), (6, "4.5"), (9, "6.5"), (12, "8.8")):
        await gql.ok(plan, {"i": {"tier": tier, "periods": periods, "ratePercent": rate, "minAmount": 30000}},
                     tokens["admin"])
    assert (await _plans(gql, token, two))["installmentPlans"]["unavailableReason"] == "AMOUNT_NOT_ELIGIBLE"
    bad = (await gql.ok(plan, {"i": {"tier": tier, "periods": 4, "ratePercent": "2.3"}}, tokens["admin"]))
    assert [e["code"] for e in bad["setCreditPlan"]["userErrors"]] == ["INVALID_PLAN"]
    for periods, rate in ((3, "2.3"), (6, "4.5"), (9, "6.5"), (12, "8.8")):
        await gql.ok(plan, {"i": {"tier": tier, "periods": periods, "ratePercent": rate}}, tokens["admin"])
