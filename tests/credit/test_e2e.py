"""Scenario 4 of DOMAIN §0 end to end, through GraphQL and the payment sandbox over real HTTP:
apply → preview with plans → place → pay with CREDIT → financed → repay bill 1 (and ahead) at the
cashier → refund part → the overpayment returned to the repayment's channel → pay off early →
limit restored. The ledger audit holds throughout and the receivable is the principal owed."""

from datetime import UTC, datetime

from app.credit import financing
from app.ids import decode_id
from app.ledger.accounts import Account
from app.ledger.audit import audit, report
from app.ledger.journal import balances
from app.payments import refunds
from tests.checkout.helpers import lines_input, make_market
from tests.credit.helpers import APPLY, LINE_FIELDS, new_id
from tests.orders.helpers import PLACE, place_input
from tests.payments.helpers import new_buyer, run_jobs, settle_refunds, wait_batch
from workers import credit as credit_jobs

PLANS = """query($i: CheckoutPreviewInput!) { checkoutPreview(input: $i) { payable
  installmentPlans { plans { periods totalFee schedule { principal fee amount } } } } }"""
PAY = """mutation($i: CreatePaymentInput!) { createPayment(input: $i) {
  payment { id status amount } instructions { payUrl } userErrors { code message } } }"""
REPAY = """mutation($i: RepayLoanInput!) { repayLoan(input: $i) {
  repayment { id amount kind status paymentOrderId } userErrors { code message } } }"""
LOANS = """query { myLoans { edges { node { id status funding principal
  bills { period principal fee paidPrincipal paidFee owed status } } } } }"""
LINE = f"query {{ myCreditLine {{ {LINE_FIELDS} }} }}"
OVERPAID = "query { myOverpayments { source amount returned status } }"


async def balanced(db, buyer: int | None = None, receivable: int | None = None) -> None:
    """The ledger audit holds (every entry sums to 0, every order reconciles), and the buyer's
    credit receivable is what they owe in principal."""
    async with db.connection() as conn:
        result = await audit(conn)
        assert result.ok, report(result)
        if buyer is not None:
            owed = (await balances(conn, buyer, [Account.CREDIT_RECEIVABLES]))[Account.CREDIT_RECEIVABLES]
            assert owed == receivable


async def pay_at_sandbox(api, http, settings, db, token: str, payment_order_id: str) -> dict:
    """createPayment with ALIPAY, pay at the sandbox's page, and let the worker apply the callback."""
    out = (await api.ok(PAY, {"i": {"paymentOrderId": payment_order_id, "channel": "ALIPAY"}},
                        token=token))["createPayment"]
    assert out["userErrors"] == [], out
    paid = (await http.post(out["instructions"]["payUrl"], params={"sms_code": "123456", "password": "123456"})).json()
    await wait_batch(http, paid["batch_id"])
    await run_jobs(settings, db)
    return out["payment"]


async def repay(api, http, settings, db, token: str, loan_id: str, **how) -> dict:
    asked = (await api.ok(REPAY, {"i": {"loanId": loan_id, **how}}, token=token))["repayLoan"]
    assert asked["userErrors"] == [], asked
    return asked["repayment"]


async def test_apply_pay_on_credit_repay_refund_pay_off(api, http, db, settings, redis):
    market = await make_market(db)
    async with db.transaction() as conn:       # one funder takes loans up to ¥10,000
        await conn.execute("UPDATE funders SET active = false")
        funder = await financing.create_funder(conn, "admin:1", f"e2e-trust-{new_id()}", "TRUST", 10_000_000,
                                               1_000_000, [3, 6], "C", 50, datetime.now(UTC))
    buyer = await new_buyer(db, settings)
    phone = await db.fetchval("SELECT phone FROM buyers WHERE id = $1", buyer.id)
    applied = (await api.ok(APPLY, {"i": {"idNumber": new_id(), "monthlyIncome": 1_500_000, "phone": phone}},
                            token=buyer.token))["applyForCredit"]
    assert applied["application"]["status"] == "APPROVED"
    limit = applied["creditLine"]["limit"]

    # preview: b1 100.01 × 2 from merchant B, shipping 6.00 to Guangdong ⇒ 206.02
    lines = lines_input((market.sku["b1"], 2))
    preview = (await api.ok(PLANS, {"i": {"lines": lines, "regionCode": "440305"}}, token=buyer.token))["checkoutPreview"]
    assert preview["payable"] == 20602
    three = next(p for p in preview["installmentPlans"]["plans"] if p["periods"] == 3)
    # fee 20602 × 2.3% = 473.846 ⇒ 474 = 158 × 3; principal 6867 × 3 + 1 on period 1
    assert [(b["principal"], b["fee"]) for b in three["schedule"]] == [(6868, 158), (6867, 158), (6867, 158)]

    placed = (await api.ok(PLACE, {"i": place_input(lines, expectedPayable=20602)}, token=buyer.token))["placeOrder"]
    assert placed["userErrors"] == []
    po = placed["paymentOrder"]["id"]
    paid = (await api.ok(PAY, {"i": {"paymentOrderId": po, "channel": "CREDIT", "installmentPeriods": 3}},
                         token=buyer.token))["createPayment"]
    assert paid["userErrors"] == [] and paid["payment"]["status"] == "SUCCEEDED"
    order = placed["paymentOrder"]["orders"][0]["id"]
    loan = (await api.ok(LOANS, {}, token=buyer.token))["myLoans"]["edges"][0]["node"]
    assert (loan["status"], loan["funding"], loan["principal"]) == ("ACTIVE", "FUNDED", 20602)
    assert await db.fetchval("SELECT capital FROM funders WHERE id = $1", funder) == 10_000_000 - 20602
    line = (await api.ok(LINE, {}, token=buyer.token))["myCreditLine"]
    assert (line["available"], line["outstandingPrincipal"]) == (limit - 20602, 20602)
    await balanced(db, buyer.id, 20602)       # the buyer's payment debited the credit receivable, not cash

    # repay at the cashier with ALIPAY: bill 1 (7026), bill 2 (7025) and bill 3's fee ahead (158)
    first = await repay(api, http, settings, db, buyer.token, loan["id"], amount=14209)
    await pay_at_sandbox(api, http, settings, db, buyer.token, first["paymentOrderId"])
    bills = (await api.ok(LOANS, {}, token=buyer.token))["myLoans"]["edges"][0]["node"]["bills"]
    assert [(b["status"], b["owed"]) for b in bills] == [("PAID", 0), ("PAID", 0), ("PENDING", 6867)]
    assert (await api.ok(LINE, {}, token=buyer.token))["myCreditLine"]["available"] == limit - 6867
    await balanced(db, buyer.id, 6867)

    # an after-sale refunds 60.00 of the order: bill 3's unpaid principal 6867 → 867; the fee on
    # 14602 is 335.846 ⇒ 336, so 474 − 336 = 138 less fee — all of it paid already (bill 3's 158
    # ahead): 158 → 20 and the 138 comes back as overpayment
    async with db.transaction() as conn:
        payment = await conn.fetchval("SELECT id FROM payments WHERE payment_order_id = $1 AND channel = 'CREDIT'",
                                      decode_id("PaymentOrder", po))
        refund = await refunds.request_refund(conn, payment, decode_id("Order", order), 6000, "AFTER_SALE_TEST", f"e2e-{po}")
    assert await refunds.submit_refund(db, settings, None, refund["id"])   # type: ignore[arg-type]  # no HTTP for credit
    bills = (await api.ok(LOANS, {}, token=buyer.token))["myLoans"]["edges"][0]["node"]["bills"]
    assert [(b["principal"], b["fee"], b["owed"]) for b in bills] == [(6868, 158, 0), (6867, 158, 0), (867, 20, 867)]
    assert await db.fetchval("SELECT bought_back FROM loans WHERE buyer_id = $1", buyer.id) == 6000
    await balanced(db, buyer.id, 867)

    # the overpayment goes back through the repayment's own ALIPAY payment (a refund at the sandbox)
    assert (await api.ok(OVERPAID, {}, token=buyer.token))["myOverpayments"] == [
        {"source": "REFUND", "amount": 138, "returned": 0, "status": "PENDING"}]
    assert await credit_jobs.return_overpayments({"db": db, "settings": settings, "redis": redis}) == 1
    back = [r["id"] for r in await db.fetch("SELECT refund_id AS id FROM credit_overpayment_returns r"
                                            " JOIN credit_overpayments o ON o.id = r.overpayment_id"
                                            " WHERE o.buyer_id = $1", buyer.id)]
    assert await db.fetchval("SELECT amount FROM refunds WHERE id = $1", back[0]) == 138
    await settle_refunds(settings, db, back)
    assert (await api.ok(OVERPAID, {}, token=buyer.token))["myOverpayments"] == [
        {"source": "REFUND", "amount": 138, "returned": 138, "status": "RETURNED"}]
    await balanced(db, buyer.id, 867)

    # pay off early: what is left is bill 3's principal 867 (its fee was paid)
    payoff = await repay(api, http, settings, db, buyer.token, loan["id"], payoff=True)
    assert (payoff["kind"], payoff["amount"]) == ("PAYOFF", 867)
    await pay_at_sandbox(api, http, settings, db, buyer.token, payoff["paymentOrderId"])
    loan = (await api.ok(LOANS, {}, token=buyer.token))["myLoans"]["edges"][0]["node"]
    assert loan["status"] == "PAID_OFF" and {b["owed"] for b in loan["bills"]} == {0}
    line = (await api.ok(LINE, {}, token=buyer.token))["myCreditLine"]
    assert (line["available"], line["outstandingPrincipal"], line["frozen"]) == (limit, 0, 0)
    await balanced(db, buyer.id, 0)
