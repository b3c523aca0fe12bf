"""A purchase end to end over real HTTP, websockets and the sandbox provider: a new buyer
registers, fills the cart, previews, places the order, pays in the sandbox; the provider's signed
callback is stored, a real worker applies it, and the merchant console sees the paid order live;
then the merchant ships and the buyer confirms receipt."""

from app.ids import decode_id
from tests.auth.helpers import register_input
from tests.cart.helpers import staff_token
from tests.checkout.helpers import CART_PREVIEW, SHENZHEN_NANSHAN, gid, make_market
from tests.conftest import unique_phone
from tests.e2e.conftest import Subscriber
from tests.jobs import clear_job_queue, wait_for
from tests.orders.helpers import ADDRESS, ORDER, RECEIVE, SHIP, key
from tests.payments.helpers import run_jobs

REGISTER = """mutation($i: RegisterBuyerInput!) { registerBuyer(input: $i) { accessToken userErrors { code } } }"""
ADD = """mutation($i: AddCartLineInput!) { addCartLine(input: $i) { userErrors { code } } }"""
PLACE = """mutation($i: PlaceOrderInput!) { placeOrder(input: $i) {
  paymentOrder { id payable orders { id merchantId status } } userErrors { code field } } }"""
PAY = """mutation($i: CreatePaymentInput!) { createPayment(input: $i) {
  payment { id amount status authLevel } instructions { provider payUrl } userErrors { code } } }"""
ORDER_EVENTS = "subscription { merchantOrderEvents { type orderId status payable payload } }"


async def test_register_to_receipt(server, http, db, settings, redis):
    market = await make_market(db)
    merchant = await staff_token(db, settings, market.a)
    await clear_job_queue(redis)
    async with Subscriber.open(server, merchant, ORDER_EVENTS, "merchantOrderEvents", "order") as console:
        await console.ready(redis, market.a)

        registered = (await http.ok(REGISTER, {"i": await register_input(http, unique_phone(), "secret-pass-1")}))
        buyer = registered["registerBuyer"]["accessToken"]
        for sku, quantity in ((market.sku["a1"], 1), (market.sku["a2"], 2)):
            added = await http.ok(ADD, {"i": {"skuId": gid("Sku", sku), "quantity": quantity}}, token=buyer)
            assert added["addCartLine"]["userErrors"] == []
        preview = (await http.ok(CART_PREVIEW, {"c": None, "p": "WECHAT", "r": SHENZHEN_NANSHAN},
                                 token=buyer))["cart"]["preview"]
        assert preview["goodsTotal"] == 20000 + 2 * 15000

        placed = (await http.ok(PLACE, {"i": {"idempotencyKey": key(), "fromCart": True, "address": ADDRESS,
                                              "paymentChannel": "WECHAT", "expectedPayable": preview["payable"]}},
                                token=buyer))["placeOrder"]
        assert placed["userErrors"] == []
        payment_order = placed["paymentOrder"]
        [order] = payment_order["orders"]
        assert payment_order["payable"] == preview["payable"] and order["status"] == "PENDING_PAYMENT"
        await console.event(lambda e: e["orderId"] == order["id"] and e["type"] == "ORDER_CREATED")

        opened = (await http.ok(PAY, {"i": {"paymentOrderId": payment_order["id"], "channel": "WECHAT"}},
                                token=buyer))["createPayment"]
        assert opened["userErrors"] == [] and opened["payment"]["amount"] == preview["payable"]
        pay_url = opened["instructions"]["payUrl"]
        assert opened["payment"]["authLevel"] == "PASSWORD"          # ¥500 and more: the payment password
        refused = await http.http.post(pay_url)
        assert refused.status_code == 401 and refused.json()["auth_level"] == "PASSWORD"
        paid = await http.http.post(pay_url, params={"duplicates": 2}, data={"password": "123456"})
        assert paid.status_code == 200, paid.text
        await wait_for(lambda: db.fetchval("SELECT count(*) FROM payment_notifications WHERE body->>'reference' = $1",
                                           str(_pk("Payment", opened["payment"]["id"]))), "the callback stored once")

        await run_jobs(settings, db)
        event = await console.event(lambda e: e["orderId"] == order["id"] and e["type"] == "ORDER_PAID")
        assert (event["status"], event["payable"]) == ("PAID", preview["payable"])

        shipped = (await http.ok(SHIP, {"id": order["id"]}, token=merchant))["shipOrder"]
        assert shipped["userErrors"] == [] and shipped["order"]["status"] == "SHIPPED"
        received = (await http.ok(RECEIVE, {"id": order["id"]}, token=buyer))["confirmReceipt"]["order"]
        assert received["status"] == "RECEIVED"
        detail = (await http.ok(ORDER, {"id": order["id"]}, token=buyer))["order"]
        assert [h["toStatus"] for h in detail["history"]] == ["PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED"]
        assert [(p["status"], p["amount"]) for p in detail["payments"]] == [("SUCCEEDED", preview["payable"])]
        console_view = (await http.ok(ORDER, {"id": order["id"]}, token=merchant))["order"]
        assert console_view["status"] == "RECEIVED" and console_view["payments"] == []   # the checkout's money is the buyer's
        assert await db.fetchval("SELECT count(*) FROM payment_notifications WHERE body->>'reference' = $1",
                                 str(_pk("Payment", opened["payment"]["id"]))) == 1


def _pk(type_name: str, global_id: str) -> int:
    return decode_id(type_name, global_id)
