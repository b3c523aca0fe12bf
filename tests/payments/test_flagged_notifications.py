"""Flagged notifications (issue 8 §2.3): a correctly signed callback with a wrong amount is
flagged without swallowing the genuine callback for the same provider transaction, and admins
resolve each flagged notification once — APPLY (only when safe), REFUND (through the refund
primitive) or DISMISS — with the review on record."""

import uuid

from tests.jobs import clear_job_queue
from tests.payments.helpers import (
    add_payment,
    gid,
    make_goods,
    new_buyer,
    payment_notification,
    place,
    post_signed,
    run_jobs,
)

RESOLVE = """mutation($i: ResolvePaymentNotificationInput!) { resolvePaymentNotification(input: $i) {
  notification { id status outcome } refund { amount reason status } userErrors { field code message } } }"""


async def _unpaid(db, settings) -> tuple[int, int]:
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [1])          # payable 100
        return po, await add_payment(conn, po)


async def _flagged(http, db, settings, body: dict) -> int:
    assert (await post_signed(http, settings.sandbox_provider_secret, body)).status_code == 200
    await run_jobs(settings, db)
    row = await db.fetchrow("SELECT id, status FROM payment_notifications WHERE provider_txn_id = $1"
                            " AND body->>'amount' = $2", body["txn_id"], str(body["amount"]))
    assert row["status"] == "FLAGGED"
    return row["id"]


async def _resolve(api, token, notification_id: int, action: str, note: str = "checked with the provider") -> dict:
    return (await api.ok(RESOLVE, {"i": {"id": gid("PaymentNotification", notification_id), "action": action,
                                         "note": note}}, token=token))["resolvePaymentNotification"]


async def test_a_flagged_wrong_amount_does_not_swallow_the_genuine_callback(http, db, settings):
    po, payment = await _unpaid(db, settings)
    txn = f"test_{uuid.uuid4().hex}"
    await _flagged(http, db, settings, payment_notification(payment, 1, txn_id=txn))
    genuine = await post_signed(http, settings.sandbox_provider_secret, payment_notification(payment, 100, txn_id=txn))
    assert genuine.status_code == 200 and not genuine.json().get("duplicate")
    await run_jobs(settings, db)
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PAID"
    statuses = await db.fetch("SELECT status FROM payment_notifications WHERE provider_txn_id = $1 ORDER BY id", txn)
    assert [r["status"] for r in statuses] == ["FLAGGED", "APPLIED"]
    again = await post_signed(http, settings.sandbox_provider_secret, payment_notification(payment, 100, txn_id=txn))
    assert again.json().get("duplicate") is True


async def test_dismiss_is_audited_and_happens_once(http, db, settings, api, tokens):
    _, payment = await _unpaid(db, settings)
    flagged = await _flagged(http, db, settings, payment_notification(payment, 1))
    denied = await api(RESOLVE, {"i": {"id": gid("PaymentNotification", flagged), "action": "DISMISS", "note": "x"}},
                       token=tokens["buyer"])
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    blank = await _resolve(api, tokens["admin"], flagged, "DISMISS", note="  ")
    assert [e["code"] for e in blank["userErrors"]] == ["NOTE_REQUIRED"]

    out = await _resolve(api, tokens["admin"], flagged, "DISMISS", note="corrupt callback, provider confirmed")
    assert out["userErrors"] == [] and out["notification"]["status"] == "DISMISSED"
    review = await db.fetchrow("SELECT * FROM payment_notification_reviews WHERE notification_id = $1", flagged)
    assert (review["action"], review["note"], review["refund_id"]) == (
        "DISMISS", "corrupt callback, provider confirmed", None)
    assert review["reviewer"].startswith("staff:") and review["outcome"].startswith("DISMISSED")
    twice = await _resolve(api, tokens["admin"], flagged, "DISMISS")
    assert [e["code"] for e in twice["userErrors"]] == ["INVALID_TRANSITION"]


async def test_apply_only_when_the_amount_is_the_payment_orders(http, db, settings, api, tokens):
    po, payment = await _unpaid(db, settings)
    wrong = await _flagged(http, db, settings, payment_notification(payment, 1))
    refused = await _resolve(api, tokens["admin"], wrong, "APPLY")
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_APPLICABLE"]
    assert await db.fetchval("SELECT status FROM payment_notifications WHERE id = $1", wrong) == "FLAGGED"
    assert await db.fetchval("SELECT count(*) FROM payment_notification_reviews WHERE notification_id = $1",
                             wrong) == 0

    # a payment opened for another amount (the payment order was repriced meanwhile) is flagged;
    # the money the provider took is exactly the payable, so it may pay the payment order
    async with db.transaction() as conn:
        await conn.execute("UPDATE payments SET amount = 90 WHERE id = $1", payment)
    right = await _flagged(http, db, settings, payment_notification(payment, 100))
    applied = await _resolve(api, tokens["admin"], right, "APPLY")
    assert applied["userErrors"] == [] and applied["notification"]["status"] == "APPLIED"
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PAID"
    history = await db.fetchrow("SELECT h.actor FROM order_status_history h JOIN orders o ON o.id = h.order_id"
                                " WHERE o.payment_order_id = $1 AND h.to_status = 'PAID'", po)
    assert history["actor"].startswith("staff:")


async def test_refund_sends_the_flagged_money_back(http, db, settings, api, tokens, redis):
    po, payment = await _unpaid(db, settings)
    txn = f"test_{uuid.uuid4().hex}"
    flagged = await _flagged(http, db, settings, payment_notification(payment, 250, txn_id=txn))
    out = await _resolve(api, tokens["admin"], flagged, "REFUND")
    assert [k async for k in redis.scan_iter("arq:job:refund:*")]        # its job was enqueued
    await clear_job_queue(redis)          # the sandbox never saw this test transaction: it would retry
    assert out["userErrors"] == [] and out["notification"]["status"] == "REFUNDED"
    assert (out["refund"]["amount"], out["refund"]["reason"], out["refund"]["status"]) == (250, "FLAGGED_PAYMENT",
                                                                                          "PENDING")
    received = await db.fetchrow("SELECT * FROM payments WHERE provider_txn_id = $1", txn)
    assert (received["status"], received["amount"], received["refunded_amount"]) == ("SUCCEEDED", 250, 250)
    review = await db.fetchrow("SELECT action, refund_id FROM payment_notification_reviews WHERE notification_id = $1",
                               flagged)
    assert review["action"] == "REFUND" and review["refund_id"] is not None
    # the buyer's order is untouched; the genuine payment can still pay it
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PENDING_PAYMENT"
