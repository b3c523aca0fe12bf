"""The shop lifecycle (DOMAIN §10; docs/merchants.md): OPEN → SUSPENDED → OPEN, and CLOSED,
through MERCHANT_MACHINE (history rows and `merchant` events). A suspended shop's products are
hidden from buyers and cannot be bought (the catalog, cart and checkout read `merchants.status`),
its open orders are still fulfilled. Closing is refused while the shop has an unfinished order,
an after-sale in progress, or a negative available balance (a debt to the platform); then the
deposit goes back to the account that paid it — a refund of the deposit payment through the
payment refund path — and the ledger records Dr MERCHANT_DEPOSIT / Cr CASH (DEPOSIT_RETURNED).
"""

from datetime import datetime

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError, NotFound
from app.ledger import journal
from app.ledger.accounts import PLATFORM, Account
from app.merchants.deposits import DEPOSIT_RETURNED, returned_entry_id
from app.merchants.errors import ShopError
from app.merchants.status import MERCHANT_MACHINE, MerchantAction, MerchantStatus
from app.payments import refunds

FINISHED_ORDERS = ("COMPLETED", "CANCELLED", "CLOSED")
FINISHED_AFTER_SALES = ("REFUNDED", "COMPLETED", "CANCELLED", "CLOSED")


async def _locked(conn: asyncpg.Connection, merchant_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM merchants WHERE id = $1 FOR UPDATE", merchant_id)
    if row is None or row["kind"] != "MARKETPLACE":
        raise NotFound.of(CommonError.NOT_FOUND, "shop not found", "merchantId")
    return row


def _reason(reason: str) -> str:
    if not reason.strip():
        raise DomainError.of(ShopError.REASON_REQUIRED, "say why", "reason")
    return reason.strip()[:500]


async def _move(conn: asyncpg.Connection, admin: Principal, merchant_id: int, action: MerchantAction,
                reason: str) -> None:
    shop = await _locked(conn, merchant_id)
    MERCHANT_MACHINE.target(MerchantStatus(shop["status"]), action)
    await MERCHANT_MACHINE.move(conn, [merchant_id], action, actor=admin.subject, reason=reason)


async def suspend(conn: asyncpg.Connection, admin: Principal, merchant_id: int, reason: str) -> None:
    await _move(conn, admin, merchant_id, MerchantAction.SUSPEND, _reason(reason))


async def reactivate(conn: asyncpg.Connection, admin: Principal, merchant_id: int, reason: str) -> None:
    await _move(conn, admin, merchant_id, MerchantAction.REACTIVATE, _reason(reason))


async def close(conn: asyncpg.Connection, admin: Principal, merchant_id: int, reason: str,
                now: datetime) -> int | None:
    """Close the shop and return its deposit; the deposit refund's id (to submit once committed),
    None when no deposit was held."""
    reason = _reason(reason)
    shop = await _locked(conn, merchant_id)
    MERCHANT_MACHINE.target(MerchantStatus(shop["status"]), MerchantAction.CLOSE)
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM orders WHERE merchant_id = $1"
                           " AND status <> ALL($2::text[]))", merchant_id, list(FINISHED_ORDERS)):
        raise DomainError.of(ShopError.SHOP_HAS_OPEN_ORDERS, "the shop has orders not yet finished", "merchantId")
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM after_sales WHERE merchant_id = $1"
                           " AND status <> ALL($2::text[]))", merchant_id, list(FINISHED_AFTER_SALES)):
        raise DomainError.of(ShopError.SHOP_HAS_OPEN_AFTER_SALES, "the shop has after-sales in progress",
                             "merchantId")
    held = await journal.balances(conn, merchant_id, [Account.MERCHANT_AVAILABLE, Account.MERCHANT_DEPOSIT])
    if held[Account.MERCHANT_AVAILABLE] < 0:
        raise DomainError.of(ShopError.SHOP_HAS_DEBTS, f"the shop owes {-held[Account.MERCHANT_AVAILABLE]} cents",
                             "merchantId")
    await MERCHANT_MACHINE.move(conn, [merchant_id], MerchantAction.CLOSE, actor=admin.subject, reason=reason,
                                payload=lambda m: {"deposit": held[Account.MERCHANT_DEPOSIT]})
    await conn.execute("UPDATE staff_invitations SET revoked_at = $2 WHERE merchant_id = $1"
                       " AND accepted_at IS NULL AND revoked_at IS NULL", merchant_id, now)
    deposit = held[Account.MERCHANT_DEPOSIT]
    if deposit <= 0:
        return None
    payment_id = await conn.fetchval(
        "SELECT paid_by_payment_id FROM payment_orders WHERE kind = 'DEPOSIT' AND merchant_id = $1"
        " AND status = 'PAID' ORDER BY paid_at LIMIT 1", merchant_id)
    assert payment_id is not None, "a deposit held was paid by a deposit payment"
    refund = await refunds.request_refund(conn, payment_id, None, deposit, DEPOSIT_RETURNED,
                                          f"deposit-return:{merchant_id}")
    await journal.post(conn, [journal.Entry(
        id=returned_entry_id(merchant_id), kind=DEPOSIT_RETURNED, occurred_at=now, merchant_id=merchant_id,
        reason=reason, operator=admin.subject,
        postings=journal.transfer(deposit, (Account.MERCHANT_DEPOSIT, merchant_id), (Account.CASH, PLATFORM)))])
    return refund["id"]


async def shop_for(conn: asyncpg.Connection, principal: Principal, merchant_id: int) -> asyncpg.Record:
    """A shop as its staff or an admin sees it."""
    row = await conn.fetchrow("SELECT * FROM merchants WHERE id = $1", merchant_id)
    if row is None or not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "shop not found", "merchantId")
    return row


async def shops(conn: asyncpg.Connection, status: str | None, after_id: int | None,
                limit: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM merchants WHERE ($1::text IS NULL OR status = $1)"
                            " AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3", status, after_id, limit)


async def status_history(conn: asyncpg.Connection, merchant_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM merchant_status_history WHERE merchant_id = $1 ORDER BY id", merchant_id)
