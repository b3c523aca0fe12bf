"""A shop's staff (DOMAIN §1, §10): one OWNER or more and OPERATORs. The owner invites staff (a
code shown once, accepted with a login name and password), changes roles and deactivates staff;
operators run the shop but may not change staff or withdraw money. `require_owner` is the one
check of that rule, for this module and for withdrawals (app/payouts).

A role change or a deactivation ends the staff member's sessions, so the role in every live
access token is the current one and `require_owner(principal)` can trust the token.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

import asyncpg
from redis.asyncio import Redis

from app.auth.passwords import check_password_policy, hash_password
from app.auth.principal import Principal
from app.auth.sessions import end_sessions_of
from app.config import Settings
from app.errors import CommonError, DomainError, NotFound
from app.events import emit
from app.merchants.errors import ShopError
from app.merchants.onboarding import USERNAME, _username_free

ROLES = ("OWNER", "OPERATOR")


def is_owner(principal: Principal) -> bool:
    """The one test of a shop's OWNER (operators may not change staff or withdraw)."""
    return principal.is_merchant_staff and principal.merchant_role == "OWNER"


def require_owner(principal: Principal) -> int:
    """The merchant of an OWNER of it; OWNER_REQUIRED for anyone else (operators, admins, buyers)."""
    if not is_owner(principal):
        raise DomainError.of(ShopError.OWNER_REQUIRED, "only the shop's owner may do this")
    return principal.staff_merchant_id


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _role(role: str) -> str:
    if role not in ROLES:
        raise DomainError.of(CommonError.INVALID_VALUE, "the role is OWNER or OPERATOR", "role")
    return role


async def invite(conn: asyncpg.Connection, principal: Principal, role: str, note: str, settings: Settings,
                 now: datetime) -> tuple[asyncpg.Record, str]:
    """A new invitation to the owner's shop and its code (shown this once)."""
    merchant_id = require_owner(principal)
    if len(note) > 200:
        raise DomainError.of(CommonError.INVALID_VALUE, "the note is at most 200 characters", "note")
    code = secrets.token_urlsafe(24)
    row = await conn.fetchrow(
        "INSERT INTO staff_invitations (merchant_id, code_hash, role, note, invited_by, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *", merchant_id, _code_hash(code), _role(role), note,
        principal.id, now + timedelta(hours=settings.staff_invitation_hours))
    await emit(conn, "merchant", "STAFF_INVITED", {"invitation_id": row["id"], "role": role}, merchant_id)
    return row, code


async def revoke_invitation(conn: asyncpg.Connection, principal: Principal, invitation_id: int,
                            now: datetime) -> asyncpg.Record:
    merchant_id = require_owner(principal)
    row = await conn.fetchrow("UPDATE staff_invitations SET revoked_at = $3 WHERE id = $1 AND merchant_id = $2"
                              " AND accepted_at IS NULL AND revoked_at IS NULL RETURNING *",
                              invitation_id, merchant_id, now)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "no open invitation with this id", "invitationId")
    return row


async def accept(conn: asyncpg.Connection, code: str, username: str, password: str, display_name: str,
                 now: datetime) -> asyncpg.Record:
    """Anyone holding a valid code becomes staff of its shop with the invited role."""
    inv = await conn.fetchrow("SELECT i.*, m.status AS merchant_status FROM staff_invitations i"
                              " JOIN merchants m ON m.id = i.merchant_id WHERE i.code_hash = $1 FOR UPDATE OF i",
                              _code_hash(code))
    if (inv is None or inv["accepted_at"] is not None or inv["revoked_at"] is not None or inv["expires_at"] <= now
            or inv["merchant_status"] == "CLOSED"):
        raise DomainError.of(ShopError.INVITATION_INVALID, "this invitation is not valid (any more)", "code")
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise DomainError.of(CommonError.INVALID_VALUE, "the login is 3 to 64 of a-z 0-9 _ . @ -", "username")
    if len(display_name) > 100:
        raise DomainError.of(CommonError.INVALID_VALUE, "the name is at most 100 characters", "displayName")
    check_password_policy(password, (username,))
    if not await _username_free(conn, username):
        raise DomainError.of(ShopError.USERNAME_TAKEN, "this login name is taken", "username")
    staff = await conn.fetchrow(
        "INSERT INTO staff_accounts (username, password_hash, display_name, kind, merchant_id, merchant_role)"
        " VALUES ($1, $2, $3, 'MERCHANT', $4, $5) ON CONFLICT (username) DO NOTHING RETURNING *",
        username, await hash_password(password), display_name, inv["merchant_id"], inv["role"])
    if staff is None:
        raise DomainError.of(ShopError.USERNAME_TAKEN, "this login name is taken", "username")
    await conn.execute("UPDATE staff_invitations SET accepted_at = $2, accepted_staff_id = $3 WHERE id = $1",
                       inv["id"], now, staff["id"])
    await emit(conn, "merchant", "STAFF_JOINED", {"staff_id": staff["id"], "role": inv["role"]}, inv["merchant_id"])
    return staff


async def _member(conn: asyncpg.Connection, merchant_id: int, staff_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM staff_accounts WHERE id = $1 AND merchant_id = $2 FOR UPDATE",
                              staff_id, merchant_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "staff member not found", "staffId")
    return row


async def _keeps_an_owner(conn: asyncpg.Connection, principal: Principal, member: asyncpg.Record) -> None:
    if member["id"] == principal.id:
        raise DomainError.of(ShopError.LAST_OWNER, "ask another owner to change your own account", "staffId")
    # every owner of the shop, locked, so two owners demoting each other cannot leave none
    owners = await conn.fetch("SELECT id FROM staff_accounts WHERE merchant_id = $1 AND merchant_role = 'OWNER'"
                              " AND active ORDER BY id FOR UPDATE", member["merchant_id"])
    if [o["id"] for o in owners] == [member["id"]]:
        raise DomainError.of(ShopError.LAST_OWNER, "a shop keeps at least one active owner", "staffId")


async def set_role(conn: asyncpg.Connection, redis: Redis, settings: Settings, principal: Principal,
                   staff_id: int, role: str) -> asyncpg.Record:
    merchant_id = require_owner(principal)
    member = await _member(conn, merchant_id, staff_id)
    if member["merchant_role"] == _role(role):
        return member
    if member["merchant_role"] == "OWNER":
        await _keeps_an_owner(conn, principal, member)
    row = await conn.fetchrow("UPDATE staff_accounts SET merchant_role = $2 WHERE id = $1 RETURNING *",
                              staff_id, role)
    await end_sessions_of(conn, redis, settings, f"staff:{staff_id}", "ROLE_CHANGED")
    await emit(conn, "merchant", "STAFF_ROLE_CHANGED", {"staff_id": staff_id, "role": role,
                                                        "actor": principal.subject}, merchant_id)
    return row


async def deactivate(conn: asyncpg.Connection, redis: Redis, settings: Settings, principal: Principal,
                     staff_id: int) -> asyncpg.Record:
    merchant_id = require_owner(principal)
    member = await _member(conn, merchant_id, staff_id)
    if not member["active"]:
        return member
    if member["merchant_role"] == "OWNER" or member["id"] == principal.id:
        await _keeps_an_owner(conn, principal, member)
    row = await conn.fetchrow("UPDATE staff_accounts SET active = false WHERE id = $1 RETURNING *", staff_id)
    await end_sessions_of(conn, redis, settings, f"staff:{staff_id}", "DEACTIVATED")
    await emit(conn, "merchant", "STAFF_DEACTIVATED", {"staff_id": staff_id, "actor": principal.subject},
               merchant_id)
    return row


async def staff_of(conn: asyncpg.Connection, principal: Principal, merchant_id: int) -> list[asyncpg.Record]:
    """The shop's staff, for its own staff and admins."""
    if not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "shop not found", "merchantId")
    return await conn.fetch("SELECT * FROM staff_accounts WHERE merchant_id = $1 ORDER BY id", merchant_id)


async def invitations_of(conn: asyncpg.Connection, principal: Principal) -> list[asyncpg.Record]:
    """The owner's shop's invitations, newest first."""
    merchant_id = require_owner(principal)
    return await conn.fetch("SELECT * FROM staff_invitations WHERE merchant_id = $1 ORDER BY id DESC LIMIT 100",
                            merchant_id)
