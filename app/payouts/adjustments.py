"""Adjustments (补差, DOMAIN §10, §10.1): the back office credits (amount > 0) or debits
(amount < 0) a merchant's available balance with an explicit entry, its reason and operator:
`adjustment:<id>`, kind ADJUSTMENT, Dr PLATFORM_ADJUSTMENTS / Cr MERCHANT_AVAILABLE for a
credit (the reverse for a debit). Idempotent on the client key: the same key again answers the
first adjustment; the same key for anything else is refused. A debit may take the available
balance below zero (§10.1: that blocks withdrawals until covered); it takes the account lock,
so it is ordered with withdrawal requests.

A deposit deduction (`from_deposit`, §10.1) moves money from the merchant's deposit onto its
available balance — Dr MERCHANT_DEPOSIT / Cr MERCHANT_AVAILABLE — to cover a negative one: a
positive amount, at most the deposit held."""

from datetime import datetime

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError
from app.events import emit
from app.ledger import journal
from app.ledger.accounts import PLATFORM, Account
from app.payouts import account
from app.payouts.errors import PayoutError
from app.payouts.status import TOPIC

MAX_REASON = 500


def entry(adjustment: asyncpg.Record) -> journal.Entry:
    m, amount = adjustment["merchant_id"], adjustment["amount"]
    source = ((Account.MERCHANT_DEPOSIT, m) if adjustment["source"] == "DEPOSIT"
              else (Account.PLATFORM_ADJUSTMENTS, PLATFORM))
    return journal.Entry(
        id=f"adjustment:{adjustment['id']}", kind="DEPOSIT_DEDUCTION" if adjustment["source"] == "DEPOSIT"
        else "ADJUSTMENT", occurred_at=adjustment["created_at"], merchant_id=m,
        reason=adjustment["reason"], operator=adjustment["operator"],
        postings=journal.transfer(amount, source, (Account.MERCHANT_AVAILABLE, m)))


async def adjust(conn: asyncpg.Connection, principal: Principal, merchant_id: int, amount: int, reason: str,
                 client_key: str, now: datetime, from_deposit: bool = False) -> asyncpg.Record:
    reason = reason.strip()
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise DomainError.of(PayoutError.INVALID_AMOUNT, "amount is a non-zero number of cents", "amount")
    if not 1 <= len(reason) <= MAX_REASON:
        raise DomainError.of(PayoutError.REASON_REQUIRED, "an adjustment needs a reason (1 to 500 characters)", "reason")
    if not 1 <= len(client_key) <= 100:
        raise DomainError.of(CommonError.INVALID_VALUE, "clientKey is 1 to 100 characters", "clientKey")
    await account.require_merchant(conn, merchant_id, "merchantId")
    await account.lock(conn, merchant_id)
    source = "DEPOSIT" if from_deposit else "PLATFORM"
    existing = await conn.fetchrow("SELECT * FROM merchant_adjustments WHERE client_key = $1", client_key)
    if existing is None and from_deposit:
        if amount < 0:
            raise DomainError.of(PayoutError.INVALID_AMOUNT, "a deposit deduction is a positive amount", "amount")
        if amount > (await account.balances(conn, merchant_id)).deposit:
            raise DomainError.of(PayoutError.INSUFFICIENT_DEPOSIT, "more than the deposit held", "amount")
    row = None if existing is not None else await conn.fetchrow(
        "INSERT INTO merchant_adjustments (merchant_id, amount, reason, operator, client_key, created_at, source)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_key) DO NOTHING RETURNING *",
        merchant_id, amount, reason, principal.subject, client_key, now, source)
    if row is None:
        row = existing or await conn.fetchrow("SELECT * FROM merchant_adjustments WHERE client_key = $1", client_key)
        if (row["merchant_id"], row["amount"], row["reason"], row["source"]) != (merchant_id, amount, reason, source):
            raise DomainError.of(PayoutError.IDEMPOTENCY_CONFLICT, "this client key was used for another adjustment",
                                 "clientKey")
        return row
    await journal.post(conn, [entry(row)])
    await emit(conn, TOPIC, "ADJUSTMENT_POSTED",
               {"adjustment_id": row["id"], "amount": amount, "reason": reason, "operator": principal.subject,
                "source": source},
               merchant_id=merchant_id)
    return row


async def merchant_adjustments(conn: asyncpg.Connection, merchant_id: int, after_id: int | None,
                               limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM merchant_adjustments WHERE merchant_id = $1"
                            " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3", merchant_id, after_id, limit)
