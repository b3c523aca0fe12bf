"""Risk on after-sales (DOMAIN §9, §11): a buyer with many recent after-sales loses the
auto-approval of a refund-only before shipment — the request waits in the merchant's queue —
and every decision is logged at stage AFTER_SALE with the rule that fired; cases older than the
window stop counting; such a decision does not step up payment authentication."""

from datetime import UTC, datetime

import pytest

from app.risk.rules import after_sale_auto_approval, recent_denials
from tests.aftersale.helpers import paid_order, ship_and_receive
from tests.aftersale.test_flows import REQUEST, _ok, _request, staff_token
from tests.jobs import clear_job_queue
from tests.payments.helpers import gid, new_buyer


@pytest.mark.parametrize(("recent", "limit", "allowed", "rule"), [
    (0, 5, True, "PASS"), (4, 5, True, "PASS"), (5, 5, False, "AFTER_SALE_FREQUENT"),
    (9, 5, False, "AFTER_SALE_FREQUENT"), (0, 0, False, "AFTER_SALE_FREQUENT")])
def test_the_rule_counts_the_buyers_other_after_sales(recent, limit, allowed, rule):
    decision = after_sale_auto_approval(recent, limit, 30)
    assert (decision.allowed, decision.rule) == (allowed, rule)
    assert decision.detail == {"recent_after_sales": recent, "max": limit, "window_days": 30}


async def test_a_frequent_buyer_is_reviewed_instead_of_auto_approved(api, http, db, redis, settings):
    limit, days = settings.risk_after_sale_max_requests, settings.risk_after_sale_window_days
    assert (limit, days) == (5, 30)       # the documented defaults
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(1, 1000)] * (limit + 2))

    for n in range(limit):               # below the threshold: 0 … 4 earlier requests
        case = await _ok(api, REQUEST, _request(order, n, 1), buyer.token, "requestAfterSale")
        assert case["status"] == "APPROVED"
    held = await _ok(api, REQUEST, _request(order, limit, 1), buyer.token, "requestAfterSale")
    assert held["status"] == "REQUESTED"  # at the threshold: 5 earlier requests ⇒ the merchant reviews it
    queue = await api.ok("{ afterSaleQueue(status: REQUESTED) { edges { node { id } } } }",
                         token=await staff_token(db, settings, order.merchant))
    assert [e["node"]["id"] for e in queue["afterSaleQueue"]["edges"]] == [held["id"]]

    log = await db.fetch("SELECT stage, decision, rule, detail FROM risk_decisions WHERE buyer_id = $1 ORDER BY id",
                         buyer.id)
    assert [(r["stage"], r["decision"], r["rule"]) for r in log] == \
        [("AFTER_SALE", "ALLOW", "PASS")] * limit + [("AFTER_SALE", "DENY", "AFTER_SALE_FREQUENT")]
    assert [r["detail"]["recent_after_sales"] for r in log] == [0, 1, 2, 3, 4, 5]
    async with db.connection() as conn:
        assert await recent_denials(conn, buyer.id, datetime.now(UTC)) == 0   # payments are not stepped up
    back_office = await api.ok("query($b: ID) { riskDecisions(buyerId: $b, deniedOnly: true) { edges { node {"
                               " stage decision rule } } } }", {"b": gid("Buyer", buyer.id)},
                               token=await staff_token(db, settings, None))
    assert [e["node"] for e in back_office["riskDecisions"]["edges"]] == [
        {"stage": "AFTER_SALE", "decision": "DENY", "rule": "AFTER_SALE_FREQUENT"}]

    # the oldest cases leave the window: the buyer is trusted again
    await db.fetchval("UPDATE after_sales SET created_at = now() - make_interval(days => $2 + 1)"
                      " WHERE buyer_id = $1 AND id <> (SELECT max(id) FROM after_sales WHERE buyer_id = $1)",
                      buyer.id, days)
    again = await _ok(api, REQUEST, _request(order, limit + 1, 1), buyer.token, "requestAfterSale")
    assert again["status"] == "APPROVED"
    last = await db.fetchrow("SELECT decision, rule, detail FROM risk_decisions WHERE buyer_id = $1"
                             " ORDER BY id DESC LIMIT 1", buyer.id)
    assert (last["decision"], last["rule"], last["detail"]["recent_after_sales"]) == ("ALLOW", "PASS", 1)
    # the approved cases' withdrawals are not this test's subject (six at once on one order)
    await clear_job_queue(redis)


async def test_requests_that_need_a_review_anyway_log_no_decision(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    order = await paid_order(http, db, settings, buyer, [(1, 1000)])
    await ship_and_receive(db, order.id)
    case = await _ok(api, REQUEST, _request(order, 0, 1, "RETURN_REFUND", "DAMAGED"), buyer.token,
                     "requestAfterSale")
    assert case["status"] == "REQUESTED"
    assert await db.fetchval("SELECT count(*) FROM risk_decisions WHERE buyer_id = $1", buyer.id) == 0
