"""The deposit (保证金, DOMAIN §10.1): paid through the cashier as a DEPOSIT payment order
(app/orders/deposits.py); when the provider's success is applied, the payment path calls
`deposits_paid` in its transaction: the shop opens, its owner account becomes active, the
application is OPENED, and the ledger records Dr CASH / Cr MERCHANT_DEPOSIT under
`deposit:<merchant id>:paid`. Returned when the shop closes (app/merchants/lifecycle.py)."""

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from app.ledger import journal
from app.ledger.accounts import PLATFORM, Account
from app.merchants.status import APPLICATION_MACHINE, MERCHANT_MACHINE, ApplicationAction, MerchantAction

DEPOSIT_PAID = "DEPOSIT_PAID"
DEPOSIT_RETURNED = "DEPOSIT_RETURNED"


def paid_entry_id(merchant_id: int) -> str:
    return f"deposit:{merchant_id}:paid"


def returned_entry_id(merchant_id: int) -> str:
    return f"deposit:{merchant_id}:returned"


async def deposits_paid(conn: asyncpg.Connection, payment_orders: Sequence[asyncpg.Record], now: datetime,
                        actor: str) -> None:
    """Deposit payment orders (id, merchant_id, payable) just paid. A shop no longer waiting for
    its deposit (a second payment order paid) opens nothing again and posts nothing again."""
    by_merchant = {r["merchant_id"]: r for r in payment_orders}
    opened = await MERCHANT_MACHINE.move(conn, sorted(by_merchant), MerchantAction.OPEN, actor=actor,
                                         reason="deposit paid",
                                         payload=lambda m: {"payment_order_id": by_merchant[m["id"]]["id"]})
    ids = [m["id"] for m in opened]
    if not ids:
        return
    await conn.execute("UPDATE staff_accounts SET active = true WHERE merchant_id = ANY($1::bigint[])"
                       " AND merchant_role = 'OWNER'", ids)
    applications = await conn.fetch("SELECT id, buyer_id, merchant_id FROM merchant_applications"
                                     " WHERE merchant_id = ANY($1::bigint[])", ids)
    await APPLICATION_MACHINE.move(conn, [a["id"] for a in applications], ApplicationAction.OPEN, actor=actor,
                                   sets="updated_at = $4", args=(now,),
                                   payload=lambda a: {"buyer_id": a["buyer_id"]})
    await conn.execute(
        "INSERT INTO buyer_notifications (buyer_id, channel, template, payload)"
        " SELECT t.buyer_id, 'SMS', 'MERCHANT_OPENED', jsonb_build_object('merchant_id', t.merchant_id)"
        " FROM unnest($1::bigint[], $2::bigint[]) AS t(buyer_id, merchant_id)",
        [a["buyer_id"] for a in applications], [a["merchant_id"] for a in applications])
    await journal.post(conn, [
        journal.Entry(id=paid_entry_id(m), kind=DEPOSIT_PAID, occurred_at=now, merchant_id=m, operator=actor,
                      postings=journal.transfer(by_merchant[m]["payable"], (Account.CASH, PLATFORM),
                                                (Account.MERCHANT_DEPOSIT, m)))
        for m in ids])
