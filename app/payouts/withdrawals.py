"""Withdrawals (DOMAIN §10, §10.1): a merchant's OWNER asks; the amount is reserved at once; the
back office approves or rejects; approved, the payout job sends it to the payout channel; the
channel's signed callback says PAID or FAILED. Every step is one guarded status move
(app/payouts/status.py) and its ledger entry in the same transaction:

| step | entry id | postings |
|---|---|---|
| requested | `withdrawal:<id>:requested` | Dr MERCHANT_AVAILABLE / Cr MERCHANT_WITHDRAWAL_RESERVED |
| rejected | `withdrawal:<id>:rejected` | Dr MERCHANT_WITHDRAWAL_RESERVED / Cr MERCHANT_AVAILABLE |
| sent (IN_TRANSIT) | `withdrawal:<id>:sent` | Dr MERCHANT_WITHDRAWAL_RESERVED / Cr MERCHANT_WITHDRAWAL_IN_TRANSIT |
| paid | `withdrawal:<id>:paid` | Dr MERCHANT_WITHDRAWAL_IN_TRANSIT / Cr CASH |
| failed | `withdrawal:<id>:failed` | Dr IN_TRANSIT (or RESERVED, refused before sending) / Cr MERCHANT_AVAILABLE |

A request is refused while the available balance is negative and above it; the per-merchant
account lock (app/payouts/account.py) serialises requests, so two at once never overspend.
"""

from datetime import datetime

import asyncpg

from app.auth.principal import Principal
from app.errors import CommonError, DomainError
from app.events import emit
from app.ledger import journal
from app.ledger.accounts import Account
from app.merchants import staff
from app.payouts import account
from app.payouts.errors import PayoutError
from app.payouts.status import TOPIC, WITHDRAWAL, WithdrawalAction, WithdrawalStatus

MAX_REASON = 500


def _entry(w: asyncpg.Record, step: str, kind: str, debit: Account, credit: Account, now: datetime,
           debit_owner: int | None = None, credit_owner: int | None = None) -> journal.Entry:
    m = w["merchant_id"]
    return journal.Entry(
        id=f"withdrawal:{w['id']}:{step}", kind=kind, occurred_at=now, merchant_id=m,
        postings=journal.transfer(w["amount"], (debit, m if debit_owner is None else debit_owner),
                                  (credit, m if credit_owner is None else credit_owner)))


async def request(conn: asyncpg.Connection, principal: Principal, amount: int, client_key: str,
                  now: datetime) -> asyncpg.Record:
    """Reserve `amount` of the caller's merchant's available balance for a withdrawal; the same
    client key again answers the first request (a different amount under it is refused)."""
    if not staff.is_owner(principal):
        raise DomainError.of(PayoutError.OWNER_ONLY, "only the merchant's owner may withdraw")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise DomainError.of(PayoutError.INVALID_AMOUNT, "amount is a positive number of cents", "amount")
    if not 1 <= len(client_key) <= 100:
        raise DomainError.of(CommonError.INVALID_VALUE, "clientKey is 1 to 100 characters", "clientKey")
    merchant_id = principal.staff_merchant_id
    await account.lock(conn, merchant_id)
    existing = await conn.fetchrow("SELECT * FROM withdrawals WHERE merchant_id = $1 AND client_key = $2",
                                   merchant_id, client_key)
    if existing is not None:
        if existing["amount"] != amount:
            raise DomainError.of(PayoutError.IDEMPOTENCY_CONFLICT, "this client key was used for another amount",
                                 "clientKey")
        return existing
    available = (await account.balances(conn, merchant_id)).available
    if available < 0:
        raise DomainError.of(PayoutError.AVAILABLE_NEGATIVE,
                             "the available balance is negative: withdrawals wait until it is covered", "amount")
    if amount > available:
        raise DomainError.of(PayoutError.INSUFFICIENT_AVAILABLE,
                             f"at most {available} cents are available", "amount")
    w = await conn.fetchrow(
        "INSERT INTO withdrawals (merchant_id, amount, client_key, requested_by, created_at)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING *", merchant_id, amount, client_key, principal.subject, now)
    await journal.post(conn, [_entry(w, "requested", "WITHDRAWAL_REQUESTED", Account.MERCHANT_AVAILABLE,
                                     Account.MERCHANT_WITHDRAWAL_RESERVED, now)])
    await conn.execute("INSERT INTO withdrawal_status_history (withdrawal_id, from_status, to_status, actor)"
                       " VALUES ($1, '', 'REQUESTED', $2)", w["id"], principal.subject)
    await emit(conn, TOPIC, "WITHDRAWAL_REQUESTED",
               {"withdrawal_id": w["id"], "from": None, "to": "REQUESTED", "amount": amount,
                "actor": principal.subject}, merchant_id=merchant_id)
    return w


async def owned(conn: asyncpg.Connection, principal: Principal, withdrawal_id: int) -> asyncpg.Record:
    """The withdrawal, if the caller may see it (someone else's is NOT_FOUND)."""
    w = await conn.fetchrow("SELECT * FROM withdrawals WHERE id = $1", withdrawal_id)
    if w is None or not principal.can_manage_merchant(w["merchant_id"]):
        raise DomainError.of(CommonError.NOT_FOUND, "no such withdrawal", "withdrawalId")
    return w


def _payload(w: asyncpg.Record) -> dict:
    return {"amount": w["amount"]}


async def _moved(conn: asyncpg.Connection, withdrawal_id: int, action: WithdrawalAction, actor: str,
                 reason: str | None = None, sets: str = "", args: tuple = ()) -> asyncpg.Record | None:
    rows = await WITHDRAWAL.move(conn, [withdrawal_id], action, actor=actor, reason=reason, sets=sets, args=args,
                                 payload=_payload)
    return rows[0] if rows else None


async def _refuse_move(conn: asyncpg.Connection, withdrawal_id: int, action: WithdrawalAction) -> None:
    current = await conn.fetchval("SELECT status FROM withdrawals WHERE id = $1", withdrawal_id)
    WITHDRAWAL.target(WithdrawalStatus(current), action)   # raises INVALID_TRANSITION
    raise AssertionError("unreachable: the move found the row in a source status")


async def approve(conn: asyncpg.Connection, principal: Principal, withdrawal_id: int, now: datetime) -> int:
    """Back office: approve; the WITHDRAWAL_APPROVED event starts the payout job."""
    await owned(conn, principal, withdrawal_id)
    if await _moved(conn, withdrawal_id, WithdrawalAction.APPROVE, principal.subject,
                    sets="reviewed_by = $4, reviewed_at = $5", args=(principal.subject, now)) is None:
        await _refuse_move(conn, withdrawal_id, WithdrawalAction.APPROVE)
    return withdrawal_id


async def reject(conn: asyncpg.Connection, principal: Principal, withdrawal_id: int, reason: str,
                 now: datetime) -> int:
    """Back office: refuse with a reason; the reserved amount is available again."""
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise DomainError.of(PayoutError.REASON_REQUIRED, "a rejection needs a reason (1 to 500 characters)", "reason")
    await owned(conn, principal, withdrawal_id)
    w = await _moved(conn, withdrawal_id, WithdrawalAction.REJECT, principal.subject, reason,
                     sets="reviewed_by = $4, reviewed_at = $5, reject_reason = $6, finished_at = $5",
                     args=(principal.subject, now, reason))
    if w is None:
        await _refuse_move(conn, withdrawal_id, WithdrawalAction.REJECT)
    assert w is not None
    await journal.post(conn, [_entry(w, "rejected", "WITHDRAWAL_REJECTED", Account.MERCHANT_WITHDRAWAL_RESERVED,
                                     Account.MERCHANT_AVAILABLE, now)])
    return withdrawal_id


async def mark_sent(conn: asyncpg.Connection, withdrawal_id: int, channel_ref: str | None, actor: str,
                    now: datetime) -> bool:
    """The channel accepted it: APPROVED → IN_TRANSIT, reserved → in transit. False if it had moved on."""
    w = await _moved(conn, withdrawal_id, WithdrawalAction.SEND, actor,
                     sets="channel_ref = coalesce($4, t.channel_ref), sent_at = $5, retry_at = NULL, last_error = NULL",
                     args=(channel_ref, now))
    if w is None:
        return False
    await journal.post(conn, [_entry(w, "sent", "WITHDRAWAL_SENT", Account.MERCHANT_WITHDRAWAL_RESERVED,
                                     Account.MERCHANT_WITHDRAWAL_IN_TRANSIT, now)])
    return True


async def finish(conn: asyncpg.Connection, withdrawal_id: int, paid: bool, reason: str | None, channel_ref: str | None,
                 actor: str, now: datetime) -> str:
    """The channel's final word (its callback, or our query of it): PAID or FAILED, each once.
    A withdrawal still APPROVED (the callback overtook the send job's commit) is sent first.
    Returns the status after."""
    status = await conn.fetchval("SELECT status FROM withdrawals WHERE id = $1 FOR UPDATE", withdrawal_id)
    if status == WithdrawalStatus.APPROVED:
        await mark_sent(conn, withdrawal_id, channel_ref, actor, now)
    if paid:
        w = await _moved(conn, withdrawal_id, WithdrawalAction.PAY, actor, sets="finished_at = $4", args=(now,))
        if w is not None:
            await journal.post(conn, [_entry(w, "paid", "WITHDRAWAL_PAID", Account.MERCHANT_WITHDRAWAL_IN_TRANSIT,
                                             Account.CASH, now, credit_owner=0)])
    else:
        await fail(conn, withdrawal_id, reason or "payout failed", actor, now)
    return await conn.fetchval("SELECT status FROM withdrawals WHERE id = $1", withdrawal_id)


async def fail(conn: asyncpg.Connection, withdrawal_id: int, reason: str, actor: str, now: datetime) -> bool:
    """FAILED from APPROVED (the channel refused it) or IN_TRANSIT (it failed): the money is
    available again, from whichever account held it."""
    w = await _moved(conn, withdrawal_id, WithdrawalAction.FAIL, actor, reason,
                     sets="failure_reason = $4, finished_at = $5, retry_at = NULL", args=(reason[:500], now))
    if w is None:
        return False
    held = Account.MERCHANT_WITHDRAWAL_IN_TRANSIT if w["status"] == WithdrawalStatus.IN_TRANSIT \
        else Account.MERCHANT_WITHDRAWAL_RESERVED
    await journal.post(conn, [_entry(w, "failed", "WITHDRAWAL_FAILED", held, Account.MERCHANT_AVAILABLE, now)])
    return True


async def merchant_withdrawals(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                               status: str | None, after_id: int | None, limit: int) -> list[asyncpg.Record]:
    """Merchant staff: their merchant's withdrawals; admins: `merchant_id`'s or all; newest first."""
    if not principal.is_admin:
        merchant_id = principal.merchant_id
    return await conn.fetch(
        "SELECT * FROM withdrawals WHERE ($1::bigint IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR status = $2)"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", merchant_id, status, after_id, limit)


async def history(conn: asyncpg.Connection, withdrawal_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM withdrawal_status_history WHERE withdrawal_id = ANY($1::bigint[])"
                            " ORDER BY withdrawal_id, id", withdrawal_ids)
