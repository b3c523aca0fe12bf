"""Deposit payment orders (docs/merchants.md): a merchant's deposit is paid through the cashier
like any purchase, as a payment order of kind DEPOSIT that names its merchant and carries no goods
orders. The cashier, the provider callbacks and refunds treat it like any payment order; paying it
(`service.mark_paid_many`) hands it to app/merchants/deposits.py instead of to fulfilment."""

from datetime import datetime

import asyncpg


async def open_deposit_payment_order(conn: asyncpg.Connection, buyer_id: int, merchant_id: int, amount: int,
                                     key: str, expires_at: datetime) -> asyncpg.Record:
    """The merchant's unpaid deposit payment order, paid by the applicant `buyer_id`: the one
    still pending, else a new one under `key` (unique per buyer)."""
    pending = await conn.fetchrow(
        "SELECT * FROM payment_orders WHERE kind = 'DEPOSIT' AND merchant_id = $1 AND status = 'PENDING_PAYMENT'"
        " AND expires_at > now() ORDER BY id DESC LIMIT 1", merchant_id)
    if pending is not None:
        return pending
    return await conn.fetchrow(
        "INSERT INTO payment_orders (buyer_id, idempotency_key, request_hash, goods_total, total_discount,"
        " shipping_total, payable, pricing, expires_at, kind, merchant_id)"
        " VALUES ($1, $2, 'deposit', $3, 0, 0, $3, '{}', $4, 'DEPOSIT', $5)"
        " ON CONFLICT (buyer_id, idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key"
        " RETURNING *", buyer_id, key, amount, expires_at, merchant_id)


async def deposit_payment_orders(conn: asyncpg.Connection, merchant_id: int) -> list[asyncpg.Record]:
    """Every deposit payment order of the merchant, newest first."""
    return await conn.fetch("SELECT * FROM payment_orders WHERE kind = 'DEPOSIT' AND merchant_id = $1"
                            " ORDER BY id DESC", merchant_id)
