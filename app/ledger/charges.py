"""Charges a merchant's next settlement run deducts (DOMAIN §10.1): today the fee of an
interest-free (免息) installment plan the merchant funds, charged when the loan is made and
credited back in proportion when a refund lowers it. A charge is owed at once on the merchant's
MERCHANT_REFUND_RECOVERY (Dr MERCHANT_REFUND_RECOVERY / Cr the income it pays for); the next run
settles it as a CHARGE line, like a refund after settlement (app/ledger/settlement.py)."""

from datetime import datetime

import asyncpg

from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, post, transfer


async def charge(conn: asyncpg.Connection, merchant_id: int, order_id: int, amount: int, fact_id: str,
                 income: Account, reason: str, now: datetime) -> bool:
    """Charge the merchant `amount` (negative: credit it back) once per `fact_id`; False when it
    was charged before (or is 0)."""
    if amount == 0:
        return False
    charge_id = await conn.fetchval(
        "INSERT INTO merchant_charges (merchant_id, order_id, kind, fact_id, amount, occurred_at)"
        " VALUES ($1, $2, 'CREDIT_SUBSIDY', $3, $4, $5) ON CONFLICT (fact_id) DO NOTHING RETURNING id",
        merchant_id, order_id, fact_id, amount, now)
    if charge_id is None:
        return False
    await post(conn, [Entry(fact_id, "MERCHANT_CHARGE", now,
                            transfer(amount, (Account.MERCHANT_REFUND_RECOVERY, merchant_id), (income, PLATFORM)),
                            merchant_id=merchant_id, reason=reason)])
    return True
