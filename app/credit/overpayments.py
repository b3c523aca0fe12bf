"""Returning overpayments (溢缴款, DOMAIN §8.1): what a refunded or closed loan owes back to the
buyer goes back through the loan's repayments' payments, newest first, as refunds of them — the
original channels. A cron (workers/credit.py) sends what is due; the refunds' confirmations mark
the overpayment returned (app/credit/repayments.py `overpayment_refund_settled`). What no
repayment paid through the cashier can carry back stays PENDING for the back office."""

import asyncpg

from app.payments import refunds


async def due(conn: asyncpg.Connection, limit: int) -> list[int]:
    """PENDING overpayments with something not yet sent back, and a repayment payment to send it by."""
    rows = await conn.fetch(
        """
        SELECT o.id FROM credit_overpayments o
        WHERE o.status = 'PENDING'
          AND o.amount > (SELECT coalesce(sum(r.amount), 0) FROM credit_overpayment_returns r WHERE r.overpayment_id = o.id)
          AND EXISTS (SELECT 1 FROM credit_repayments c JOIN payment_orders po ON po.id = c.payment_order_id
                      JOIN payments p ON p.id = po.paid_by_payment_id
                      WHERE c.loan_id = o.loan_id AND p.status = 'SUCCEEDED' AND p.amount > p.refunded_amount)
        ORDER BY o.id LIMIT $1
        """, limit)
    return [r["id"] for r in rows]


async def send_back(conn: asyncpg.Connection, overpayment_id: int) -> list[int]:
    """Refunds for what of the overpayment is not yet on its way back, from the loan's repayment
    payments newest first (each at most what is left of it); returns the refund ids (the refund
    jobs submit them). Safe to run again: what was asked before is counted."""
    op = await conn.fetchrow("SELECT * FROM credit_overpayments WHERE id = $1 FOR UPDATE", overpayment_id)
    if op is None or op["status"] != "PENDING":
        return []
    asked = await conn.fetch("SELECT amount FROM credit_overpayment_returns WHERE overpayment_id = $1", overpayment_id)
    left, n = op["amount"] - sum(r["amount"] for r in asked), len(asked)
    carriers = await conn.fetch(
        "SELECT p.id, p.amount - p.refunded_amount AS room FROM credit_repayments c"
        " JOIN payment_orders po ON po.id = c.payment_order_id JOIN payments p ON p.id = po.paid_by_payment_id"
        " WHERE c.loan_id = $1 AND p.status = 'SUCCEEDED' AND p.amount > p.refunded_amount ORDER BY c.id DESC",
        op["loan_id"])
    sent = []
    for c in carriers:
        if left <= 0:
            break
        part = min(left, c["room"])
        refund = await refunds.request_refund(conn, c["id"], None, part, "OVERPAYMENT_RETURNED",
                                              f"overpayment:{overpayment_id}:{n}")
        await conn.execute("INSERT INTO credit_overpayment_returns (refund_id, overpayment_id, amount)"
                           " VALUES ($1, $2, $3)", refund["id"], overpayment_id, part)
        sent.append(refund["id"])
        left, n = left - part, n + 1
    return sent
