"""The cashier through GraphQL over real HTTP: createPayment opens the sandbox transaction over
HTTP, answers the amount, the risk-decided authentication level and the pay URL; paying at that
URL brings the signed callback back to our endpoint, and the worker applies it. Ownership and
every refusal are userErrors with nothing written."""

from datetime import timedelta

from tests.payments.helpers import gid, make_goods, new_buyer, place, run_jobs, wait_batch

CREATE = """mutation($i: CreatePaymentInput!) { createPayment(input: $i) {
  payment { id paymentOrderId channel amount status authLevel refundedAmount succeededAt }
  instructions { provider transactionId payUrl }
  userErrors { field code message } } }"""
PAYMENT = "query($id: ID!) { payment(id: $id) { id status amount succeededAt } }"


async def _create(api, token, po: int, channel: str = "WECHAT") -> dict:
    return (await api.ok(CREATE, {"i": {"paymentOrderId": gid("PaymentOrder", po), "channel": channel}},
                         token=token))["createPayment"]


def _codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def test_pay_in_the_sandbox_and_the_worker_applies_the_callback(api, http, db, settings):
    goods = await make_goods(db)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [3, 2])
    out = await _create(api, buyer.token, po, "ALIPAY")
    assert out["userErrors"] == []
    payment = out["payment"]
    assert (payment["amount"], payment["status"], payment["authLevel"], payment["channel"]) == \
        (500, "CREATED", "NONE", "ALIPAY")
    assert payment["paymentOrderId"] == gid("PaymentOrder", po)
    pay_url = out["instructions"]["payUrl"]
    assert out["instructions"]["provider"] == "sandbox" and pay_url.startswith(settings.base_url + "/sandbox/pay/")
    assert await db.fetchval("SELECT rule FROM risk_decisions WHERE buyer_id = $1 AND stage = 'PAYMENT'",
                             buyer.id) == "AUTH_NONE"

    page = await http.get(pay_url)
    assert page.status_code == 200 and "<form method=\"post\">" in page.text and "¥5.00" in page.text
    paid = (await http.post(pay_url, params={"duplicates": 2})).json()
    assert paid["deliveries"] == 3
    assert (await wait_batch(http, paid["batch_id"]))["acknowledged"] == 3
    assert await run_jobs(settings, db) == 1

    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PAID"
    read = (await api.ok(PAYMENT, {"id": payment["id"]}, token=buyer.token))["payment"]
    assert read["status"] == "SUCCEEDED" and read["succeededAt"]
    txn = (await http.get(f"/sandbox/v1/transactions/{out['instructions']['transactionId']}")).json()
    assert (txn["status"], txn["amount"], txn["reference"]) == ("PAID", 500, str(int(
        await db.fetchval("SELECT id FROM payments WHERE payment_order_id = $1", po))))


async def test_authentication_level_follows_the_amount(api, db, settings):
    goods = await make_goods(db)
    buyer = await new_buyer(db, settings)
    levels = {}
    for units in (199, 200, 5000):
        async with db.transaction() as conn:
            po = await place(conn, goods, buyer.id, [units])
        levels[units] = (await _create(api, buyer.token, po))["payment"]["authLevel"]
    assert levels == {199: "NONE", 200: "PASSWORD", 5000: "SMS"}
    assert [r["rule"] for r in await db.fetch("SELECT rule FROM risk_decisions WHERE buyer_id = $1 ORDER BY id",
                                              buyer.id)] == ["AUTH_NONE", "AUTH_PASSWORD", "AUTH_SMS"]


async def test_refusals(api, db, settings):
    goods = await make_goods(db)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        open_po = await place(conn, goods, buyer.id, [1])
        expired = await place(conn, goods, buyer.id, [1], expires_in=timedelta(seconds=-1))
        discounted = await place(conn, goods, buyer.id, [5], payment_channel="WECHAT", payment_discount=50)
        cancelled = await place(conn, goods, buyer.id, [1])
        await conn.execute("UPDATE payment_orders SET status = 'CANCELLED' WHERE id = $1", cancelled)
    before = await db.fetchval("SELECT count(*) FROM payments")

    assert _codes(await _create(api, buyer.token, open_po, "CREDIT")) == ["INSTALLMENT_PERIODS_REQUIRED"]
    assert _codes(await _create(api, buyer.token, expired)) == ["PAYMENT_ORDER_EXPIRED"]
    assert _codes(await _create(api, buyer.token, cancelled)) == ["PAYMENT_ORDER_NOT_PAYABLE"]
    mismatch = await _create(api, buyer.token, discounted, "ALIPAY")
    assert _codes(mismatch) == ["CHANNEL_MISMATCH"] and mismatch["userErrors"][0]["field"] == ["input", "channel"]
    wrong_type = await api.ok(CREATE, {"i": {"paymentOrderId": gid("Order", open_po), "channel": "WECHAT"}},
                              token=buyer.token)
    assert _codes(wrong_type["createPayment"]) == ["INVALID_ID"]
    assert await db.fetchval("SELECT count(*) FROM payments") == before
    ok = await _create(api, buyer.token, discounted, "WECHAT")
    assert ok["userErrors"] == [] and ok["payment"]["amount"] == 450


async def test_a_buyer_cannot_pay_or_read_another_buyers_payment_order(api, db, settings, tokens):
    goods = await make_goods(db)
    owner, other = await new_buyer(db, settings), await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, owner.id, [1])
    refused = await _create(api, other.token, po)
    assert _codes(refused) == ["NOT_FOUND"] and refused["payment"] is None
    assert await db.fetchval("SELECT count(*) FROM payments WHERE payment_order_id = $1", po) == 0

    payment_id = (await _create(api, owner.token, po))["payment"]["id"]
    for token in (other.token, tokens["acme"]):
        body = await api(PAYMENT, {"id": payment_id}, token=token)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await api.ok(PAYMENT, {"id": payment_id}, token=tokens["admin"]))["payment"]["id"] == payment_id
    anonymous = await api(CREATE, {"i": {"paymentOrderId": gid("PaymentOrder", po), "channel": "WECHAT"}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    staff = await api(CREATE, {"i": {"paymentOrderId": gid("PaymentOrder", po), "channel": "WECHAT"}},
                      token=tokens["acme"])
    assert staff["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_sandbox_asks_for_the_authentication_risk_decided(api, http, db, settings):
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [5000])               # ¥5,000: an SMS code
    out = await _create(api, buyer.token, po)
    assert out["payment"]["authLevel"] == "SMS"
    pay_url = out["instructions"]["payUrl"]
    assert 'name="sms_code"' in (await http.get(pay_url)).text
    for code in (None, "000000"):
        refused = await http.post(pay_url, data={} if code is None else {"sms_code": code})
        assert refused.status_code == 401 and refused.json()["auth_level"] == "SMS"
    assert (await http.post(pay_url, data={"sms_code": "123456"})).status_code == 200
