"""免息 (interest-free) subsidies in the ledger (DOMAIN §8 / §8.1, §10.1): the subsidiser is charged
the schedule's fee when the loan is made and credited back in proportion when a refund lowers it.
The platform pays at once (Dr PLATFORM_SUBSIDY / Cr CREDIT_FEE_INCOME); a merchant is charged for
its next settlement run to deduct (app/ledger/charges.py)."""

from datetime import datetime

import asyncpg

from app.ledger import charges
from app.ledger.accounts import PLATFORM, Account
from app.ledger.journal import Entry, post, transfer


async def charge_subsidy(conn: asyncpg.Connection, loan: asyncpg.Record, fee: int, fact_id: str,
                         now: datetime) -> None:
    """Charge the loan's subsidiser `fee` (negative: credit it back), once per `fact_id`."""
    if not loan["interest_free"] or fee == 0:
        return
    if loan["subsidiser"] == "PLATFORM":
        await post(conn, [Entry(fact_id, "CREDIT_SUBSIDY", now,
                                transfer(fee, (Account.PLATFORM_SUBSIDY, PLATFORM), (Account.CREDIT_FEE_INCOME, PLATFORM)))])
        return
    merchant = loan["subsidiser_merchant_id"]
    order_id = await conn.fetchval(
        "SELECT o.id FROM payments p JOIN orders o ON o.payment_order_id = p.payment_order_id"
        " WHERE p.id = $1 AND o.merchant_id = $2 ORDER BY o.id LIMIT 1", loan["payment_id"], merchant)
    await charges.charge(conn, merchant, order_id, fee, fact_id, Account.CREDIT_FEE_INCOME,
                         "免息: the interest-free installment fee the shop funds", now)
