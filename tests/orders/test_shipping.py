"""After payment: the merchant ships (reservations become deductions), the buyer hears about it
(notification outbox, sent once), the buyer or the auto-confirm job confirms receipt; another
merchant can neither see nor ship the order."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.ids import decode_id
from app.orders import service
from app.payments.gateway import http_client
from tests.auth.helpers import sandbox_sms
from tests.cart.helpers import new_buyer, staff_token
from tests.checkout.helpers import gid, lines_input, make_market
from tests.orders.helpers import MERCHANT_ORDERS, MY_ORDERS, ORDER, PLACE, RECEIVE, SHIP, place_input
from workers.orders import send_buyer_notifications


@pytest.fixture(scope="module")
async def market(db):
    return await make_market(db)


async def paid_order(gql, db, buyer, market, sku="a2", quantity=2) -> dict:
    payload = (await gql.ok(PLACE, {"i": place_input(lines_input((market.sku[sku], quantity)))}, buyer))["placeOrder"]
    order = payload["paymentOrder"]["orders"][0]
    async with db.transaction() as conn:
        assert await service.mark_paid(conn, decode_id("PaymentOrder", order["paymentOrderId"]), datetime.now(UTC),
                                       "provider:test")
    return order


async def stock(db, sku) -> tuple[int, int]:
    row = await db.fetchrow("SELECT sum(on_hand) AS on_hand, sum(reserved) AS reserved FROM stock WHERE sku_id = $1",
                            sku)
    return row["on_hand"], row["reserved"]


async def test_ship_then_confirm_receipt(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    merchant = await staff_token(db, settings, market.a)
    on_hand, held = await stock(db, market.sku["a2"])
    order = await paid_order(gql, db, buyer, market)
    paid = (await gql.ok(ORDER, {"id": order["id"]}, buyer))["order"]
    assert (paid["status"], paid["buyerStatus"], paid["paymentStatus"]) == ("PAID", "TO_SHIP", "PAID")
    assert await db.fetchval("SELECT status FROM shipments WHERE order_id = $1",
                             decode_id("Order", order["id"])) == "PENDING"
    assert await stock(db, market.sku["a2"]) == (on_hand, held + 2)

    early = (await gql.ok(RECEIVE, {"id": order["id"]}, buyer))["confirmReceipt"]
    assert [e["code"] for e in early["userErrors"]] == ["INVALID_TRANSITION"]
    shipped = (await gql.ok(SHIP, {"id": order["id"]}, merchant))["shipOrder"]
    assert shipped["userErrors"] == []
    o = shipped["order"]
    assert (o["status"], o["buyerStatus"], o["logisticsStatus"], o["carrier"], o["trackingNumber"]) == \
        ("SHIPPED", "TO_RECEIVE", "SHIPPED", "SF", "SF1234567")
    assert await stock(db, market.sku["a2"]) == (on_hand - 2, held)
    twice = (await gql.ok(SHIP, {"id": order["id"]}, merchant))["shipOrder"]
    assert [e["code"] for e in twice["userErrors"]] == ["INVALID_TRANSITION"]
    assert await stock(db, market.sku["a2"]) == (on_hand - 2, held)

    notices = await db.fetch("SELECT channel, template, status FROM buyer_notifications WHERE order_id = $1 ORDER BY id",
                             decode_id("Order", order["id"]))
    assert [(n["channel"], n["template"], n["status"]) for n in notices] == [
        ("PUSH", "ORDER_PAID", "PENDING"), ("SMS", "ORDER_SHIPPED", "PENDING")]
    async with http_client() as http:
        ctx = {"db": db, "settings": settings, "http": http}
        assert sum(await asyncio.gather(send_buyer_notifications(ctx), send_buyer_notifications(ctx))) >= 2
        assert await db.fetchval("SELECT count(*) FROM buyer_notifications WHERE order_id = $1 AND status = 'SENT'",
                                 decode_id("Order", order["id"])) == 2
        assert await send_buyer_notifications(ctx) == 0
    phone = await db.fetchval("SELECT phone FROM buyers b JOIN orders o ON o.buyer_id = b.id WHERE o.id = $1",
                              decode_id("Order", order["id"]))
    sms = await sandbox_sms(gql.http, phone)                  # the SMS went through the SMS gateway
    assert [m["template"] for m in sms] == ["ORDER_SHIPPED"] and "已发货" in sms[0]["text"]

    received = (await gql.ok(RECEIVE, {"id": order["id"]}, buyer))["confirmReceipt"]["order"]
    assert (received["status"], received["buyerStatus"], received["logisticsStatus"]) == \
        ("RECEIVED", "TO_REVIEW", "SIGNED")
    assert [h["toStatus"] for h in received["history"]] == ["PENDING_PAYMENT", "PAID", "SHIPPED", "RECEIVED"]
    counts = (await gql.ok(MY_ORDERS, {"tab": "TO_REVIEW"}, buyer))["myOrderCounts"]
    assert counts["toReview"] == 1 and counts["toShip"] == 0


async def test_another_merchant_cannot_see_or_ship(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    order = await paid_order(gql, db, buyer, market)
    other = await staff_token(db, settings, market.b)
    refused = (await gql.ok(SHIP, {"id": order["id"]}, other))["shipOrder"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]
    listed = await gql.ok(MERCHANT_ORDERS, {"s": None}, other)
    assert all(e["node"]["merchantId"] == gid("Merchant", market.b) for e in listed["merchantOrders"]["edges"])
    assert order["id"] not in {e["node"]["id"] for e in listed["merchantOrders"]["edges"]}
    mine = await gql.ok(MERCHANT_ORDERS, {"s": "PAID"}, await staff_token(db, settings, market.a))
    assert order["id"] in {e["node"]["id"] for e in mine["merchantOrders"]["edges"]}
    _, stranger = await new_buyer(db, settings)
    body = await gql(RECEIVE, {"id": order["id"]}, stranger)
    assert body["data"]["confirmReceipt"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_auto_confirm_after_the_window(gql, db, settings, market):
    _, buyer = await new_buyer(db, settings)
    order = await paid_order(gql, db, buyer, market, quantity=1)
    await gql.ok(SHIP, {"id": order["id"]}, await staff_token(db, settings, market.a))
    pk = decode_id("Order", order["id"])
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        assert await service.confirm_due_receipts(conn, now, now - timedelta(days=10)) == 0
    await db.fetchval("UPDATE orders SET shipped_at = now() - interval '11 days' WHERE id = $1 RETURNING 1", pk)
    async with db.transaction() as conn:
        assert await service.confirm_due_receipts(conn, now, now - timedelta(days=10)) == 1
    async with db.transaction() as conn:
        assert await service.confirm_due_receipts(conn, now, now - timedelta(days=10)) == 0
    received = (await gql.ok(ORDER, {"id": order["id"]}, buyer))["order"]
    assert received["status"] == "RECEIVED" and received["history"][-1]["actor"] == "system:auto-confirm"
