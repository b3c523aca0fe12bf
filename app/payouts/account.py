"""A merchant's account (DOMAIN §10.1): its balances, always derived from the ledger's postings
(journal.balances), and the per-merchant lock every movement that lowers the available balance
takes, so two requests at once can never both spend the same money."""

from dataclasses import dataclass

import asyncpg

from app.errors import CommonError, DomainError
from app.ledger import journal
from app.ledger.accounts import Account

# pg_advisory_xact_lock(class, merchant id): the class keeps these locks apart from any other
ACCOUNT_LOCK_CLASS = 10_026

ACCOUNTS = (Account.MERCHANT_PENDING, Account.MERCHANT_AVAILABLE, Account.MERCHANT_WITHDRAWAL_RESERVED,
            Account.MERCHANT_WITHDRAWAL_IN_TRANSIT, Account.MERCHANT_DEPOSIT, Account.MERCHANT_REFUND_RECOVERY)


@dataclass(frozen=True)
class Balances:
    merchant_id: int
    pending: int            # sold, not yet settled
    available: int          # settled, withdrawable; may be negative (§10.1), which blocks withdrawals
    reserved: int           # asked for, awaiting review or the payout job
    in_transit: int         # sent to the payout channel, not confirmed yet
    deposit: int            # held apart, never withdrawable
    refund_recovery: int    # refunds after settlement, deducted in the next run


async def lock(conn: asyncpg.Connection, merchant_id: int) -> None:
    """Hold the merchant's account lock until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2::int)", ACCOUNT_LOCK_CLASS, merchant_id)


async def balances(conn: asyncpg.Connection, merchant_id: int) -> Balances:
    b = await journal.balances(conn, merchant_id, ACCOUNTS)
    return Balances(merchant_id, b[Account.MERCHANT_PENDING], b[Account.MERCHANT_AVAILABLE],
                    b[Account.MERCHANT_WITHDRAWAL_RESERVED], b[Account.MERCHANT_WITHDRAWAL_IN_TRANSIT],
                    b[Account.MERCHANT_DEPOSIT], b[Account.MERCHANT_REFUND_RECOVERY])


async def require_merchant(conn: asyncpg.Connection, merchant_id: int, *field: str) -> None:
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)", merchant_id):
        raise DomainError.of(CommonError.NOT_FOUND, "no such merchant", *field)


def own_merchant(principal, merchant_id: int | None, *field: str) -> int:
    """The merchant a read is about: merchant staff always read their own (whatever they ask);
    admins the one they name (required)."""
    if principal.is_admin:
        if merchant_id is None:
            raise DomainError.of(CommonError.INVALID_VALUE, "admins name the merchant", *field)
        return merchant_id
    if merchant_id is not None and merchant_id != principal.merchant_id:
        raise DomainError.of(CommonError.NOT_FOUND, "no such merchant", *field)
    return principal.staff_merchant_id
