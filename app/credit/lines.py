"""Credit lines (授信, DOMAIN §8 / §8.1): a buyer applies with income, ID and phone facts; the
scorer (app/risk/credit_scoring.py) decides; an approval opens the buyer's one revolving line.
The back office raises or cuts the limit; every change is recorded and announced (CREDIT topic:
marketing hears of raises, 提额营销, and the buyer gets a notification).

A line's `available` is derived, never stored: max(0, limit − outstanding principal − frozen).
"""

import hashlib
from datetime import datetime, timedelta

import asyncpg

from app.config import Settings
from app.credit.errors import CreditError
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.risk import credit_scoring
from app.risk.credit_scoring import CreditDecision, CreditFacts

MAX_INCOME = 1_000_000_000        # cents: ¥10,000,000 a month
MAX_LIMIT = 100_000_000           # cents: ¥1,000,000


def available(line: asyncpg.Record) -> int:
    return max(0, line["credit_limit"] - line["outstanding_principal"] - line["frozen"])


def id_digest(id_number: str) -> str:
    """The same person's ID, whichever account types it: digest of the normalised number."""
    return hashlib.sha256(id_number.strip().upper().encode()).hexdigest()


def id_mask(id_number: str) -> str:
    n = id_number.strip().upper()
    return f"{n[:3]}{'*' * max(0, len(n) - 7)}{n[-4:]}" if len(n) > 7 else "*" * len(n)


async def apply(conn: asyncpg.Connection, settings: Settings, buyer_id: int, id_number: str, monthly_income: int,
                phone: str, due_day: int, now: datetime) -> int:
    """Decide an application at once and record it (and the line when approved); returns its id.
    A rejection is an outcome, not an error: the application says why."""
    if not 0 <= monthly_income <= MAX_INCOME:
        raise DomainError.of(CreditError.INVALID_INCOME, "monthly income is 0 to ¥10,000,000, in cents", "monthlyIncome")
    if not 1 <= due_day <= 28:
        raise DomainError.of(CreditError.INVALID_DUE_DAY, "the due day is 1 to 28", "dueDay")
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('credit-application'), $1::int)", buyer_id)
    if await conn.fetchval("SELECT 1 FROM credit_lines WHERE buyer_id = $1", buyer_id):
        raise DomainError.of(CreditError.ALREADY_HAS_CREDIT_LINE, "you have a credit line already")
    last_rejected = await conn.fetchval("SELECT max(created_at) FROM credit_applications"
                                        " WHERE buyer_id = $1 AND status = 'REJECTED'", buyer_id)
    if last_rejected is not None and now - last_rejected < timedelta(days=settings.credit_reapply_days):
        raise DomainError.of(CreditError.REAPPLY_TOO_SOON,
                             f"apply again {settings.credit_reapply_days} days after a rejection")
    digest = id_digest(id_number)
    decision = await _decide(conn, buyer_id, id_number, digest, monthly_income, phone, now)
    application_id = await conn.fetchval(
        "INSERT INTO credit_applications (buyer_id, id_number_mask, id_digest, monthly_income, phone, status, tier,"
        " credit_limit, score, reason, rules, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " RETURNING id",
        buyer_id, id_mask(id_number), digest, monthly_income, phone.strip()[:20],
        "APPROVED" if decision.approved else "REJECTED", decision.tier, decision.limit, decision.score,
        decision.reason, [{"rule": r, "points": p} for r, p in decision.rules], now)
    await conn.execute(
        "INSERT INTO risk_decisions (stage, buyer_id, decision, rule, detail, created_at)"
        " VALUES ('CREDIT', $1, $2, $3, $4, $5)",
        buyer_id, "ALLOW" if decision.approved else "DENY",
        decision.reason.value if decision.reason else "CREDIT_APPROVED",
        {"application_id": application_id, "score": decision.score, "tier": decision.tier,
         "limit": decision.limit, "rules": [{"rule": r, "points": p} for r, p in decision.rules]}, now)
    if decision.approved:
        await conn.execute(
            "INSERT INTO credit_lines (buyer_id, application_id, id_digest, tier, credit_limit, due_day, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            buyer_id, application_id, digest, decision.tier, decision.limit, due_day, now)
    await emit(conn, "credit", "CREDIT_APPROVED" if decision.approved else "CREDIT_REJECTED",
               {"buyer_id": buyer_id, "application_id": application_id, "tier": decision.tier,
                "limit": decision.limit, "reason": decision.reason})
    return application_id


async def _decide(conn: asyncpg.Connection, buyer_id: int, id_number: str, digest: str, monthly_income: int,
                  phone: str, now: datetime) -> CreditDecision:
    """The scorer's decision on the buyer's facts (account, history, blacklists, the ID's other lines)."""
    row = await conn.fetchrow(
        """
        SELECT b.phone, b.created_at,
               (SELECT count(*) FROM orders o WHERE o.buyer_id = b.id AND o.status = 'COMPLETED') AS completed,
               (SELECT count(*) FROM after_sales a WHERE a.buyer_id = b.id) AS after_sales,
               EXISTS (SELECT 1 FROM risk_blacklist l WHERE (l.kind = 'BUYER' AND l.value = b.id::text)
                          OR (l.kind = 'PHONE' AND l.value IN (b.phone, $2))) AS blacklisted,
               EXISTS (SELECT 1 FROM credit_lines c WHERE c.id_digest = $3 AND c.buyer_id <> b.id) AS id_in_use
        FROM buyers b WHERE b.id = $1
        """, buyer_id, phone.strip(), digest)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "buyer not found")
    facts = CreditFacts(id_number=id_number, monthly_income=monthly_income, phone=phone, account_phone=row["phone"],
                        blacklisted=row["blacklisted"], id_holds_other_line=row["id_in_use"],
                        account_days=(now - row["created_at"]).days, completed_orders=row["completed"],
                        after_sales=row["after_sales"])
    return credit_scoring.score(facts, now.date())


async def line_of(conn: asyncpg.Connection, buyer_id: int, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT * FROM credit_lines WHERE buyer_id = $1{' FOR UPDATE' if lock else ''}",
                               buyer_id)


async def change_limit(conn: asyncpg.Connection, actor: str, buyer_id: int, new_limit: int, reason: str,
                       now: datetime) -> None:
    """Raise or cut a line's limit (a cut below what is in use leaves available at 0, §8.1)."""
    if not 0 <= new_limit <= MAX_LIMIT:
        raise DomainError.of(CreditError.INVALID_LIMIT, "a limit is 0 to ¥1,000,000, in cents", "limit")
    if not reason.strip() or len(reason) > 200:
        raise DomainError.of(CommonError.INVALID_VALUE, "give a reason (at most 200 characters)", "reason")
    line = await line_of(conn, buyer_id, lock=True)
    if line is None:
        raise NotFound.of(CreditError.NO_CREDIT_LINE, "the buyer has no credit line", "buyerId")
    if line["credit_limit"] == new_limit:
        return
    await conn.execute("UPDATE credit_lines SET credit_limit = $2, updated_at = $3 WHERE buyer_id = $1",
                       buyer_id, new_limit, now)
    await conn.execute("INSERT INTO credit_limit_changes (buyer_id, from_limit, to_limit, reason, actor, created_at)"
                       " VALUES ($1, $2, $3, $4, $5, $6)", buyer_id, line["credit_limit"], new_limit, reason.strip(),
                       actor, now)
    direction = "RAISE" if new_limit > line["credit_limit"] else "CUT"
    payload = {"buyer_id": buyer_id, "from": line["credit_limit"], "to": new_limit, "direction": direction,
               "reason": reason.strip()}
    await emit(conn, "credit", "CREDIT_LIMIT_CHANGED", payload)
    await conn.execute("INSERT INTO buyer_notifications (buyer_id, channel, template, payload, created_at)"
                       " VALUES ($1, 'PUSH', $2, $3, $4)", buyer_id, f"CREDIT_LIMIT_{direction}", payload, now)


async def applications(conn: asyncpg.Connection, buyer_id: int | None, status: str | None, after_id: int | None,
                       limit: int) -> list[asyncpg.Record]:
    """Newest first; a buyer's own (buyer_id) or, for the back office, everyone's."""
    return await conn.fetch(
        "SELECT * FROM credit_applications WHERE ($1::bigint IS NULL OR buyer_id = $1)"
        " AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        buyer_id, status, after_id, limit)


async def application(conn: asyncpg.Connection, application_id: int) -> asyncpg.Record:
    return await conn.fetchrow("SELECT * FROM credit_applications WHERE id = $1", application_id)


async def limit_changes(conn: asyncpg.Connection, buyer_id: int) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM credit_limit_changes WHERE buyer_id = $1 ORDER BY id DESC", buyer_id)
