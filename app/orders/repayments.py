"""Credit repayment payment orders (docs/credit.md): a repayment is paid through the cashier like
any purchase, as a payment order of kind REPAYMENT with no goods orders. The cashier, provider
callbacks and refunds treat it like any payment order; paying it (`service.mark_paid_many`)
hands it to app/credit/repayments.py, and its timeout (`service.cancel_unpaid`) fails the
repayment."""

from datetime import datetime

import asyncpg


async def open_repayment_payment_order(conn: asyncpg.Connection, buyer_id: int, amount: int, key: str,
                                       expires_at: datetime) -> asyncpg.Record:
    return await conn.fetchrow(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
        " shipping_total, payable, pricing, expires_at, kind)"
        " VALUES ($1, $2, 'repayment', $3, 0, 0, $3, '{}', $4, 'REPAYMENT') RETURNING *",
        buyer_id, key, amount, expires_at)
