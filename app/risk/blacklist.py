"""The back office's blacklist (DOMAIN §11): operators add and remove buyers, phones, addresses,
IPs and devices; placement refuses whatever matches (app/risk/rules.py). Addresses are kept as
the digest of the normalised address, as placement matches them."""

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.catalog.warehouses import province_code
from app.errors import CommonError, DomainError, NotFound
from app.risk.errors import RiskError
from app.risk.rules import address_key, device_key, normalise

KINDS = ("BUYER", "PHONE", "ADDRESS", "IP", "DEVICE")
_PHONE = re.compile(r"^\+?[0-9]{6,20}$")
_DEVICE = re.compile(r"^[a-z0-9_.:-]{8,128}$")         # as `device_key` normalises it


@dataclass(frozen=True)
class Entry:
    kind: str
    value: str | None = None          # BUYER: buyer id; PHONE, IP, DEVICE: the value
    region_code: str | None = None    # ADDRESS: region and street, as a buyer types them
    detail: str | None = None


async def _value(conn: asyncpg.Connection, e: Entry) -> str:
    """The stored value of an entry, checked."""
    if e.kind not in KINDS:
        raise DomainError.of(RiskError.INVALID_KIND, f"kind is one of {', '.join(KINDS)}", "kind")
    if e.kind == "ADDRESS":
        if not e.region_code or not e.detail or not e.detail.strip():
            raise DomainError.of(RiskError.INVALID_ADDRESS, "give the address's regionCode and detail", "detail")
        return address_key(province_code(e.region_code), e.detail)
    value = (e.value or "").strip()
    if e.kind == "BUYER":
        if not value.isdigit() or await conn.fetchval("SELECT 1 FROM buyers WHERE id = $1", int(value)) is None:
            raise NotFound.of(CommonError.NOT_FOUND, "buyer not found", "value")
    elif e.kind == "PHONE":
        value = normalise(value)
        if not _PHONE.match(value):
            raise DomainError.of(CommonError.INVALID_VALUE, "a phone number of 6 to 20 digits", "value")
    elif e.kind == "IP":
        try:
            value = str(ipaddress.ip_address(value))
        except ValueError:
            raise DomainError.of(CommonError.INVALID_VALUE, "an IPv4 or IPv6 address", "value") from None
    elif e.kind == "DEVICE":
        value = device_key(value) or ""
        if not _DEVICE.match(value):
            raise DomainError.of(CommonError.INVALID_VALUE, "a device id of 8 to 128 characters", "value")
    return value


async def add(conn: asyncpg.Connection, entry: Entry, reason: str) -> asyncpg.Record:
    """Blacklist an entry (adding it again updates the reason). Admins only: the field says so."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 200:
        raise DomainError.of(RiskError.REASON_REQUIRED, "say why, in at most 200 characters", "reason")
    return await conn.fetchrow(
        "INSERT INTO risk_blacklist (kind, value, reason) VALUES ($1, $2, $3)"
        " ON CONFLICT (kind, value) DO UPDATE SET reason = $3 RETURNING *",
        entry.kind, await _value(conn, entry), reason)


async def remove(conn: asyncpg.Connection, entry: Entry) -> bool:
    value = await _value(conn, entry)
    return await conn.fetchval("DELETE FROM risk_blacklist WHERE kind = $1 AND value = $2 RETURNING true",
                               entry.kind, value) or False


def entry_position(row: asyncpg.Record) -> str:
    """Where an entry sits in the newest-first list (its page cursor): created_at, kind, value;
    no kind's value contains "|"."""
    return f"{row['created_at'].isoformat()}|{row['kind']}|{row['value']}"


async def entries(conn: asyncpg.Connection, kind: str | None, after: str | None, limit: int) -> list[asyncpg.Record]:
    """The newest entries (of one kind), after the position `after` (see `entry_position`)."""
    at, after_kind, after_value = None, None, None
    if after is not None:
        at_text, _, rest = after.partition("|")
        after_kind, _, after_value = rest.partition("|")
        try:
            at = datetime.fromisoformat(at_text)
        except ValueError:
            raise DomainError.of(CommonError.INVALID_CURSOR, "not a cursor of this list", "after") from None
    return await conn.fetch(
        "SELECT * FROM risk_blacklist WHERE ($1::text IS NULL OR kind = $1)"
        " AND ($2::timestamptz IS NULL OR created_at < $2 OR (created_at = $2 AND (kind, value) > ($3, $4)))"
        " ORDER BY created_at DESC, kind, value LIMIT $5", kind, at, after_kind, after_value, limit)


async def decisions(conn: asyncpg.Connection, buyer_id: int | None, denied_only: bool, after_id: int | None,
                    limit: int) -> list[asyncpg.Record]:
    """The decision log, newest first: every rule that fired, at placement and payment."""
    return await conn.fetch(
        "SELECT * FROM risk_decisions WHERE ($1::bigint IS NULL OR buyer_id = $1) AND (NOT $2 OR decision = 'DENY')"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", buyer_id, denied_only, after_id, limit)
