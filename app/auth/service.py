"""Accounts and sessions: buyer registration, logins, refresh rotation, logout.

Logins are rate limited per phone/username and per IP in Redis (fixed windows), so a stolen
phone list cannot be brute-forced and one IP cannot spray many accounts.
"""

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg
from redis.asyncio import Redis

from app.auth.passwords import hash_password, verify_password
from app.auth.principal import Principal
from app.auth.tokens import InvalidToken, decode_access_token, hash_refresh_token, issue_access_token, new_refresh_token
from app.cart.service import merge_device_cart
from app.config import Settings
from app.db import Database
from app.errors import DomainError

PHONE = re.compile(r"^\+?[0-9]{6,20}$")
USERNAME = re.compile(r"^[a-z0-9_.@-]{3,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128


@dataclass(frozen=True)
class Session:
    access_token: str
    access_token_expires_at: int
    refresh_token: str
    principal: Principal


def _check_password_rules(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise DomainError.of("WEAK_PASSWORD",
                             f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", "password")


def _check_phone(phone: str) -> None:
    if not PHONE.match(phone):
        raise DomainError.of("INVALID_PHONE", "phone must be 6 to 20 digits", "phone")


async def _rate_limit(redis: Redis, settings: Settings, who: str, ip: str | None) -> None:
    window = settings.login_window_seconds
    bucket = int(time.time()) // window
    keys = [(f"rl:login:who:{who}:{bucket}", settings.login_attempts_per_phone)]
    if ip:
        keys.append((f"rl:login:ip:{ip}:{bucket}", settings.login_attempts_per_ip))
    async with redis.pipeline(transaction=False) as pipe:
        for key, _ in keys:
            pipe.incr(key)
            pipe.expire(key, window)
        counts = (await pipe.execute())[::2]
    if any(count > limit for count, (_, limit) in zip(counts, keys)):
        raise DomainError.of("TOO_MANY_ATTEMPTS", "too many login attempts; try again later")


async def _open_session(conn: asyncpg.Connection, settings: Settings, principal: Principal) -> Session:
    access, exp = issue_access_token(principal, settings.jwt_secret, settings.access_token_ttl_seconds)
    refresh, refresh_hash = new_refresh_token()
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, principal, expires_at) VALUES ($1, $2, $3)",
        refresh_hash, principal.subject,
        datetime.now(timezone.utc) + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    return Session(access, exp, refresh, principal)


def _staff_principal(row: asyncpg.Record) -> Principal:
    return Principal(kind="staff", id=row["id"], staff_kind=row["kind"],
                     merchant_id=row["merchant_id"], merchant_role=row["merchant_role"])


async def register_buyer(db: Database, settings: Settings, phone: str, password: str,
                         nickname: str = "", device_token: str | None = None) -> Session:
    """`device_token`: an anonymous cart to merge into the new buyer's, in the same transaction."""
    _check_phone(phone)
    _check_password_rules(password)
    pw_hash = hash_password(password)
    async with db.transaction() as conn:
        buyer_id = await conn.fetchval(
            "INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, $3)"
            " ON CONFLICT (phone) DO NOTHING RETURNING id", phone, pw_hash, nickname[:50])
        if buyer_id is None:
            raise DomainError.of("PHONE_TAKEN", "this phone is already registered", "phone")
        if device_token:
            await merge_device_cart(conn, buyer_id, device_token)
        return await _open_session(conn, settings, Principal(kind="buyer", id=buyer_id))


async def login_buyer(db: Database, redis: Redis, settings: Settings, phone: str, password: str,
                      ip: str | None, device_token: str | None = None) -> Session:
    """`device_token`: an anonymous cart to merge into the buyer's, in the same transaction."""
    await _rate_limit(redis, settings, f"buyer:{phone}", ip)
    row = await db.fetchrow("SELECT id, password_hash, status FROM buyers WHERE phone = $1", phone)
    if not verify_password(row["password_hash"] if row else None, password) or row["status"] == "DELETED":
        raise DomainError.of("INVALID_CREDENTIALS", "phone or password is wrong")
    if row["status"] == "BLACKLISTED":
        raise DomainError.of("ACCOUNT_BLOCKED", "this account is blocked")
    async with db.transaction() as conn:
        if device_token:
            await merge_device_cart(conn, row["id"], device_token)
        return await _open_session(conn, settings, Principal(kind="buyer", id=row["id"]))


async def login_staff(db: Database, redis: Redis, settings: Settings, username: str, password: str,
                      ip: str | None) -> Session:
    await _rate_limit(redis, settings, f"staff:{username}", ip)
    row = await db.fetchrow(
        "SELECT s.id, s.password_hash, s.kind, s.merchant_id, s.merchant_role, s.active,"
        "       m.status AS merchant_status"
        " FROM staff_accounts s LEFT JOIN merchants m ON m.id = s.merchant_id WHERE s.username = $1",
        username.lower())
    if not verify_password(row["password_hash"] if row else None, password) or not row["active"]:
        raise DomainError.of("INVALID_CREDENTIALS", "username or password is wrong")
    if row["merchant_status"] == "CLOSED":
        raise DomainError.of("ACCOUNT_BLOCKED", "this merchant is closed")
    async with db.transaction() as conn:
        return await _open_session(conn, settings, _staff_principal(row))


async def refresh_session(db: Database, settings: Settings, refresh_token: str) -> Session:
    """Rotate: the presented token is revoked and a new pair issued (reuse fails)."""
    async with db.transaction() as conn:
        subject = await conn.fetchval(
            "UPDATE refresh_tokens SET revoked_at = now()"
            " WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING principal",
            hash_refresh_token(refresh_token))
        if subject is None:
            raise DomainError.of("INVALID_REFRESH_TOKEN", "refresh token is invalid or expired")
        kind, _, pk = subject.partition(":")
        if kind == "buyer":
            status = await conn.fetchval("SELECT status FROM buyers WHERE id = $1", int(pk))
            if status != "ACTIVE":
                raise DomainError.of("ACCOUNT_BLOCKED", "this account can no longer sign in")
            principal = Principal(kind="buyer", id=int(pk))
        else:
            row = await conn.fetchrow(
                "SELECT id, kind, merchant_id, merchant_role, active FROM staff_accounts WHERE id = $1",
                int(pk))
            if row is None or not row["active"]:
                raise DomainError.of("ACCOUNT_BLOCKED", "this account can no longer sign in")
            principal = _staff_principal(row)
        return await _open_session(conn, settings, principal)


async def logout(db: Database, redis: Redis, principal: Principal, refresh_token: str | None) -> None:
    """Revoke the refresh token (or all of the caller's) and deny the access token until expiry."""
    if refresh_token:
        await db.pool.execute(
            "UPDATE refresh_tokens SET revoked_at = now()"
            " WHERE token_hash = $1 AND principal = $2 AND revoked_at IS NULL",
            hash_refresh_token(refresh_token), principal.subject)
    else:
        await db.pool.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE principal = $1 AND revoked_at IS NULL",
            principal.subject)
    ttl = max(1, principal.expires_at - int(time.time()))
    await redis.set(f"auth:denied:{principal.token_id}", "1", ex=ttl)


async def is_access_token_revoked(redis: Redis, principal: Principal) -> bool:
    return bool(await redis.exists(f"auth:denied:{principal.token_id}"))


async def authenticate_bearer(settings: Settings, redis: Redis, header: str) -> tuple[Principal | None, str | None]:
    """The one check of a presented access token (HTTP requests, websocket `connection_init`,
    and open subscriptions re-checking theirs): (principal, None) or (None, why not)."""
    token = header.removeprefix("Bearer ").strip()
    try:
        principal = decode_access_token(token, settings.jwt_secret)
    except InvalidToken:
        return None, "invalid or expired access token"
    if await is_access_token_revoked(redis, principal):
        return None, "access token was revoked"
    return principal, None


async def create_staff(conn: asyncpg.Connection, username: str, password: str, kind: str,
                       merchant_id: int | None = None, merchant_role: str | None = None,
                       display_name: str = "") -> int:
    """Create (or, for the CLI's idempotent runs, reset the password of) a staff account."""
    username = username.lower()
    if not USERNAME.match(username):
        raise DomainError.of("INVALID_USERNAME", "username must be 3-64 of a-z 0-9 _ . @ -", "username")
    _check_password_rules(password)
    return await conn.fetchval(
        "INSERT INTO staff_accounts (username, password_hash, kind, merchant_id, merchant_role, display_name)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, active = true"
        " RETURNING id",
        username, hash_password(password), kind, merchant_id, merchant_role, display_name)
