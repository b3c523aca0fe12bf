"""The sandbox's control calls need its own secret, and its callbacks go only to the app's own
webhook, whatever URL a request names (issue 8 §1.3)."""

import json

from app.signing import signed_headers
from tests.jobs import wait_for
from tests.payments.helpers import add_payment, make_goods, new_buyer, place, run_jobs, sandbox_batch, wait_batch


async def _unpaid(db, settings) -> tuple[int, int]:
    goods = await make_goods(db, merchants=1)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [1])
        return po, await add_payment(conn, po)


async def test_an_unsigned_or_forged_batch_pays_nothing(http, db, settings):
    po, payment = await _unpaid(db, settings)
    body = {"payments": [{"reference": str(payment), "amount": 100}]}
    assert (await http.post("/sandbox/v1/batches", json=body)).status_code == 401
    forged = await sandbox_batch(http, "not-the-sandbox-secret", body)
    assert forged.status_code == 401
    assert await db.fetchval("SELECT count(*) FROM payment_notifications WHERE body->>'reference' = $1",
                             str(payment)) == 0
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PENDING_PAYMENT"


async def test_callbacks_go_to_the_apps_webhook_never_to_a_url_from_the_request(http, db, settings):
    po, payment = await _unpaid(db, settings)
    elsewhere = "http://127.0.0.1:9/steal-a-signature"
    batch = (await sandbox_batch(http, settings.sandbox_provider_secret, {
        "notify_url": elsewhere, "payments": [{"reference": str(payment), "amount": 100}]})).json()
    assert (await wait_batch(http, batch["batch_id"]))["acknowledged"] == 1
    raw = json.dumps({"reference": "1", "amount": 100, "notify_url": elsewhere}).encode()
    txn = (await http.post("/sandbox/v1/transactions", content=raw,
                           headers=signed_headers(settings.sandbox_provider_secret, raw))).json()
    paid = (await http.post(f"/sandbox/pay/{txn['txn_id']}")).json()
    assert (await wait_batch(http, paid["batch_id"]))["acknowledged"] == 1
    assert await db.fetchval("SELECT count(*) FROM payment_notifications WHERE provider_txn_id = $1",
                             txn["txn_id"]) == 1
    await run_jobs(settings, db)
    await wait_for(lambda: db.fetchval("SELECT status = 'PAID' FROM payment_orders WHERE id = $1", po), "payment")
