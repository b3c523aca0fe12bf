"""Posting journal entries (DOMAIN §10.1): an entry is a set of signed postings summing to 0,
under a unique id that names the business fact (`payment:42:capture`, `settlement:2026-12-01:7`),
so posting the same fact twice — a retried job, two workers, a replayed callback — records it
once. Entries are never changed (the tables refuse UPDATE and DELETE); a correction is a new
entry. Only app/ledger writes these tables: other domains call `post` inside their own
transaction, so no money moves without its business change and no change without its money.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.ledger.accounts import NORMAL, PLATFORM, Account


class Unbalanced(Exception):
    """A bug: an entry whose postings do not sum to 0 (nothing was written)."""


@dataclass(frozen=True)
class Posting:
    account: Account
    amount: int                       # signed: debit +, credit −
    owner_id: int = PLATFORM
    order_id: int | None = None
    order_line_id: int | None = None


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    occurred_at: datetime
    postings: Sequence[Posting]
    merchant_id: int | None = None
    order_id: int | None = None
    reason: str = ""
    operator: str = ""


def transfer(amount: int, debit: tuple[Account, int], credit: tuple[Account, int], *, order_id: int | None = None,
             order_line_id: int | None = None) -> list[Posting]:
    """Dr `debit` / Cr `credit` (each an (account, owner)) by `amount`: the two postings of one
    movement. What that does to each balance follows the account's side (accounts.NORMAL):
    Dr CASH / Cr MERCHANT_DEPOSIT raises both; Dr MERCHANT_PENDING / Cr MERCHANT_AVAILABLE moves
    money owed to a merchant from pending to available."""
    return [Posting(debit[0], amount, debit[1], order_id, order_line_id),
            Posting(credit[0], -amount, credit[1], order_id, order_line_id)]


def _balanced(entry: Entry) -> None:
    if sum(p.amount for p in entry.postings) != 0:
        raise Unbalanced(f"entry {entry.id} does not sum to 0: {entry.postings}")


async def post(conn: asyncpg.Connection, entries: Iterable[Entry]) -> list[str]:
    """Write the entries not yet posted (two statements whatever their number); returns the ids
    written now. Zero postings are dropped; an entry left with none is still recorded, so its
    fact counts as posted."""
    entries = list(entries)
    for e in entries:
        _balanced(e)
    if not entries:
        return []
    postings = [(e.id, p) for e in entries for p in e.postings if p.amount]
    rows = await conn.fetch(
        """
        WITH e AS (
            INSERT INTO journal_entries (id, kind, occurred_at, merchant_id, order_id, reason, operator)
            SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[],
                                 $6::text[], $7::text[])
            ON CONFLICT (id) DO NOTHING RETURNING id, occurred_at),
        p AS (
            INSERT INTO postings (entry_id, account, owner_id, amount, order_id, order_line_id, occurred_at)
            SELECT p.entry_id, p.account, p.owner_id, p.amount, p.order_id, p.order_line_id, e.occurred_at
            FROM unnest($8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
                 AS p (entry_id, account, owner_id, amount, order_id, order_line_id)
            JOIN e ON e.id = p.entry_id)
        SELECT id FROM e
        """,
        [e.id for e in entries], [e.kind for e in entries], [e.occurred_at for e in entries],
        [e.merchant_id for e in entries], [e.order_id for e in entries], [e.reason for e in entries],
        [e.operator for e in entries],
        [i for i, _ in postings], [p.account.value for _, p in postings], [p.owner_id for _, p in postings],
        [p.amount for _, p in postings], [p.order_id for _, p in postings], [p.order_line_id for _, p in postings])
    return [r["id"] for r in rows]


async def check_balanced(conn: asyncpg.Connection, entry_ids: Sequence[str]) -> None:
    """For entries written by set-based SQL (a settlement run): raise Unbalanced, aborting the
    caller's transaction, if any of them does not sum to 0."""
    bad = await conn.fetch("SELECT entry_id, sum(amount) AS total FROM postings WHERE entry_id = ANY($1::text[])"
                           " GROUP BY entry_id HAVING sum(amount) <> 0 LIMIT 5", list(entry_ids))
    if bad:
        raise Unbalanced(f"entries do not sum to 0: {[(r['entry_id'], r['total']) for r in bad]}")


async def balances(conn: asyncpg.Connection, owner_id: int, accounts: Sequence[Account],
                   at: datetime | None = None) -> dict[Account, int]:
    """The owner's balance in each account (in the account's own terms, see NORMAL), from its
    postings up to `at` (all when None)."""
    rows = await conn.fetch(
        "SELECT account, sum(amount) AS total FROM postings WHERE owner_id = $1 AND account = ANY($2::text[])"
        " AND ($3::timestamptz IS NULL OR occurred_at <= $3) GROUP BY account",
        owner_id, [a.value for a in accounts], at)
    totals = {Account(r["account"]): int(r["total"]) for r in rows}
    return {a: NORMAL[a] * totals.get(a, 0) for a in accounts}


async def posted(conn: asyncpg.Connection, entry_ids: Sequence[str]) -> set[str]:
    """Which of these entries exist."""
    rows = await conn.fetch("SELECT id FROM journal_entries WHERE id = ANY($1::text[])", list(entry_ids))
    return {r["id"] for r in rows}
