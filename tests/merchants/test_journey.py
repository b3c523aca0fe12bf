"""Scenario 2 of DOMAIN §0 end to end (issue 10), through GraphQL, the payment sandbox and the
payout sandbox over real HTTP: application → review → deposit → open → first sale → shipment →
receipt → completion → settlement run → statement CSV → withdrawal → payout callback →
balance 0, the ledger audit holding at the end."""

import asyncio
from datetime import UTC, datetime, timedelta

from app.ids import decode_id, encode_id
from app.ledger import settlement
from app.ledger.audit import audit, report
from app.orders import service as orders
from tests.merchants.helpers import category, listed_product, open_shop
from tests.orders.helpers import PLACE, RECEIVE, SHIP, place_input
from tests.payments.helpers import new_buyer, run_jobs, wait_batch
from tests.payouts.helpers import ACCOUNT, APPROVE, REQUEST, enqueue_payout, run_payout_jobs

PREVIEW = "query($i: CheckoutPreviewInput!) { checkoutPreview(input: $i) { payable shippingTotal } }"
PAY = """mutation($po: ID!) { createPayment(input: {paymentOrderId: $po, channel: ALIPAY}) {
  payment { id } instructions { payUrl } userErrors { code } } }"""
STATEMENTS = """{ settlementStatements(first: 5) { edges { node { id net commission lineCount csv } } } }"""
WITHDRAWAL = "query($id: ID!) { withdrawal(id: $id) { status amount } }"


async def test_a_merchant_applies_opens_sells_settles_and_is_paid_out(api, http, db, settings, tokens, redis):
    admin = tokens["admin"]
    phones = await category(db, rate="0.0500")
    shop = await open_shop(api, http, db, settings, admin, [phones], deposit=200_000)
    account = (await api.ok(ACCOUNT, {}, token=shop.owner_token))["merchantAccount"]
    assert (account["deposit"], account["available"], account["pending"]) == (200_000, 0, 0)

    # the first sale: 299.99, free of shipping rules (the shop has none: no fee)
    product = await listed_product(db, shop.merchant, phones, 29_999)
    buyer = await new_buyer(db, settings)
    lines = [{"skuId": encode_id("Sku", product.sku), "quantity": 1}]
    preview = (await api.ok(PREVIEW, {"i": {"lines": lines, "regionCode": "440305"}}, token=buyer.token))[
        "checkoutPreview"]
    placed = (await api.ok(PLACE, {"i": place_input(lines, expectedPayable=preview["payable"])},
                           token=buyer.token))["placeOrder"]
    assert placed["userErrors"] == []
    payable = placed["paymentOrder"]["payable"]
    assert (payable, preview["shippingTotal"]) == (29_999, 0)
    order = placed["paymentOrder"]["orders"][0]["id"]
    pay = (await api.ok(PAY, {"po": placed["paymentOrder"]["id"]}, token=buyer.token))["createPayment"]
    assert pay["userErrors"] == []
    paid = (await http.post(pay["instructions"]["payUrl"], params={"sms_code": "123456", "password": "123456"})).json()
    await wait_batch(http, paid["batch_id"])
    await run_jobs(settings, db)
    assert (await api.ok(ACCOUNT, {}, token=shop.owner_token))["merchantAccount"]["pending"] == payable

    # the merchant ships from its console, the buyer confirms receipt; the review window passes
    shipped = (await api.ok(SHIP, {"id": order}, token=shop.owner_token))["shipOrder"]
    assert shipped["userErrors"] == [], shipped
    received = (await api.ok(RECEIVE, {"id": order}, token=buyer.token))["confirmReceipt"]
    assert received["userErrors"] == [] and received["order"]["status"] == "RECEIVED"
    async with db.transaction() as conn:        # received and completed days ago (T+7 needs a week)
        await conn.execute("UPDATE orders SET received_at = now() - interval '9 days' WHERE id = $1",
                           decode_id("Order", order))
        assert await orders.complete_due(conn, datetime.now(UTC), datetime.now(UTC) - timedelta(days=7)) >= 1
        await conn.execute("UPDATE orders SET completed_at = now() - interval '8 days' WHERE id = $1",
                           decode_id("Order", order))

    # the settlement run: 299.99 × 5% = 14.9995 ⇒ 15.00 commission; 284.99 available
    await settlement.run(db, datetime.now(UTC).date() - timedelta(days=1))
    commission = 1500
    account = (await api.ok(ACCOUNT, {}, token=shop.owner_token))["merchantAccount"]
    assert (account["pending"], account["available"]) == (0, payable - commission)
    statement = (await api.ok(STATEMENTS, {}, token=shop.owner_token))["settlementStatements"]["edges"][0]["node"]
    assert (statement["net"], statement["commission"], statement["lineCount"]) == (payable - commission, commission, 1)
    csv_lines = statement["csv"].strip().splitlines()
    assert len(csv_lines) >= 2 and any("28499" in line.replace(".", "") for line in csv_lines[1:]), csv_lines

    # the owner withdraws everything; the back office approves; the payout channel pays and calls back
    asked = (await api.ok(REQUEST, {"amount": payable - commission, "key": "journey"},
                          token=shop.owner_token))["requestWithdrawal"]
    assert asked["userErrors"] == [], asked
    wid = asked["withdrawal"]["id"]
    assert (await api.ok(APPROVE, {"id": wid}, token=admin))["approveWithdrawal"]["userErrors"] == []
    await enqueue_payout(redis, decode_id("Withdrawal", wid))     # what the approval event starts
    for _ in range(100):
        await run_payout_jobs(settings, db)
        if (await api.ok(WITHDRAWAL, {"id": wid}, token=shop.owner_token))["withdrawal"]["status"] == "PAID":
            break
        await asyncio.sleep(0.05)          # the payout channel calls back on its own
    assert (await api.ok(WITHDRAWAL, {"id": wid}, token=shop.owner_token))["withdrawal"] == {
        "status": "PAID", "amount": payable - commission}
    account = (await api.ok(ACCOUNT, {}, token=shop.owner_token))["merchantAccount"]
    assert {k: account[k] for k in ("pending", "available", "reserved", "inTransit")} == {
        "pending": 0, "available": 0, "reserved": 0, "inTransit": 0}
    assert account["deposit"] == 200_000
    async with db.connection() as conn:
        result = await audit(conn)
    assert result.ok, report(result)
