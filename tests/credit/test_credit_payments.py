"""CREDIT at the cashier through GraphQL: real-time approval (OVERDUE_BILLS before
INSUFFICIENT_LIMIT, the plan, the blacklist), the amount frozen then turned into the loan when the
payment pays its order through the ordinary event path, two payments at once never overspending
a limit, and a refund of a credit-paid order lowering the loan and restoring the limit."""

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from app.credit import lines
from app.credit.billing import run_billing
from app.ledger import settlement
from app.ledger.accounts import Account
from app.ledger.audit import audit, report
from app.ledger.journal import balances
from app.payments import refunds
from tests.cart.helpers import staff_token
from tests.credit.helpers import new_id
from tests.payments.helpers import gid, make_goods, new_buyer, place

CREATE = """mutation($i: CreatePaymentInput!) { createPayment(input: $i) {
  payment { id channel amount status } instructions { provider } userErrors { field code message } } }"""
LINE = "query { myCreditLine { limit available outstandingPrincipal frozen } }"
CANCEL = """mutation($id: ID!) { cancelPaidOrder(input: {orderId: $id}) { refund { id amount status }
  userErrors { code } } }"""


async def credit_buyer(db, settings, limit: int | None = None) -> SimpleNamespace:
    buyer = await new_buyer(db, settings)
    phone = await db.fetchval("SELECT phone FROM buyers WHERE id = $1", buyer.id)
    async with db.transaction() as conn:
        await lines.apply(conn, settings, buyer.id, new_id(), 2_000_000, phone, 10, datetime.now(UTC))
        if limit is not None:
            await conn.execute("UPDATE credit_lines SET credit_limit = $2 WHERE buyer_id = $1", buyer.id, limit)
    return buyer


async def pay(api, token: str, po: int, periods: int | None = 3) -> dict:
    return (await api.ok(CREATE, {"i": {"paymentOrderId": gid("PaymentOrder", po), "channel": "CREDIT",
                                        "installmentPeriods": periods}}, token=token))["createPayment"]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_a_credit_payment_pays_the_order_and_makes_the_loan(api, db, settings):
    goods = await make_goods(db)
    buyer = await credit_buyer(db, settings, limit=100_000)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [300, 200])             # 300.00 + 200.00 from two shops
    out = await pay(api, buyer.token, po, 6)
    assert codes(out) == [] and (out["payment"]["status"], out["payment"]["amount"]) == ("SUCCEEDED", 50000)
    assert out["instructions"]["provider"] == "credit"
    assert {r["status"] for r in await db.fetch("SELECT status FROM orders WHERE payment_order_id = $1", po)} == {"PAID"}
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'ORDER_PAID' AND"
                             " (payload->>'payment_order_id')::bigint = $1", po) == 2
    loan = await db.fetchrow("SELECT * FROM loans WHERE buyer_id = $1", buyer.id)
    # 50000 over 6 at 4.5%: fee 2250 = 375 × 6; principal 8333 × 6 + 2 on period 1
    bills = await db.fetch("SELECT principal, fee FROM bills WHERE loan_id = $1 ORDER BY period", loan["id"])
    assert [tuple(b) for b in bills] == [(8335, 375)] + [(8333, 375)] * 5
    assert (loan["principal"], loan["periods"], loan["funding"]) == (50000, 6, "SELF_FUNDED")
    line = (await api.ok(LINE, {}, token=buyer.token))["myCreditLine"]
    assert line == {"limit": 100_000, "available": 50_000, "outstandingPrincipal": 50_000, "frozen": 0}
    assert await db.fetchval("SELECT rule FROM risk_decisions WHERE stage = 'CREDIT' AND buyer_id = $1"
                             " AND rule = 'CREDIT_PAYMENT_APPROVED'", buyer.id) == "CREDIT_PAYMENT_APPROVED"


async def test_refusals_come_in_order_and_write_nothing(api, db, settings):
    goods = await make_goods(db)
    nobody = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, nobody.id, [10])
    assert codes(await pay(api, nobody.token, po, None)) == ["INSTALLMENT_PERIODS_REQUIRED"]
    assert codes(await pay(api, nobody.token, po)) == ["NO_CREDIT_LINE"]

    buyer = await credit_buyer(db, settings, limit=5_000)
    async with db.transaction() as conn:
        big = await place(conn, goods, buyer.id, [60])                 # 6000 > 5000 available
        small = await place(conn, goods, buyer.id, [10])
    assert codes(await pay(api, buyer.token, big)) == ["INSUFFICIENT_LIMIT"]
    assert codes(await pay(api, buyer.token, small, 4)) == ["PLAN_NOT_AVAILABLE"]
    # an overdue bill (a loan made by a paid credit order, billed past its due date) comes first
    assert codes(await pay(api, buyer.token, small)) == []
    await run_billing(db, settings, datetime(2099, 1, 1).date())
    async with db.transaction() as conn:
        third = await place(conn, goods, buyer.id, [10])
    assert codes(await pay(api, buyer.token, big)) == ["OVERDUE_BILLS"]
    assert codes(await pay(api, buyer.token, third)) == ["OVERDUE_BILLS"]
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO risk_blacklist (kind, value) VALUES ('BUYER', $1)", str(buyer.id))
    assert codes(await pay(api, buyer.token, third)) == ["CREDIT_REFUSED"]
    denied = await db.fetch("SELECT rule FROM risk_decisions WHERE stage = 'CREDIT' AND buyer_id = $1"
                            " AND decision = 'DENY' ORDER BY id", buyer.id)
    assert [d["rule"] for d in denied] == ["INSUFFICIENT_LIMIT", "PLAN_NOT_AVAILABLE", "OVERDUE_BILLS", "OVERDUE_BILLS",
                                           "CREDIT_REFUSED"]
    assert await db.fetchval("SELECT count(*) FROM payments p JOIN payment_orders o ON o.id = p.payment_order_id"
                             " WHERE o.buyer_id = $1", buyer.id) == 1                  # only the one that paid
    line = await db.fetchrow("SELECT * FROM credit_lines WHERE buyer_id = $1", buyer.id)
    assert (line["frozen"], line["outstanding_principal"]) == (0, 1000)


async def test_two_payments_at_once_never_overspend_the_limit(api, db, settings):
    goods = await make_goods(db)
    buyer = await credit_buyer(db, settings, limit=10_000)
    async with db.transaction() as conn:
        first, second = await place(conn, goods, buyer.id, [60]), await place(conn, goods, buyer.id, [60])
    outcomes = await asyncio.gather(pay(api, buyer.token, first), pay(api, buyer.token, second))
    assert sorted(tuple(codes(o)) for o in outcomes) == [(), ("INSUFFICIENT_LIMIT",)]
    line = await db.fetchrow("SELECT * FROM credit_lines WHERE buyer_id = $1", buyer.id)
    assert (line["outstanding_principal"], line["frozen"], lines.available(line)) == (6000, 0, 4000)


async def test_cancelling_a_credit_paid_order_closes_its_loan_and_restores_the_limit(api, db, settings):
    goods = await make_goods(db, merchants=1)
    buyer = await credit_buyer(db, settings, limit=100_000)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [120])
    assert codes(await pay(api, buyer.token, po)) == []
    order = await db.fetchval("SELECT id FROM orders WHERE payment_order_id = $1", po)
    out = (await api.ok(CANCEL, {"id": gid("Order", order)}, token=buyer.token))["cancelPaidOrder"]
    assert out["userErrors"] == []

    refund_id = int(await db.fetchval("SELECT id FROM refunds WHERE order_id = $1", order))
    # what the refund job does (the credit system confirms at once: no provider to call)
    assert await refunds.submit_refund(db, settings, None, refund_id)   # type: ignore[arg-type]
    assert not await refunds.submit_refund(db, settings, None, refund_id)   # type: ignore[arg-type]  # settled
    assert await db.fetchval("SELECT status FROM refunds WHERE id = $1", refund_id) == "SUCCEEDED"
    loan = await db.fetchrow("SELECT * FROM loans WHERE buyer_id = $1", buyer.id)
    assert (loan["status"], loan["refunded"]) == ("CLOSED", 12000)
    line = (await api.ok(LINE, {}, token=buyer.token))["myCreditLine"]
    assert (line["available"], line["outstandingPrincipal"]) == (100_000, 0)
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", order) == "CLOSED"


async def test_an_interest_free_payment_charges_the_platform_the_fee_and_a_refund_credits_it_back(api, db, settings):
    """120.00 over 3 on a platform 免息 offer: the buyer's bills carry no fee; the platform is
    charged 120.00 × 2.3% = 2.76 (Dr PLATFORM_SUBSIDY / Cr CREDIT_FEE_INCOME); cancelling the
    order (a full refund) credits all of it back."""
    goods = await make_goods(db, merchants=1)
    buyer = await credit_buyer(db, settings, limit=100_000)
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute("UPDATE credit_interest_free_offers SET active = false")
        await conn.execute("INSERT INTO credit_interest_free_offers (periods, subsidiser, starts_at, ends_at)"
                           " VALUES ('{3}', 'PLATFORM', $1, $2)", now - timedelta(hours=1), now + timedelta(hours=1))
        po = await place(conn, goods, buyer.id, [120])
    try:
        assert codes(await pay(api, buyer.token, po)) == []
    finally:
        async with db.transaction() as conn:
            await conn.execute("UPDATE credit_interest_free_offers SET active = false")
    loan = await db.fetchrow("SELECT * FROM loans WHERE buyer_id = $1", buyer.id)
    assert (loan["interest_free"], loan["subsidiser"], loan["subsidy_fee"]) == (True, "PLATFORM", 276)
    assert await db.fetchval("SELECT sum(fee) FROM bills WHERE loan_id = $1", loan["id"]) == 0
    subsidy = await db.fetch("SELECT account, amount FROM postings WHERE entry_id = $1 ORDER BY account",
                             f"loan:{loan['id']}:subsidy")
    assert [(p["account"], p["amount"]) for p in subsidy] == [("CREDIT_FEE_INCOME", -276), ("PLATFORM_SUBSIDY", 276)]
    order = await db.fetchval("SELECT id FROM orders WHERE payment_order_id = $1", po)
    assert (await api.ok(CANCEL, {"id": gid("Order", order)}, token=buyer.token))["cancelPaidOrder"]["userErrors"] == []
    refund_id = await db.fetchval("SELECT id FROM refunds WHERE order_id = $1", order)
    assert await refunds.submit_refund(db, settings, None, refund_id)   # type: ignore[arg-type]
    back = await db.fetch("SELECT account, amount FROM postings WHERE entry_id = $1 ORDER BY account",
                          f"refund:{refund_id}:subsidy")
    assert [(p["account"], p["amount"]) for p in back] == [("CREDIT_FEE_INCOME", 276), ("PLATFORM_SUBSIDY", -276)]


async def test_a_merchant_funded_interest_free_fee_is_deducted_in_its_next_run(api, db, settings):
    """The shop funds 3 periods 免息: paying 120.00 on credit charges it 120.00 × 2.3% = 2.76, owed
    at once (MERCHANT_REFUND_RECOVERY) and deducted by its next settlement run (a CHARGE line);
    cancelling the order credits it back, and the next run pays the 2.76 back."""
    goods = await make_goods(db, merchants=1)
    shop = goods.shops[0].merchant
    buyer = await credit_buyer(db, settings, limit=100_000)
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        await conn.execute("UPDATE credit_interest_free_offers SET active = false")
        await conn.execute("INSERT INTO credit_interest_free_offers (periods, subsidiser, merchant_id, starts_at,"
                           " ends_at) VALUES ('{3}', 'MERCHANT', $1, $2, $3)", shop, now - timedelta(hours=1),
                           now + timedelta(hours=1))
        po = await place(conn, goods, buyer.id, [120])
    try:
        assert codes(await pay(api, buyer.token, po)) == []
    finally:
        async with db.transaction() as conn:
            await conn.execute("UPDATE credit_interest_free_offers SET active = false")
    loan = await db.fetchrow("SELECT * FROM loans WHERE buyer_id = $1", buyer.id)
    assert (loan["subsidiser"], loan["subsidiser_merchant_id"], loan["subsidy_fee"]) == ("MERCHANT", shop, 276)

    async def owed_and_available():
        async with db.connection() as conn:
            got = await balances(conn, shop, [Account.MERCHANT_REFUND_RECOVERY, Account.MERCHANT_AVAILABLE])
        return got[Account.MERCHANT_REFUND_RECOVERY], got[Account.MERCHANT_AVAILABLE]

    assert await owed_and_available() == (276, 0)
    today = datetime.now(UTC).date()
    await settlement.run(db, today)
    line = await db.fetchrow("SELECT deduction, net FROM settlement_lines WHERE merchant_id = $1 AND kind = 'CHARGE'",
                             shop)
    assert (line["deduction"], line["net"]) == (276, -276)
    assert await owed_and_available() == (0, -276)          # carried negative until sales cover it
    console = await staff_token(db, settings, shop)
    listed = (await api.ok("{ settlementStatements(first: 5) { edges { node { net lines(first: 5) { edges { node {"
                           " kind deduction net } } } } } } }", {}, token=console))["settlementStatements"]["edges"]
    assert listed[0]["node"]["net"] == -276
    assert [e["node"] for e in listed[0]["node"]["lines"]["edges"]] == [{"kind": "CHARGE", "deduction": 276, "net": -276}]

    order = await db.fetchval("SELECT id FROM orders WHERE payment_order_id = $1", po)
    assert (await api.ok(CANCEL, {"id": gid("Order", order)}, token=buyer.token))["cancelPaidOrder"]["userErrors"] == []
    refund_id = await db.fetchval("SELECT id FROM refunds WHERE order_id = $1", order)
    assert await refunds.submit_refund(db, settings, None, refund_id)   # type: ignore[arg-type]
    assert await owed_and_available() == (-276, -276)       # credited back, paid by the next run
    await settlement.run(db, today)
    assert await owed_and_available() == (0, 0)
    async with db.connection() as conn:
        result = await audit(conn)
    assert result.ok, report(result)
