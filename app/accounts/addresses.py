"""The buyer's address book (DOMAIN §1): at most MAX_ADDRESSES addresses, exactly one of them the
default whenever there are any.

- The first address is the default whatever the request says; adding or editing one with
  `make_default` moves the default to it.
- Deleting the default promotes the most recently added of the others.
- Every write takes a per-buyer advisory lock, so two requests of one buyer can neither pass the
  limit together nor leave two defaults or none (the partial unique index backs the second).
- A region code may be any GB/T 2260 level (440305 深圳市南山区); its province must be one of
  the `regions` rows, as warehouses and freight templates know regions by province.
- Someone else's address is NOT_FOUND.
Placement (`address_for_order`) and the checkout preview (`default_address`) read the book; the
order keeps its own snapshot, so editing or deleting an address never changes a placed order.
"""

import re
from dataclasses import dataclass

import asyncpg

from app.accounts.errors import AccountError
from app.catalog.warehouses import province_code
from app.errors import CommonError, DomainError, NotFound, Problem

MAX_ADDRESSES = 20
PHONE = re.compile(r"^\+?[0-9]{6,20}$")
COLUMNS = "id, buyer_id, receiver, phone, region_code, detail, label, is_default, created_at, updated_at"


@dataclass(frozen=True)
class AddressFields:
    """A new address, or (for an edit) the fields to change: None keeps the stored value."""
    receiver: str | None = None
    phone: str | None = None
    region_code: str | None = None
    detail: str | None = None
    label: str | None = None


async def _check(conn: asyncpg.Connection, f: AddressFields) -> AddressFields:
    """The fields trimmed, or every problem at its input path."""
    f = AddressFields(*(None if v is None else v.strip() for v in
                        (f.receiver, f.phone, f.region_code, f.detail, f.label)))
    problems = []
    if f.receiver is not None and not 1 <= len(f.receiver) <= 50:
        problems.append(Problem(AccountError.INVALID_ADDRESS, "a receiver name of 1 to 50 characters", ("receiver",)))
    if f.phone is not None and not PHONE.match(f.phone):
        problems.append(Problem(AccountError.INVALID_ADDRESS, "a phone number of 6 to 20 digits", ("phone",)))
    if f.detail is not None and not 1 <= len(f.detail) <= 200:
        problems.append(Problem(AccountError.INVALID_ADDRESS, "a street address of 1 to 200 characters", ("detail",)))
    if f.label is not None and len(f.label) > 20:
        problems.append(Problem(AccountError.INVALID_ADDRESS, "a label of at most 20 characters", ("label",)))
    if f.region_code is not None:
        try:
            province = province_code(f.region_code)
        except DomainError:
            province = None
        if province is None or not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM regions WHERE code = $1)",
                                                       province):
            problems.append(Problem(AccountError.UNKNOWN_REGION, "a 6-digit GB/T 2260 code of a known region",
                                    ("regionCode",)))
    if problems:
        raise DomainError(*problems)
    return f


async def _lock_book(conn: asyncpg.Connection, buyer_id: int) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('addresses:' || $1::bigint, 0))", buyer_id)


async def _own(conn: asyncpg.Connection, buyer_id: int, address_id: int, field: str = "addressId") -> asyncpg.Record:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM buyer_addresses WHERE id = $1 AND buyer_id = $2",
                              address_id, buyer_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "address not found", field)
    return row


async def _make_default(conn: asyncpg.Connection, buyer_id: int, address_id: int) -> None:
    await conn.execute("UPDATE buyer_addresses SET is_default = false WHERE buyer_id = $1 AND is_default"
                       " AND id <> $2", buyer_id, address_id)
    await conn.execute("UPDATE buyer_addresses SET is_default = true WHERE id = $1", address_id)


async def add_address(conn: asyncpg.Connection, buyer_id: int, fields: AddressFields,
                      make_default: bool = False) -> int:
    missing = [Problem(AccountError.INVALID_ADDRESS, "required", (path,)) for path, value in (
        ("receiver", fields.receiver), ("phone", fields.phone), ("regionCode", fields.region_code),
        ("detail", fields.detail)) if value is None]
    if missing:
        raise DomainError(*missing)
    f = await _check(conn, fields)
    await _lock_book(conn, buyer_id)
    count = await conn.fetchval("SELECT count(*) FROM buyer_addresses WHERE buyer_id = $1", buyer_id)
    if count >= MAX_ADDRESSES:
        raise DomainError.of(AccountError.TOO_MANY_ADDRESSES, f"an address book holds at most {MAX_ADDRESSES}")
    address_id = await conn.fetchval(
        "INSERT INTO buyer_addresses (buyer_id, receiver, phone, region_code, detail, label)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        buyer_id, f.receiver, f.phone, f.region_code, f.detail, f.label or "")
    if make_default or count == 0:
        await _make_default(conn, buyer_id, address_id)
    return address_id


async def update_address(conn: asyncpg.Connection, buyer_id: int, address_id: int, fields: AddressFields,
                         make_default: bool = False) -> int:
    f = await _check(conn, fields)
    await _lock_book(conn, buyer_id)
    await _own(conn, buyer_id, address_id)
    await conn.execute(
        "UPDATE buyer_addresses SET receiver = coalesce($2, receiver), phone = coalesce($3, phone),"
        " region_code = coalesce($4, region_code), detail = coalesce($5, detail), label = coalesce($6, label),"
        " updated_at = now() WHERE id = $1", address_id, f.receiver, f.phone, f.region_code, f.detail, f.label)
    if make_default:
        await _make_default(conn, buyer_id, address_id)
    return address_id


async def delete_address(conn: asyncpg.Connection, buyer_id: int, address_id: int) -> None:
    """Deleting the default promotes the most recently added of the others."""
    await _lock_book(conn, buyer_id)
    row = await _own(conn, buyer_id, address_id)
    await conn.execute("DELETE FROM buyer_addresses WHERE id = $1", address_id)
    if row["is_default"]:
        await conn.execute("UPDATE buyer_addresses SET is_default = true WHERE id ="
                           " (SELECT max(id) FROM buyer_addresses WHERE buyer_id = $1)", buyer_id)


async def remove_all(conn: asyncpg.Connection, buyer_id: int) -> None:
    """Account deletion: the whole book goes."""
    await _lock_book(conn, buyer_id)
    await conn.execute("DELETE FROM buyer_addresses WHERE buyer_id = $1", buyer_id)


async def addresses_of(conn: asyncpg.Connection, buyer_id: int) -> list[asyncpg.Record]:
    """The default first, then newest first."""
    return await conn.fetch(f"SELECT {COLUMNS} FROM buyer_addresses WHERE buyer_id = $1"
                            " ORDER BY is_default DESC, id DESC", buyer_id)


async def address_of(conn: asyncpg.Connection, buyer_id: int, address_id: int, field: str = "id") -> asyncpg.Record:
    return await _own(conn, buyer_id, address_id, field)


async def default_address(conn: asyncpg.Connection, buyer_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM buyer_addresses WHERE buyer_id = $1 AND is_default",
                               buyer_id)


async def address_for_order(conn: asyncpg.Connection, buyer_id: int, address_id: int | None) -> asyncpg.Record | None:
    """Placement's address: the buyer's own `address_id` (NOT_FOUND at `addressId` otherwise), or
    with None the default address (None when the book is empty)."""
    if address_id is None:
        return await default_address(conn, buyer_id)
    return await _own(conn, buyer_id, address_id)
