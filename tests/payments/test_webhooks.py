"""The callback endpoint and the applying job against hand-signed notifications: a forged
signature or a stale timestamp is refused with no write, a duplicate is acknowledged without a
second row, an unknown transaction and a wrong amount are flagged with nothing applied."""

import time

from app.signing import signed_headers
from tests.jobs import clear_job_queue
from tests.payments.helpers import (
    add_payment,
    make_goods,
    new_buyer,
    payment_notification,
    place,
    post_signed,
    run_jobs,
)
from workers.payments import sweep_payment_notifications


async def _notifications(db) -> int:
    return await db.fetchval("SELECT count(*) FROM payment_notifications")


async def _unpaid(db, settings, quantities=(2, 1)):
    goods = await make_goods(db)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, list(quantities))
        payment = await add_payment(conn, po)
    return po, payment


async def test_forged_signature_is_refused_without_a_write(http, db, settings):
    po, payment = await _unpaid(db, settings)
    before = await _notifications(db)
    body = payment_notification(payment, 300)
    forged = await post_signed(http, "not-the-provider-secret", body)
    assert forged.status_code == 401
    raw = b'{"type": "PAYMENT"}'
    tampered = await http.post("/webhooks/payments/sandbox", content=raw.replace(b"}", b', "x": 1}'),
                               headers=signed_headers(settings.sandbox_provider_secret, raw))
    assert tampered.status_code == 401
    unsigned = await http.post("/webhooks/payments/sandbox", json=body)
    assert unsigned.status_code == 401
    assert await _notifications(db) == before
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PENDING_PAYMENT"


async def test_stale_or_future_timestamp_is_refused(http, db, settings):
    _, payment = await _unpaid(db, settings)
    before = await _notifications(db)
    tolerance = settings.callback_tolerance_seconds
    for skew in (-tolerance - 60, tolerance + 60):
        response = await post_signed(http, settings.sandbox_provider_secret, payment_notification(payment, 300),
                                     timestamp=int(time.time()) + skew)
        assert response.status_code == 401
    assert await _notifications(db) == before


async def test_unknown_provider_and_malformed_bodies(http, db, settings):
    before = await _notifications(db)
    assert (await post_signed(http, settings.sandbox_provider_secret, {"type": "PAYMENT", "txn_id": "x"},
                              provider="acme-pay")).status_code == 404
    for body in ({"type": "CHARGEBACK", "txn_id": "x"}, {"type": "PAYMENT"}, {"type": "PAYMENT", "txn_id": 7}):
        assert (await post_signed(http, settings.sandbox_provider_secret, body)).status_code == 400
    assert await _notifications(db) == before


async def test_duplicates_are_acknowledged_and_stored_once_then_applied_once(http, db, settings):
    po, payment = await _unpaid(db, settings)
    body = payment_notification(payment, 300)
    answers = [await post_signed(http, settings.sandbox_provider_secret, body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json().get("duplicate", False) for a in answers] == [False, True, True]
    assert await db.fetchval("SELECT count(*) FROM payment_notifications WHERE provider_txn_id = $1",
                             body["txn_id"]) == 1
    assert await run_jobs(settings, db) == 1
    row = await db.fetchrow("SELECT status, outcome FROM payment_notifications WHERE provider_txn_id = $1",
                            body["txn_id"])
    assert (row["status"], row["outcome"]) == ("APPLIED", "PAID")
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PAID"
    assert await db.fetchval("SELECT paid_by_payment_id FROM payment_orders WHERE id = $1", po) == payment
    orders = await db.fetch("SELECT id, status, payment_status FROM orders WHERE payment_order_id = $1", po)
    assert {(o["status"], o["payment_status"]) for o in orders} == {("PAID", "PAID")}
    ids = [o["id"] for o in orders]
    assert await db.fetchval("SELECT count(*) FROM shipments WHERE order_id = ANY($1) AND status = 'PENDING'",
                             ids) == 2
    assert await db.fetchval("SELECT count(*) FROM order_status_history WHERE order_id = ANY($1) AND to_status = 'PAID'",
                             ids) == 2
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'ORDER_PAID'"
                             " AND (payload->>'order_id')::bigint = ANY($1)", ids) == 2
    # stock stays reserved until shipment
    assert await db.fetchval("SELECT count(*) FROM stock_reservations r JOIN order_lines l ON l.id = r.order_line_id"
                             " WHERE l.order_id = ANY($1) AND r.status = 'RESERVED'", ids) == 2


async def test_unknown_transaction_is_flagged_and_changes_nothing(http, db, settings):
    before = await db.fetchval("SELECT count(*) FROM payments WHERE status = 'SUCCEEDED'")
    body = payment_notification(987_654_321, 300)
    assert (await post_signed(http, settings.sandbox_provider_secret, body)).status_code == 200
    assert await run_jobs(settings, db) == 1
    row = await db.fetchrow("SELECT status, outcome FROM payment_notifications WHERE provider_txn_id = $1",
                            body["txn_id"])
    assert row["status"] == "FLAGGED" and row["outcome"].startswith("UNKNOWN_PAYMENT")
    assert await db.fetchval("SELECT count(*) FROM payments WHERE status = 'SUCCEEDED'") == before
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'PAYMENT_NOTIFICATION_FLAGGED'"
                             " AND payload->>'provider_txn_id' = $1", body["txn_id"]) == 1


async def test_wrong_amount_is_flagged_and_not_applied(http, db, settings):
    po, payment = await _unpaid(db, settings)
    for amount in (299, 301, "300", 300.5):
        body = payment_notification(payment, amount)
        assert (await post_signed(http, settings.sandbox_provider_secret, body)).status_code == 200
    assert await run_jobs(settings, db) == 4
    rows = await db.fetch("SELECT status, outcome FROM payment_notifications"
                          " WHERE body->>'reference' = $1", str(payment))
    assert {r["status"] for r in rows} == {"FLAGGED"}
    assert all(r["outcome"].startswith("AMOUNT_MISMATCH") for r in rows)
    assert await db.fetchval("SELECT status FROM payments WHERE id = $1", payment) == "CREATED"
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PENDING_PAYMENT"
    assert await db.fetchval("SELECT count(*) FROM orders WHERE payment_order_id = $1 AND status = 'PENDING_PAYMENT'",
                             po) == 2


async def test_the_sweeper_applies_a_notification_whose_job_was_lost(http, db, settings, redis):
    po, payment = await _unpaid(db, settings)
    body = payment_notification(payment, 300)
    assert (await post_signed(http, settings.sandbox_provider_secret, body)).status_code == 200
    await clear_job_queue(redis)                               # the enqueue is lost
    ctx = {"db": db, "settings": settings, "redis": redis}
    assert await sweep_payment_notifications(ctx) == 0         # too fresh: its job may still be on the way
    await db.fetchval("UPDATE payment_notifications SET received_at = received_at - interval '1 minute'"
                      " WHERE provider_txn_id = $1", body["txn_id"])
    assert await sweep_payment_notifications(ctx) == 1
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PAID"
    assert await sweep_payment_notifications(ctx) == 0


async def test_operators_review_flagged_notifications(http, db, settings, api, tokens):
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [1])
        payment = await add_payment(conn, po)
    body = payment_notification(payment, amount=1)              # the payment is 100
    assert (await post_signed(http, settings.sandbox_provider_secret, body)).status_code == 200
    await run_jobs(settings, db)
    query = """{ paymentNotifications(status: "FLAGGED", first: 50) { edges { node { status outcome providerTxnId } } } }"""
    flagged = (await api.ok(query, token=tokens["admin"]))["paymentNotifications"]["edges"]
    assert any(e["node"]["providerTxnId"] == body["txn_id"] and e["node"]["outcome"].startswith("AMOUNT_MISMATCH")
               for e in flagged)
    refused = await api(query, token=tokens["buyer"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
