"""The limit invariant under concurrency (DOMAIN §8.1): rounds of credit payments, repayments and
refunds run at once against one buyer's line; after every round limit = available + outstanding
principal + frozen, outstanding is the loans' unpaid principal, nothing stays frozen, and no
payment took more than the limit."""

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app.credit import lines, repayments
from app.errors import DomainError
from app.payments import cashier, refunds
from tests.credit.helpers import new_id
from tests.payments.helpers import make_goods, new_buyer, place

LIMIT = 50_000
op = st.one_of(st.tuples(st.just("pay"), st.integers(1, 200)),        # units of 1.00
               st.tuples(st.just("repay"), st.integers(1, 30_000)),
               st.tuples(st.just("refund"), st.integers(1, 20_000)))


async def _pay(db, settings, buyer, goods, units: int) -> None:
    async with db.transaction() as conn:
        po = await place(conn, goods, buyer, [units])
    try:
        await cashier.create_payment(db, buyer, po, "CREDIT", datetime.now(UTC), settings, None, 3)  # type: ignore[arg-type]
    except DomainError as exc:
        assert exc.problems[0].code.value in ("INSUFFICIENT_LIMIT", "PLAN_NOT_AVAILABLE")


async def _repay(db, buyer, amount: int) -> None:
    loan = await db.fetchval("SELECT id FROM loans WHERE buyer_id = $1 AND status = 'ACTIVE' ORDER BY random() LIMIT 1",
                             buyer)
    if loan is None:
        return
    now = datetime.now(UTC)
    try:
        async with db.transaction() as conn:
            owed = await conn.fetchval("SELECT sum(principal - paid_principal + fee - paid_fee + penalty - paid_penalty)"
                                       " FROM bills WHERE loan_id = $1", loan)
            rid = (await repayments.request_repayment(conn, buyer, loan, min(amount, owed), now,
                                                      now + timedelta(minutes=5)))["id"]
            await repayments.apply_repayment(conn, rid, now)
    except DomainError as exc:           # paid off meanwhile by a repayment running at the same time
        assert exc.problems[0].code.value in ("LOAN_NOT_ACTIVE", "INVALID_REPAYMENT")


async def _refund(db, settings, buyer, amount: int) -> None:
    row = await db.fetchrow(
        "SELECT p.id, o.id AS order_id, p.amount - p.refunded_amount AS room FROM payments p"
        " JOIN orders o ON o.payment_order_id = p.payment_order_id JOIN payment_orders po ON po.id = p.payment_order_id"
        " WHERE po.buyer_id = $1 AND p.channel = 'CREDIT' AND p.status = 'SUCCEEDED' AND p.amount > p.refunded_amount"
        " ORDER BY random() LIMIT 1", buyer)
    if row is None:
        return
    try:
        async with db.transaction() as conn:
            refund = await refunds.request_refund(conn, row["id"], row["order_id"], min(amount, row["room"]), "TEST",
                                                  f"conc-{row['id']}-{new_id()}")
    except DomainError as exc:           # another refund took what was left
        assert exc.problems[0].code.value == "REFUND_EXCEEDS_PAYMENT"
        return
    await refunds.submit_refund(db, settings, None, refund["id"])   # type: ignore[arg-type]


async def _check(db, buyer) -> None:
    line = await db.fetchrow("SELECT * FROM credit_lines WHERE buyer_id = $1", buyer)
    assert lines.available(line) + line["outstanding_principal"] + line["frozen"] == line["credit_limit"] == LIMIT
    assert line["frozen"] == 0            # every payment either made its loan or was refused
    unpaid = await db.fetchval("SELECT coalesce(sum(b.principal - b.paid_principal), 0) FROM bills b"
                               " JOIN loans l ON l.id = b.loan_id WHERE l.buyer_id = $1", buyer)
    assert line["outstanding_principal"] == unpaid


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(op, min_size=2, max_size=4), min_size=1, max_size=3))
async def test_the_limit_holds_whatever_runs_at_once(db, settings, rounds):
    goods = await make_goods(db, merchants=1)
    buyer = (await new_buyer(db, settings)).id
    phone = await db.fetchval("SELECT phone FROM buyers WHERE id = $1", buyer)
    async with db.transaction() as conn:
        await lines.apply(conn, settings, buyer, new_id(), 2_000_000, phone, 10, datetime.now(UTC))
        await conn.execute("UPDATE credit_lines SET credit_limit = $2 WHERE buyer_id = $1", buyer, LIMIT)
    for ops in rounds:
        await asyncio.gather(*(
            _pay(db, settings, buyer, goods, n) if kind == "pay" else
            _repay(db, buyer, n) if kind == "repay" else _refund(db, settings, buyer, n)
            for kind, n in ops))
        await _check(db, buyer)
