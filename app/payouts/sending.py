"""Sending an approved withdrawal to its payout channel, safe to run any number of times,
concurrently or after a crash, because the withdrawal row decides:

1. in a short transaction the attempt is counted (APPROVED rows only) and its retry time set,
   so a crash anywhere after leaves a row the sweeper finds;
2. the channel is called with no transaction held, keyed on the withdrawal id: a repeated send
   pays once and answers the first send's state;
3. the answer is applied: accepted ⇒ IN_TRANSIT (reserved → in transit); already PAID / FAILED
   (the callback was lost) ⇒ finished the same way the callback would; refused (4xx) ⇒ FAILED,
   the money available again; anything else ⇒ retried after a backoff.

A withdrawal IN_TRANSIT longer than `payout_query_after_seconds` (a lost callback) is asked
about; the channel's final answer finishes it, exactly as its callback would.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from app.config import Settings
from app.db import Database
from app.payouts import channel, withdrawals
from app.payouts.channel import Outcome
from app.payouts.status import WithdrawalStatus

ACTOR = "system:payouts"
MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class Progress:
    status: str | None                 # the withdrawal's status after this step (None: no such withdrawal)
    retry_in: float | None = None      # seconds until the send is tried again


def backoff(attempts: int) -> float:
    """0.5, 1, 2, 4 … seconds, at most MAX_BACKOFF_SECONDS."""
    return min(0.25 * 2 ** attempts, MAX_BACKOFF_SECONDS)


async def advance(db: Database, settings: Settings, http: httpx.AsyncClient, withdrawal_id: int,
                  now: datetime) -> Progress:
    async with db.transaction() as conn:
        w = await conn.fetchrow("SELECT * FROM withdrawals WHERE id = $1 FOR UPDATE", withdrawal_id)
        if w is None:
            return Progress(None)
        if w["status"] == WithdrawalStatus.APPROVED:
            attempts = w["attempts"] + 1
            await conn.execute("UPDATE withdrawals SET attempts = $2, retry_at = $3 WHERE id = $1", withdrawal_id,
                               attempts, now + timedelta(seconds=backoff(attempts)))
            payee = await conn.fetchval("SELECT name FROM merchants WHERE id = $1", w["merchant_id"])
        elif w["status"] != WithdrawalStatus.IN_TRANSIT:
            return Progress(w["status"])
    if w["status"] == WithdrawalStatus.APPROVED:
        answer = await channel.send(http, settings, w["channel"], withdrawal_id, w["amount"], f"merchant:{payee}")
    else:
        answer = await channel.query(http, settings, w["channel"], withdrawal_id)
    async with db.transaction() as conn:
        return await _apply(conn, withdrawal_id, answer, now)


async def _apply(conn, withdrawal_id: int, answer: channel.Answer, now: datetime) -> Progress:
    w = await conn.fetchrow("SELECT * FROM withdrawals WHERE id = $1 FOR UPDATE", withdrawal_id)
    if w["status"] not in (WithdrawalStatus.APPROVED, WithdrawalStatus.IN_TRANSIT):
        return Progress(w["status"])
    if answer.outcome is Outcome.ACCEPTED:
        await withdrawals.mark_sent(conn, withdrawal_id, answer.channel_ref, ACTOR, now)
        return Progress(WithdrawalStatus.IN_TRANSIT)
    if answer.outcome in (Outcome.PAID, Outcome.FAILED):
        return Progress(await withdrawals.finish(conn, withdrawal_id, answer.outcome is Outcome.PAID, answer.detail,
                                                 answer.channel_ref, ACTOR, now))
    if answer.outcome is Outcome.REFUSED and w["status"] == WithdrawalStatus.APPROVED:
        await withdrawals.fail(conn, withdrawal_id, f"refused by the channel: {answer.detail}", ACTOR, now)
        return Progress(WithdrawalStatus.FAILED)
    if w["status"] == WithdrawalStatus.IN_TRANSIT:
        # still processing (or the channel unreachable): the sweeper asks again later
        await conn.execute("UPDATE withdrawals SET retry_at = $2, last_error = $3 WHERE id = $1", withdrawal_id,
                           now, f"{answer.outcome}: {answer.detail}".strip(": ")[:500])
        return Progress(WithdrawalStatus.IN_TRANSIT)
    retry_in = backoff(w["attempts"])
    await conn.execute("UPDATE withdrawals SET last_error = $2, retry_at = $3 WHERE id = $1", withdrawal_id,
                       f"{answer.outcome}: {answer.detail}".strip(": ")[:500], now + timedelta(seconds=retry_in))
    return Progress(WithdrawalStatus.APPROVED, retry_in=retry_in)


async def due(conn, before: datetime, in_transit_before: datetime, limit: int = 200) -> list[tuple[int, str]]:
    """(withdrawal id, a key naming this try) of the work a lost job left: approved withdrawals
    whose retry time passed before `before` (or never tried), and payouts in transit since
    before `in_transit_before` with no final word."""
    rows = await conn.fetch(
        "(SELECT id, status, attempts, coalesce(retry_at, reviewed_at) AS since FROM withdrawals"
        "  WHERE status = 'APPROVED' AND coalesce(retry_at, reviewed_at) < $1 ORDER BY 4 LIMIT $3)"
        " UNION ALL"
        " (SELECT id, status, attempts, coalesce(retry_at, sent_at) FROM withdrawals WHERE status = 'IN_TRANSIT'"
        "  AND coalesce(retry_at, sent_at) < $2 ORDER BY 4 LIMIT $3)",
        before, in_transit_before, limit)
    return [(r["id"], f"{r['status']}:{r['attempts']}:{r['since'].timestamp():.3f}") for r in rows]
