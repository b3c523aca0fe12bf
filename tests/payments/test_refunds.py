"""Refunds through the sandbox: a success for a payment order cancelled by timeout, or already
paid by another payment, is refunded automatically; refunds never exceed what was paid, even
requested concurrently; the buyer's REFUND_ONLY cancellation of a paid, unshipped order releases
its stock and closes it once the refund callback is applied."""

import asyncio
from datetime import timedelta

import pytest

from app.errors import DomainError
from app.payments.refunds import request_refund
from tests.payments.helpers import add_payment, gid, make_goods, new_buyer, place, run_jobs, sandbox_pay, settle_refunds
from workers.orders import cancel_overdue_payment_orders
from workers.payments import submit_pending_refunds

CANCEL_PAID = """mutation($i: CancelPaidOrderInput!) { cancelPaidOrder(input: $i) {
  refund { id paymentId orderId amount reason status } userErrors { field code message } } }"""


async def _paid(http, db, settings, buyer, quantities, virtual: bool = False) -> tuple[int, int]:
    goods = await make_goods(db)
    if virtual:
        async with db.transaction() as conn:
            await conn.execute("UPDATE products SET fulfillment_type = 'VIRTUAL' WHERE id = ANY($1::bigint[])",
                               [shop.product for shop in goods.shops])
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, quantities)
        payment = await add_payment(conn, po)
    await sandbox_pay(http, settings, [(payment, sum(quantities) * 100)])
    await run_jobs(settings, db)
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "PAID"
    return po, payment


async def test_success_after_the_timeout_cancelled_the_order_is_refunded(http, db, settings):
    goods = await make_goods(db)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [2, 3], expires_in=timedelta(seconds=-1))
        payment = await add_payment(conn, po)
    assert await cancel_overdue_payment_orders({"db": db}) >= 1
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "CANCELLED"

    await sandbox_pay(http, settings, [(payment, 500)])
    await run_jobs(settings, db)
    note = await db.fetchrow("SELECT status, outcome FROM payment_notifications WHERE body->>'reference' = $1",
                             str(payment))
    assert note["status"] == "REFUNDED_LATE" and note["outcome"].startswith("LATE_PAYMENT")
    refund = await db.fetchrow("SELECT * FROM refunds WHERE payment_id = $1", payment)
    assert (refund["amount"], refund["reason"], refund["order_id"]) == (500, "LATE_PAYMENT", None)
    await settle_refunds(settings, db, [refund["id"]])
    assert await db.fetchval("SELECT provider_refund_id FROM refunds WHERE id = $1", refund["id"])
    assert await db.fetchval("SELECT status FROM payments WHERE id = $1", payment) == "SUCCEEDED"
    assert await db.fetchval("SELECT status FROM payment_orders WHERE id = $1", po) == "CANCELLED"
    assert {r["status"] for r in await db.fetch("SELECT status FROM orders WHERE payment_order_id = $1", po)} == \
        {"CANCELLED"}


async def test_a_second_successful_payment_is_refunded(http, db, settings):
    goods = await make_goods(db)
    buyer = await new_buyer(db, settings)
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer.id, [1, 1])
        first, second = await add_payment(conn, po), await add_payment(conn, po, "ALIPAY")
    await sandbox_pay(http, settings, [(first, 200), (second, 200)])
    await run_jobs(settings, db)
    statuses = {r["reference"]: r["status"] for r in await db.fetch(
        "SELECT body->>'reference' AS reference, status FROM payment_notifications WHERE body->>'reference' = ANY($1)",
        [str(first), str(second)])}
    assert sorted(statuses.values()) == ["APPLIED", "REFUNDED_LATE"]
    winner = await db.fetchval("SELECT paid_by_payment_id FROM payment_orders WHERE id = $1", po)
    loser = second if winner == first else first
    assert statuses[str(winner)] == "APPLIED"
    refund = await db.fetchrow("SELECT id, reason, amount FROM refunds WHERE payment_id = $1", loser)
    assert (refund["reason"], refund["amount"]) == ("DUPLICATE_PAYMENT", 200)
    await settle_refunds(settings, db, [refund["id"]])
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE payment_id = $1", winner) == 0


async def test_refunds_never_exceed_the_payment_even_concurrently(http, db, settings):
    buyer = await new_buyer(db, settings)
    _, payment = await _paid(http, db, settings, buyer, [10])     # 1,000 cents

    async def attempt(n: int):
        async with db.transaction() as conn:
            return await request_refund(conn, payment, None, 300, "TEST", f"test-refund:{payment}:{n}")

    results = await asyncio.gather(*(attempt(n) for n in range(8)), return_exceptions=True)
    granted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(granted) == 3 and len(refused) == 5
    assert {e.problems[0].code for e in refused} == {"REFUND_EXCEEDS_PAYMENT"}
    assert await db.fetchval("SELECT refunded_amount FROM payments WHERE id = $1", payment) == 900
    async with db.transaction() as conn:
        again = await request_refund(conn, payment, None, 300, "TEST", granted[0]["idempotency_key"])
    assert again["id"] == granted[0]["id"]
    async with db.transaction() as conn:
        last = await request_refund(conn, payment, None, 100, "TEST", f"test-refund:{payment}:last")
        with pytest.raises(DomainError) as exceeded:
            await request_refund(conn, payment, None, 1, "TEST", f"test-refund:{payment}:over")
    assert exceeded.value.problems[0].code == "REFUND_EXCEEDS_PAYMENT"
    assert await db.fetchval("SELECT refunded_amount FROM payments WHERE id = $1", payment) == 1000
    async with db.transaction() as conn:
        same = await request_refund(conn, payment, None, 100, "TEST", f"test-refund:{payment}:last")
    assert same["id"] == last["id"]
    await settle_refunds(settings, db, [r["id"] for r in granted] + [last["id"]])
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE payment_id = $1", payment) == 4


async def test_buyer_cancels_a_paid_unshipped_order_for_a_refund(api, http, db, settings):
    buyer, other = await new_buyer(db, settings), await new_buyer(db, settings)
    po, payment = await _paid(http, db, settings, buyer, [3, 2])
    orders = {r["payable"]: r["id"] for r in await db.fetch("SELECT id, payable FROM orders WHERE payment_order_id = $1",
                                                            po)}
    cancelled, kept = orders[300], orders[200]
    variables = {"i": {"orderId": gid("Order", cancelled)}}

    denied = (await api.ok(CANCEL_PAID, variables, token=other.token))["cancelPaidOrder"]
    assert [e["code"] for e in denied["userErrors"]] == ["NOT_FOUND"]

    out = (await api.ok(CANCEL_PAID, variables, token=buyer.token))["cancelPaidOrder"]
    assert out["userErrors"] == []
    assert (out["refund"]["amount"], out["refund"]["status"], out["refund"]["reason"]) == (300, "PENDING",
                                                                                           "BUYER_CANCELLED")
    assert out["refund"]["paymentId"] == gid("Payment", payment)
    order = await db.fetchrow("SELECT * FROM orders WHERE id = $1", cancelled)
    assert (order["status"], order["aftersale_status"]) == ("PAID", "IN_PROGRESS")
    assert await db.fetchval("SELECT status FROM shipments WHERE order_id = $1", cancelled) == "CANCELLED"
    held = await db.fetch("SELECT r.status FROM stock_reservations r JOIN order_lines l ON l.id = r.order_line_id"
                          " WHERE l.order_id = $1", cancelled)
    assert [r["status"] for r in held] == ["RELEASED"]
    again = (await api.ok(CANCEL_PAID, variables, token=buyer.token))["cancelPaidOrder"]
    assert [e["code"] for e in again["userErrors"]] == ["AFTERSALE_IN_PROGRESS"]

    await settle_refunds(settings, db, [await db.fetchval("SELECT id FROM refunds WHERE order_id = $1", cancelled)])
    order = await db.fetchrow("SELECT * FROM orders WHERE id = $1", cancelled)
    assert (order["status"], order["payment_status"], order["aftersale_status"], order["refunded_amount"]) == \
        ("CLOSED", "REFUNDED", "DONE", 300)
    history = await db.fetchrow("SELECT from_status, to_status, actor FROM order_status_history"
                                " WHERE order_id = $1 ORDER BY id DESC LIMIT 1", cancelled)
    assert dict(history) == {"from_status": "PAID", "to_status": "CLOSED", "actor": "provider:sandbox"}
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'ORDER_CLOSED'"
                             " AND (payload->>'order_id')::bigint = $1", cancelled) == 1
    assert await db.fetchval("SELECT status FROM orders WHERE id = $1", kept) == "PAID"
    assert await db.fetchval("SELECT refunded_amount FROM payments WHERE id = $1", payment) == 300
    closed = (await api.ok(CANCEL_PAID, variables, token=buyer.token))["cancelPaidOrder"]
    assert [e["code"] for e in closed["userErrors"]] == ["INVALID_TRANSITION"]


async def test_a_paid_virtual_top_up_cannot_be_cancelled_for_a_refund(api, http, db, settings):
    buyer = await new_buyer(db, settings)
    po, payment = await _paid(http, db, settings, buyer, [1], virtual=True)
    order = await db.fetchval("SELECT id FROM orders WHERE payment_order_id = $1", po)
    out = (await api.ok(CANCEL_PAID, {"i": {"orderId": gid("Order", order)}}, token=buyer.token))["cancelPaidOrder"]
    assert [(e["code"], e["field"]) for e in out["userErrors"]] == [("VIRTUAL_NO_AFTERSALE", ["input", "orderId"])]
    assert out["refund"] is None
    assert await db.fetchval("SELECT count(*) FROM refunds WHERE payment_id = $1", payment) == 0
    assert await db.fetchval("SELECT aftersale_status FROM orders WHERE id = $1", order) == "NONE"


async def test_partial_refund_leaves_the_order_open(http, db, settings):
    buyer = await new_buyer(db, settings)
    po, payment = await _paid(http, db, settings, buyer, [4])
    order = await db.fetchval("SELECT id FROM orders WHERE payment_order_id = $1", po)
    async with db.transaction() as conn:
        refund = await request_refund(conn, payment, order, 150, "GOODWILL", f"goodwill:{order}")
    await settle_refunds(settings, db, [refund["id"]])
    row = await db.fetchrow("SELECT status, payment_status, refunded_amount FROM orders WHERE id = $1", order)
    assert dict(row) == {"status": "PAID", "payment_status": "PARTIALLY_REFUNDED", "refunded_amount": 150}


async def test_the_refund_sweeper_sends_a_refund_whose_job_was_lost(http, db, settings):
    buyer = await new_buyer(db, settings)
    po, payment = await _paid(http, db, settings, buyer, [2])
    async with db.transaction() as conn:
        refund = await request_refund(conn, payment, None, 200, "TEST", f"lost-job:{payment}")
    ctx = {"db": db, "settings": settings, "http": http}
    assert await submit_pending_refunds(ctx) == 0              # too fresh: its job may still be on the way
    await db.fetchval("UPDATE refunds SET created_at = created_at - interval '1 minute' WHERE id = $1", refund["id"])
    assert await submit_pending_refunds(ctx) == 1
    assert await db.fetchval("SELECT provider_refund_id FROM refunds WHERE id = $1", refund["id"]) is not None
    assert await submit_pending_refunds(ctx) == 0
    await settle_refunds(settings, db, [refund["id"]])
