"""Scenario 3 end to end (DOMAIN §0): a buyer places and pays a phone top-up in the payment
sandbox; the paid order's event starts the purchase from the REALTIME_API sandbox supplier over
real HTTP; success delivers it (RECEIVED, then COMPLETED), a refused recharge refunds it in full
through the payment sandbox and closes it. Neither accepts an after-sale."""

from app.ids import decode_id
from app.jobs import job_queue
from tests.payments.helpers import new_buyer
from tests.topup.helpers import PRICE, make_shop, order_view, place_and_pay, recharges, run_until, status_is
from workers import topup as topup_jobs

CANCEL_PAID = """mutation($id: ID!) { cancelPaidOrder(input: {orderId: $id}) { userErrors { code field } } }"""


async def _purchase(db, order_id: str):
    return await db.fetchrow("SELECT * FROM topup_purchases WHERE order_id = $1", decode_id("Order", order_id))


async def _stock(db, shop, sku: str) -> tuple[int, int]:
    row = await db.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku_id = $1", shop.sku[sku])
    return row["on_hand"], row["reserved"]


async def test_paid_top_up_is_recharged_then_completed(server, http, api, db, settings, redis):
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    order_id = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13912345678", quantity=2)
    assert await _stock(db, shop, "phone") == (1000, 2)

    done = await run_until(settings, db, redis, status_is(api, buyer.token, order_id, "COMPLETED"), "completion")
    assert [(h["fromStatus"], h["toStatus"], h["reason"]) for h in done["history"]] == [
        (None, "PENDING_PAYMENT", None), ("PENDING_PAYMENT", "PAID", None), ("PAID", "RECEIVED", "TOPPED_UP"),
        ("RECEIVED", "COMPLETED", "TOPPED_UP")]
    assert (done["logisticsStatus"], done["paymentStatus"], done["afterSaleStatus"], done["buyerStatus"]) == (
        "SIGNED", "PAID", "NONE", "DONE")
    assert await _stock(db, shop, "phone") == (998, 0)          # the reservation became a deduction
    purchase = await _purchase(db, order_id)
    assert (purchase["status"], purchase["attempts"], purchase["supplier_id"]) == ("SUCCEEDED", 1, shop.supplier)
    assert purchase["supplier_ref"].startswith("sbt_")
    assert await recharges(http, settings, shop.code, purchase["id"]) == 1
    pk = decode_id("Order", order_id)
    notice = await db.fetchrow("SELECT channel, payload FROM buyer_notifications WHERE order_id = $1"
                               " AND template = 'ORDER_DELIVERED'", pk)
    assert notice["channel"] == "SMS" and notice["payload"]["extra"] == {"recharge_account": "13912345678"}
    event = await db.fetchrow("SELECT merchant_id, payload FROM outbox WHERE topic = 'fulfilment'"
                              " AND event_type = 'TOPUP_SUCCEEDED' AND (payload->>'order_id')::bigint = $1", pk)
    assert event["merchant_id"] == shop.merchant and event["payload"]["purchase_id"] == purchase["id"]
    refused = (await api.ok(CANCEL_PAID, {"id": order_id}, token=buyer.token))["cancelPaidOrder"]
    assert refused["userErrors"] == [{"code": "VIRTUAL_NO_AFTERSALE", "field": ["input", "orderId"]}]


async def test_refused_recharge_is_refunded_and_closed(server, http, api, db, settings, redis):
    shop = await make_shop(db, settings)
    buyer = await new_buyer(db, settings)
    order_id = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13900000000")   # ends 0000: refused

    closed = await run_until(settings, db, redis, status_is(api, buyer.token, order_id, "CLOSED"), "the refund")
    assert [(h["fromStatus"], h["toStatus"], h["reason"]) for h in closed["history"]] == [
        (None, "PENDING_PAYMENT", None), ("PENDING_PAYMENT", "PAID", None), ("PAID", "PAID", "REFUND_REQUESTED"),
        ("PAID", "CLOSED", "TOPUP_FAILED")]
    assert (closed["paymentStatus"], closed["afterSaleStatus"], closed["refundedAmount"], closed["cancelReason"],
            closed["buyerStatus"]) == ("REFUNDED", "DONE", PRICE, "TOPUP_FAILED", "CLOSED")
    assert closed["refunds"] == [{"amount": PRICE, "status": "SUCCEEDED", "reason": "TOPUP_FAILED"}]
    assert await _stock(db, shop, "phone") == (1000, 0)          # the reservation was released
    purchase = await _purchase(db, order_id)
    assert purchase["status"] == "FAILED" and purchase["last_error"].startswith("SUPPLIER_REFUSED")
    assert await recharges(http, settings, shop.code, purchase["id"]) == 0
    pk = decode_id("Order", order_id)
    assert await db.fetchval("SELECT idempotency_key FROM refunds WHERE order_id = $1", pk) == f"topup:{pk}"
    assert await db.fetchval("SELECT count(*) FROM buyer_notifications WHERE order_id = $1"
                             " AND template = 'TOPUP_FAILED'", pk) == 1
    event = await db.fetchrow("SELECT merchant_id, payload FROM outbox WHERE topic = 'fulfilment'"
                              " AND event_type = 'TOPUP_FAILED' AND (payload->>'order_id')::bigint = $1", pk)
    assert event["merchant_id"] == shop.merchant and event["payload"]["reason"] == "SUPPLIER_REFUSED"


async def test_the_after_sale_status_shows_the_refund_under_way(server, http, api, db, settings, redis):
    """Between the failed recharge and the refund's confirmation the order is still PAID, its
    after-sale IN_PROGRESS (the buyer's 售后中 tab)."""
    shop = await make_shop(db, settings, contract=False)        # no supplier covers it: fails before any HTTP
    buyer = await new_buyer(db, settings)
    order_id = await place_and_pay(api, http, buyer.token, shop.sku["phone"], "13912345678")

    await run_until(settings, db, redis, lambda: _paid(api, buyer.token, order_id), "the payment", reactions=False)
    ctx = {"db": db, "settings": settings, "http": http, "redis": job_queue(redis)}
    assert await topup_jobs.buy_topup(ctx, decode_id("Order", order_id)) == "FAILED"
    assert await db.fetchval("SELECT status FROM refunds WHERE order_id = $1", decode_id("Order", order_id)) == "PENDING"
    view = await order_view(api, buyer.token, order_id)
    assert (view["status"], view["afterSaleStatus"], view["buyerStatus"]) == ("PAID", "IN_PROGRESS", "AFTER_SALE")
    assert (await _purchase(db, order_id))["last_error"] == "NO_SUPPLIER"
    await run_until(settings, db, redis, status_is(api, buyer.token, order_id, "CLOSED"), "the refund")


async def _paid(api, token, order_id) -> bool:
    return (await order_view(api, token, order_id))["status"] == "PAID"


async def test_demo_top_ups_have_a_supplier(db):
    """Every demo virtual SKU recharges a phone and is covered by the demo REALTIME_API supplier."""
    from app.demo import TOPUP_SUPPLIER
    rows = await db.fetch(
        "SELECT s.code, s.recharge_account_kind, su.kind, su.endpoint_url FROM skus s"
        " JOIN products p ON p.id = s.product_id AND p.fulfillment_type = 'VIRTUAL' AND p.merchant_id = 1"
        " LEFT JOIN supplier_skus ss ON ss.sku_id = s.id LEFT JOIN suppliers su ON su.id = ss.supplier_id"
        "   AND su.name = $1", TOPUP_SUPPLIER)
    assert rows and all(r["recharge_account_kind"] == "PHONE" for r in rows)
    assert {(r["kind"], r["endpoint_url"]) for r in rows} == {("REALTIME_API", "sandbox://topup/hub")}
