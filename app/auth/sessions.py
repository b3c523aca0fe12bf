"""Sessions: one per sign-in, the family of its refresh tokens and the access tokens they issue.

PostgreSQL (`auth_sessions`) is the truth; Redis caches each session's state under
`auth:session:<sid>` ("1" live, "0" ended) so the check on every signed-in request is one
GETEX. A missing entry is never taken for "live": it is read again from PostgreSQL, so a
flushed, restarted or evicting Redis can slow the check down but never revive a session.
Ending a session marks it ended in Redis *before* the PostgreSQL transaction commits: a
request that reads the old row meanwhile still finds "0" in Redis, and if Redis cannot be
written the session is not ended and the caller is told so.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import asyncpg
from redis.asyncio import Redis

from app.auth.principal import Principal
from app.auth.tokens import issue_access_token, new_refresh_token
from app.config import Settings
from app.db import Database

_LIVE, _ENDED = "1", "0"


@dataclass(frozen=True)
class Session:
    access_token: str
    access_token_expires_at: int
    refresh_token: str
    principal: Principal


def _cache_key(session_id: str) -> str:
    return f"auth:session:{session_id}"


async def open_session(conn: asyncpg.Connection, settings: Settings, principal: Principal) -> Session:
    """A new sign-in of `principal`: its session row, first refresh token and access token."""
    session_id = await conn.fetchval("INSERT INTO auth_sessions (principal) VALUES ($1) RETURNING id::text",
                                     principal.subject)
    return await continue_session(conn, settings, replace(principal, session_id=session_id))


async def continue_session(conn: asyncpg.Connection, settings: Settings, principal: Principal) -> Session:
    """The next generation of `principal.session_id`: a new refresh token and access token."""
    refresh, refresh_hash = new_refresh_token()
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, principal, session_id, expires_at) VALUES ($1, $2, $3, $4)",
        refresh_hash, principal.subject, principal.session_id,
        datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl_seconds))
    access, exp = issue_access_token(principal, settings.jwt_secret, settings.access_token_ttl_seconds)
    return Session(access, exp, refresh, principal)


async def end_sessions(conn: asyncpg.Connection, redis: Redis, settings: Settings, session_ids: Sequence[str],
                       reason: str) -> None:
    """Ends the live ones of `session_ids`, in the caller's transaction (commit it after this)."""
    ended = await conn.fetch(
        "UPDATE auth_sessions SET ended_at = now(), end_reason = $2"
        " WHERE id = ANY($1::uuid[]) AND ended_at IS NULL RETURNING id::text", list(session_ids), reason)
    await _mark_ended(redis, settings, [r["id"] for r in ended])


async def end_sessions_of(conn: asyncpg.Connection, redis: Redis, settings: Settings, subject: str,
                          reason: str) -> None:
    """Every live session of one account ('buyer:<id>' / 'staff:<id>')."""
    ended = await conn.fetch(
        "UPDATE auth_sessions SET ended_at = now(), end_reason = $2"
        " WHERE principal = $1 AND ended_at IS NULL RETURNING id::text", subject, reason)
    await _mark_ended(redis, settings, [r["id"] for r in ended])


async def _mark_ended(redis: Redis, settings: Settings, session_ids: list[str]) -> None:
    if not session_ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for session_id in session_ids:
            pipe.set(_cache_key(session_id), _ENDED, ex=settings.access_token_ttl_seconds)
        await pipe.execute()


async def session_is_live(redis: Redis, settings: Settings, session_id: str, db: Database | None) -> bool:
    """One Redis round trip when cached (the entry's TTL slides with use); otherwise one primary
    key read from PostgreSQL, cached. Without `db` an uncached session is refused."""
    key = _cache_key(session_id)
    ttl = settings.access_token_ttl_seconds
    state = await redis.getex(key, ex=ttl)
    if state is None:
        if db is None:
            return False
        live = await db.fetchval("SELECT ended_at IS NULL FROM auth_sessions WHERE id = $1::uuid", session_id)
        state = _LIVE if live else _ENDED
        # NX: a session ended while we read must not be cached as live again
        if not await redis.set(key, state, ex=ttl, nx=True):
            state = await redis.get(key) or state
    return state == _LIVE
