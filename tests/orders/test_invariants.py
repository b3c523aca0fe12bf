"""Random concurrent order life cycles — placements with coupons and a budgeted card discount,
buyer cancellations, payments, timeouts, shipments, receipts — and then the books must balance:
stock held equals what live orders reserve, shipped goods left the warehouse, coupons are used by
exactly the checkouts that still stand, budgets equal what standing checkouts took, amounts add
up, and every order's history ends where the order is."""

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.auth.principal import Principal
from app.checkout.lines import CheckoutItem
from app.checkout.preview import CheckoutRequest
from app.errors import DomainError
from app.orders import placement, service
from app.payments import refunds
from tests.cart.helpers import new_buyer
from tests.checkout.helpers import fill_wallet, make_market

OPERATIONS = 160
ADDRESS = placement.Address("李四", "13800138000", "440305", "科技园 2 号")


@pytest.mark.parametrize("seed", [20261130, 7, 42])
async def test_the_books_balance_after_random_concurrent_life_cycles(db, settings, seed):
    market = await make_market(db)
    card = market.promotion["bank_card"]
    await db.fetchval("UPDATE promotions SET budget = 4000 WHERE id = $1 RETURNING 1", card)   # 8 uses of 5.00
    await db.fetch("UPDATE promotions SET status = 'ENDED' WHERE kind = 'PAYMENT' AND id <> $1", card)
    skus = list(market.sku.values())
    stock_before = {r["sku_id"]: r["on_hand"] for r in await db.fetch(
        "SELECT sku_id, on_hand FROM stock WHERE sku_id = ANY($1::bigint[])", skus)}
    buyers = []
    for _ in range(10):
        buyer_id, _ = await new_buyer(db, settings)
        await fill_wallet(db, market, buyer_id)
        buyers.append(buyer_id)
    merchants = {m: Principal(kind="staff", id=0, staff_kind="MERCHANT", merchant_id=m, merchant_role="OWNER")
                 for m in (market.a, market.b)}
    rng = random.Random(seed)

    async def place():
        buyer = rng.choice(buyers)
        items = [CheckoutItem(s, rng.randint(1, 3)) for s in rng.sample(skus, rng.randint(1, 3))]
        request = placement.PlacementRequest(
            checkout=CheckoutRequest(items=items, region_code=ADDRESS.region_code,
                                     payment_channel=rng.choice([None, "BANK_CARD"])),
            idempotency_key=uuid.uuid4().hex, address=ADDRESS)
        try:
            await placement.place_order(db, buyer, request, placement.PlacementFacts(), datetime.now(UTC),
                                        timedelta(minutes=30))
        except DomainError:
            pass                                   # out of stock, price changed: nothing written

    async def pick(status: str):
        rows = await db.fetch("SELECT * FROM orders WHERE merchant_id = ANY($1::bigint[]) AND status = $2",
                              [market.a, market.b], status)
        return rng.choice(rows) if rows else None

    async def act(change):
        try:
            async with db.transaction() as conn:
                await change(conn)
        except DomainError:
            pass                                   # a concurrent change got there first

    async def cancel():
        o = await pick("PENDING_PAYMENT")
        if o:
            await act(lambda c: service.cancel_by_buyer(c, Principal(kind="buyer", id=o["buyer_id"]), o["id"],
                                                        datetime.now(UTC)))

    async def pay():
        o = await pick("PENDING_PAYMENT")
        if o:
            async def paid(c):
                payment = await c.fetchval(
                    "INSERT INTO payments (payment_order_id, provider, channel, amount, auth_level, status,"
                    " provider_txn_id, succeeded_at) SELECT id, 'sandbox', 'WECHAT', payable, 'NONE', 'SUCCEEDED',"
                    " $2, now() FROM payment_orders WHERE id = $1 AND payable > 0 RETURNING id",
                    o["payment_order_id"], uuid.uuid4().hex)
                await service.mark_paid(c, o["payment_order_id"], datetime.now(UTC), "provider:test", payment)
            await act(paid)

    async def refund_before_shipping():
        o = await pick("PAID")
        if o and o["aftersale_status"] == "NONE":
            await act(lambda c: refunds.cancel_paid_order(c, o["buyer_id"], o["id"]))

    async def time_out():
        o = await pick("PENDING_PAYMENT")
        if o:
            await db.fetchval("UPDATE payment_orders SET expires_at = now() - interval '1 second' WHERE id = $1"
                              " RETURNING 1", o["payment_order_id"])
            await act(lambda c: service.cancel_one_due(c, datetime.now(UTC)))

    async def ship():
        o = await pick("PAID")
        if o:
            await act(lambda c: service.ship(c, merchants[o["merchant_id"]], o["id"], "SF", "SF1", datetime.now(UTC)))

    async def receive():
        o = await pick("SHIPPED")
        if o:
            await act(lambda c: service.confirm_receipt(c, o["buyer_id"], o["id"], datetime.now(UTC)))

    moves = [place] * 5 + [cancel, pay, pay, time_out, ship, ship, receive, refund_before_shipping]
    for _ in range(OPERATIONS // 8):
        await asyncio.gather(*(rng.choice(moves)() for _ in range(8)))

    statuses = {r["status"]: r["n"] for r in await db.fetch(
        "SELECT status, count(*) AS n FROM orders WHERE merchant_id = ANY($1::bigint[]) GROUP BY status",
        [market.a, market.b])}
    assert len(statuses) >= 4, statuses              # the walk went through several states

    # stock: held = reserved by live reservations; shipped = deducted; never negative
    for sku in skus:
        row = await db.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku_id = $1", sku)
        held = await db.fetchval("SELECT coalesce(sum(quantity), 0) FROM stock_reservations"
                                 " WHERE sku_id = $1 AND status = 'RESERVED'", sku)
        gone = await db.fetchval("SELECT coalesce(sum(quantity), 0) FROM stock_reservations"
                                 " WHERE sku_id = $1 AND status = 'DEDUCTED'", sku)
        assert row["reserved"] == held and 0 <= row["reserved"] <= row["on_hand"]
        assert row["on_hand"] == stock_before[sku] - gone
    expected = {"PENDING_PAYMENT": "RESERVED", "PAID": "RESERVED", "CANCELLED": "RELEASED",
                "SHIPPED": "DEDUCTED", "RECEIVED": "DEDUCTED"}
    for r in await db.fetch("SELECT o.status, o.aftersale_status, r.status AS held FROM stock_reservations r"
                            " JOIN order_lines l ON l.id = r.order_line_id JOIN orders o ON o.id = l.order_id"
                            " WHERE o.merchant_id = ANY($1::bigint[])", [market.a, market.b]):
        refunding = r["aftersale_status"] == "IN_PROGRESS"       # cancelled after payment: stock given back
        assert r["held"] == ("RELEASED" if refunding else expected[r["status"]]), dict(r)
    assert await db.fetchval("SELECT count(*) FROM payments p WHERE p.refunded_amount > p.amount OR p.refunded_amount <>"
                             " (SELECT coalesce(sum(amount), 0) FROM refunds r WHERE r.payment_id = p.id"
                             "  AND r.status <> 'FAILED')") == 0

    # coupons: used exactly by the checkouts still standing
    for r in await db.fetch("SELECT bc.status, po.status AS checkout FROM buyer_coupons bc"
                            " LEFT JOIN payment_orders po ON po.id = bc.payment_order_id"
                            " WHERE bc.buyer_id = ANY($1::bigint[])", buyers):
        if r["checkout"] is None:
            assert r["status"] in ("UNUSED", "USED")  # the wallet's pre-used coupon has no checkout
        else:
            assert r["status"] == "USED" and r["checkout"] != "CANCELLED", dict(r)
    # the budget: what standing checkouts took, never more than the budget
    spent, budget = await db.fetchrow("SELECT spent, budget FROM promotions WHERE id = $1", card)
    taken = await db.fetchval("SELECT coalesce(sum(amount), 0) FROM promotion_usages WHERE promotion_id = $1"
                              " AND NOT released", card)
    assert spent == taken <= budget
    assert await db.fetchval("SELECT count(*) FROM promotion_usages u JOIN payment_orders po ON po.id ="
                             " u.payment_order_id WHERE po.status = 'CANCELLED' AND NOT u.released") == 0

    # amounts: a checkout is the sum of its orders; a line's shares take it from after-item to paid
    assert await db.fetchval("SELECT count(*) FROM payment_orders po WHERE po.payable <>"
                             " (SELECT sum(payable) FROM orders o WHERE o.payment_order_id = po.id)") == 0
    assert await db.fetchval(
        "SELECT count(*) FROM order_lines l WHERE l.gift_of_promotion_id IS NULL AND"
        " l.goods_amount - l.item_discount - l.paid_amount <>"
        " (SELECT coalesce(sum(amount), 0) FROM order_line_shares s WHERE s.order_line_id = l.id)") == 0
    # history ends where the order is, and every change was announced once
    assert await db.fetchval(
        "SELECT count(*) FROM orders o WHERE o.merchant_id = ANY($1::bigint[]) AND o.status <>"
        " (SELECT to_status FROM order_status_history h WHERE h.order_id = o.id ORDER BY h.id DESC LIMIT 1)",
        [market.a, market.b]) == 0
    assert await db.fetchval(
        "SELECT count(*) FROM orders o WHERE o.merchant_id = ANY($1::bigint[]) AND"
        " (SELECT count(*) FROM order_status_history h WHERE h.order_id = o.id) <>"
        " (SELECT count(*) FROM outbox e WHERE e.topic = 'order' AND (e.payload->>'order_id')::bigint = o.id)",
        [market.a, market.b]) == 0
