"""Accounts and sessions: buyer registration, logins, refresh rotation, logout, the bearer check.

Logins are limited per phone/username and per IP (app/auth/limits.py), counting failures, so a
stolen phone list cannot be brute-forced and one IP cannot spray many accounts; sign-ups are
limited per IP. Refresh tokens rotate on every use; presenting a used one again means two
parties hold the family, so the whole session ends (reuse detection).
"""

import re
import unicodedata

import asyncpg
import httpx
from redis.asyncio import Redis

from app.accounts import sms
from app.auth.errors import AuthError
from app.auth.limits import count_registration, login_succeeded, start_login_attempt
from app.auth.passwords import check_password_policy, hash_password, verify_password
from app.auth.principal import Principal
from app.auth.sessions import Session, continue_session, end_sessions, end_sessions_of, open_session, session_is_live
from app.auth.tokens import InvalidToken, decode_access_token, hash_refresh_token
from app.cart.service import merge_device_cart
from app.config import Settings
from app.db import Database
from app.errors import DomainError

PHONE = re.compile(r"^\+?[0-9]{6,20}$")
USERNAME = re.compile(r"^[a-z0-9_.@-]{3,64}$")


def normalise_login(name: str) -> str:
    """One spelling per account for lookup and for counting attempts: NFKC (full-width digits
    and letters), case-folded, outer spaces removed."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def _check_phone(phone: str) -> None:
    if not PHONE.match(phone):
        raise DomainError.of(AuthError.INVALID_PHONE, "phone must be 6 to 20 digits", "phone")


def _staff_principal(row: asyncpg.Record) -> Principal:
    return Principal(kind="staff", id=row["id"], staff_kind=row["kind"],
                     merchant_id=row["merchant_id"], merchant_role=row["merchant_role"])


async def send_registration_code(redis: Redis, http: httpx.AsyncClient, settings: Settings, phone: str,
                                 ip: str | None) -> None:
    """The SMS code `register_buyer` asks for (app/accounts/sms.py)."""
    phone = normalise_login(phone)
    _check_phone(phone)
    await sms.send_code(redis, http, settings, phone, sms.SmsPurpose.REGISTER, ip)


async def register_buyer(db: Database, redis: Redis, settings: Settings, phone: str, password: str,
                         nickname: str = "", ip: str | None = None, device_token: str | None = None,
                         sms_code: str | None = None) -> Session:
    """`device_token`: an anonymous cart to merge into the new buyer's, in the same transaction.
    `sms_code`: the code sent to the phone, required unless REGISTRATION_REQUIRES_SMS_CODE is off;
    checked (and used up) once the phone and password are acceptable and the phone is free (a
    taken phone answers PHONE_TAKEN as before: the per-IP limit bounds that probe). A deleted account's phone
    is free again (its row keeps no phone), so it registers as a new account."""
    await count_registration(redis, settings, ip)
    phone = normalise_login(phone)
    _check_phone(phone)
    check_password_policy(password, (phone,))
    if await db.fetchval("SELECT EXISTS (SELECT 1 FROM buyers WHERE phone = $1)", phone):
        raise DomainError.of(AuthError.PHONE_TAKEN, "this phone is already registered", "phone")
    code = sms.require_code(settings, sms_code)
    if code is not None:
        await sms.check_code(redis, settings, phone, sms.SmsPurpose.REGISTER, code)
    pw_hash = await hash_password(password)
    async with db.transaction() as conn:
        buyer_id = await conn.fetchval(
            "INSERT INTO buyers (phone, password_hash, nickname) VALUES ($1, $2, $3)"
            " ON CONFLICT (phone) DO NOTHING RETURNING id", phone, pw_hash, nickname[:50])
        if buyer_id is None:
            raise DomainError.of(AuthError.PHONE_TAKEN, "this phone is already registered", "phone")
        if device_token:
            await merge_device_cart(conn, buyer_id, device_token)
        return await open_session(conn, settings, Principal(kind="buyer", id=buyer_id))


async def login_buyer(db: Database, redis: Redis, settings: Settings, phone: str, password: str,
                      ip: str | None, device_token: str | None = None) -> Session:
    """`device_token`: an anonymous cart to merge into the buyer's, in the same transaction."""
    phone = normalise_login(phone)
    attempt = await start_login_attempt(redis, settings, f"buyer:{phone}", ip)
    row = await db.fetchrow("SELECT id, password_hash, status FROM buyers WHERE phone = $1", phone)
    if not await verify_password(row["password_hash"] if row else None, password) or row is None or row["status"] == "DELETED":
        raise DomainError.of(AuthError.INVALID_CREDENTIALS, "phone or password is wrong")
    if row["status"] == "BLACKLISTED":
        raise DomainError.of(AuthError.ACCOUNT_BLOCKED, "this account is blocked")
    async with db.transaction() as conn:
        if device_token:
            await merge_device_cart(conn, row["id"], device_token)
        session = await open_session(conn, settings, Principal(kind="buyer", id=row["id"]))
    await login_succeeded(redis, attempt)
    return session


async def login_staff(db: Database, redis: Redis, settings: Settings, username: str, password: str,
                      ip: str | None) -> Session:
    username = normalise_login(username)
    attempt = await start_login_attempt(redis, settings, f"staff:{username}", ip)
    row = await db.fetchrow(
        "SELECT s.id, s.password_hash, s.kind, s.merchant_id, s.merchant_role, s.active,"
        "       m.status AS merchant_status"
        " FROM staff_accounts s LEFT JOIN merchants m ON m.id = s.merchant_id WHERE s.username = $1",
        username)
    if not await verify_password(row["password_hash"] if row else None, password) or row is None or not row["active"]:
        raise DomainError.of(AuthError.INVALID_CREDENTIALS, "username or password is wrong")
    if row["merchant_status"] == "CLOSED":
        raise DomainError.of(AuthError.ACCOUNT_BLOCKED, "this merchant is closed")
    async with db.transaction() as conn:
        session = await open_session(conn, settings, _staff_principal(row))
    await login_succeeded(redis, attempt)
    return session


async def _account_principal(conn: asyncpg.Connection, subject: str, session_id: str) -> Principal:
    kind, _, pk = subject.partition(":")
    if kind == "buyer":
        if await conn.fetchval("SELECT status FROM buyers WHERE id = $1", int(pk)) != "ACTIVE":
            raise DomainError.of(AuthError.ACCOUNT_BLOCKED, "this account can no longer sign in")
        return Principal(kind="buyer", id=int(pk), session_id=session_id)
    row = await conn.fetchrow(
        "SELECT id, kind, merchant_id, merchant_role, active FROM staff_accounts WHERE id = $1", int(pk))
    if row is None or not row["active"]:
        raise DomainError.of(AuthError.ACCOUNT_BLOCKED, "this account can no longer sign in")
    return Principal(kind="staff", id=row["id"], staff_kind=row["kind"], merchant_id=row["merchant_id"],
                     merchant_role=row["merchant_role"], session_id=session_id)


async def refresh_session(db: Database, redis: Redis, settings: Settings, refresh_token: str) -> Session:
    """Rotate: the presented token is used up and the session's next pair issued. A token that
    was already used ends its whole session (committed before the refusal is answered)."""
    invalid = DomainError.of(AuthError.INVALID_REFRESH_TOKEN, "refresh token is invalid or expired")
    async with db.transaction() as conn:
        token = await conn.fetchrow(
            "SELECT t.session_id::text, t.principal, t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired,"
            "       s.ended_at IS NOT NULL AS ended"
            " FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id"
            " WHERE t.token_hash = $1 FOR UPDATE OF t", hash_refresh_token(refresh_token))
        if token is None or token["ended"] or token["expired"]:
            raise invalid
        if not token["used"]:
            await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
                               hash_refresh_token(refresh_token))
            principal = await _account_principal(conn, token["principal"], token["session_id"])
            return await continue_session(conn, settings, principal)
        await end_sessions(conn, redis, settings, [token["session_id"]], "REFRESH_TOKEN_REUSED")
    raise invalid


async def logout(db: Database, redis: Redis, settings: Settings, principal: Principal,
                 everywhere: bool = False) -> None:
    """Ends the caller's session (every access and refresh token of it), or with `everywhere`
    every session of the account."""
    async with db.transaction() as conn:
        if everywhere:
            await end_sessions_of(conn, redis, settings, principal.subject, "LOGOUT_EVERYWHERE")
        else:
            await end_sessions(conn, redis, settings, [principal.session_id], "LOGOUT")


async def authenticate_bearer(settings: Settings, redis: Redis, header: str,
                              db: Database | None = None) -> tuple[Principal | None, str | None]:
    """The one check of a presented access token (HTTP requests, websocket `connection_init`,
    and open subscriptions re-checking theirs): (principal, None) or (None, why not).
    Pass `db`: a session Redis does not know (Redis lost its data) is then read from PostgreSQL
    instead of refused."""
    token = header.removeprefix("Bearer ").strip()
    try:
        principal = decode_access_token(token, settings.jwt_secret)
    except InvalidToken:
        return None, "invalid or expired access token"
    if not await session_is_live(redis, settings, principal.session_id, db):
        return None, "access token was revoked"
    return principal, None


async def create_staff(conn: asyncpg.Connection, username: str, password: str, kind: str,
                       merchant_id: int | None = None, merchant_role: str | None = None,
                       display_name: str = "") -> int:
    """Create (or, for the CLI's idempotent runs, reset the password of) a staff account."""
    username = normalise_login(username)
    if not USERNAME.match(username):
        raise DomainError.of(AuthError.INVALID_USERNAME, "username must be 3-64 of a-z 0-9 _ . @ -", "username")
    check_password_policy(password, (username,))
    password_hash = await hash_password(password)
    return await conn.fetchval(
        "INSERT INTO staff_accounts (username, password_hash, kind, merchant_id, merchant_role, display_name)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, active = true"
        " RETURNING id",
        username, password_hash, kind, merchant_id, merchant_role, display_name)
