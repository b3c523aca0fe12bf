"""Regions, warehouses, stock per (SKU, warehouse) and warehouse routing (DOMAIN §6).

A warehouse belongs to one merchant and delivers to a set of province-level regions. Stock
changes are single conditional statements (never read-modify-write), so concurrent changes
and order reservations cannot push `on_hand` below `reserved` or below 0; each change emits
`STOCK_CHANGED` in the same transaction. Routing picks the merchant's active warehouse that
delivers to the region and can supply the quantity: highest priority, then lowest id.

A dropship supplier's declared stock lives in a warehouse of its own (`supplier_id` set, made and
changed by app/supply through the functions at the end): a DROPSHIP SKU has stock only in such
a warehouse and such a warehouse holds DROPSHIP SKUs only, so routing and reservations stay one
mechanism. Stock raised by receiving (purchase orders) or declared by a supplier fires the same
`STOCK_STATE_CHANGED` back-in-stock / sold-out events as placements and releases.
"""

import re
from collections.abc import Sequence
from typing import overload

import asyncpg

from app.auth.principal import Principal
from app.catalog.categories import clean_name
from app.catalog.errors import CatalogError
from app.catalog.lifecycle import PLATFORM_MERCHANT_ID
from app.catalog.reservations import emit_stock_state_changes, sellable_skus
from app.db import Database
from app.errors import CommonError, DomainError, NotFound, Problem
from app.events import emit

MAX_STOCK = 10_000_000
MAX_PRIORITY = 10_000
_REGION_CODE = re.compile(r"^[0-9]{6}$")


# ---- pure rules -------------------------------------------------------------------------

def province_code(region_code: str | None) -> str:
    """The province of any GB/T 2260 code (440305 深圳市南山区 → 440000 广东省)."""
    if not isinstance(region_code, str) or not _REGION_CODE.match(region_code):
        raise DomainError.of(CatalogError.UNKNOWN_REGION, "a region code is 6 digits (GB/T 2260)", "regionCode")
    return region_code[:2] + "0000"


def check_quantity(value: int, *field: str, allow_negative: bool = False) -> int:
    if not allow_negative and value < 0:
        raise DomainError.of(CatalogError.INVALID_QUANTITY, "a quantity cannot be negative", *field)
    if abs(value) > MAX_STOCK:
        raise DomainError.of(CatalogError.INVALID_QUANTITY, f"at most {MAX_STOCK:,} units", *field)
    return value


# ---- batch reads (DataLoaders) ---------------------------------------------------------

async def warehouses_by_ids(db: Database, ids: Sequence[int]) -> list[asyncpg.Record | None]:
    rows = {r["id"]: r for r in await db.fetch("SELECT * FROM warehouses WHERE id = ANY($1::bigint[])", list(ids))}
    return [rows.get(pk) for pk in ids]


async def warehouse_region_codes_by_ids(db: Database, ids: Sequence[int]) -> list[list[str]]:
    rows = await db.fetch("SELECT * FROM warehouse_regions WHERE warehouse_id = ANY($1::bigint[])"
                          " ORDER BY region_code", list(ids))
    grouped: dict[int, list[str]] = {pk: [] for pk in ids}
    for r in rows:
        grouped[r["warehouse_id"]].append(r["region_code"])
    return [grouped[pk] for pk in ids]


# ---- regions and warehouses -------------------------------------------------------------

async def all_regions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT code, name FROM regions ORDER BY code")


async def _check_regions(conn: asyncpg.Connection, region_code: str | None,
                         delivery_codes: Sequence[str] | None) -> None:
    """Every code must be a known province; delivery codes once each."""
    given = ([region_code] if region_code is not None else []) + list(delivery_codes or [])
    known = {r["code"] for r in await conn.fetch("SELECT code FROM regions WHERE code = ANY($1::text[])", given)}
    problems = []
    if region_code is not None and region_code not in known:
        problems.append(Problem(CatalogError.UNKNOWN_REGION, f"unknown region code '{region_code}'", ("regionCode",)))
    seen: set[str] = set()
    for i, code in enumerate(delivery_codes or []):
        if code not in known:
            problems.append(Problem(CatalogError.UNKNOWN_REGION, f"unknown region code '{code}'",
                                    ("deliveryRegionCodes", str(i))))
        elif code in seen:
            problems.append(Problem(CatalogError.DUPLICATE_REGION,
                                    f"'{code}' is given twice", ("deliveryRegionCodes", str(i))))
        seen.add(code)
    if problems:
        raise DomainError(*problems)


@overload
def _check_warehouse_fields(name: str, address: str | None, priority: int | None) -> str: ...
@overload
def _check_warehouse_fields(name: None, address: str | None, priority: int | None) -> None: ...


def _check_warehouse_fields(name: str | None, address: str | None, priority: int | None) -> str | None:
    if address is not None and len(address) > 500:
        raise DomainError.of(CommonError.INVALID_VALUE, "give an address of at most 500 characters", "address")
    if priority is not None and not 0 <= priority <= MAX_PRIORITY:
        raise DomainError.of(CatalogError.INVALID_PRIORITY, f"priority is 0 to {MAX_PRIORITY}", "priority")
    return None if name is None else clean_name(name, 100, "name")


async def _set_delivery_regions(conn: asyncpg.Connection, warehouse_id: int, codes: Sequence[str]) -> None:
    await conn.execute("DELETE FROM warehouse_regions WHERE warehouse_id = $1", warehouse_id)
    await conn.execute("INSERT INTO warehouse_regions (warehouse_id, region_code) SELECT $1, unnest($2::text[])",
                       warehouse_id, list(codes))


def _owning_merchant(principal: Principal, merchant_id: int | None) -> int:
    """Staff work for their own merchant; admins choose, the platform by default."""
    if merchant_id is None:
        return principal.staff_merchant_id if principal.is_merchant_staff else PLATFORM_MERCHANT_ID
    if not principal.can_manage_merchant(merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    return merchant_id


async def create_warehouse(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None, name: str,
                           address: str, region_code: str | None, priority: int,
                           delivery_region_codes: Sequence[str]) -> asyncpg.Record:
    merchant_id = _owning_merchant(principal, merchant_id)
    name = _check_warehouse_fields(name, address, priority)
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM merchants WHERE id = $1)", merchant_id):
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    await _check_regions(conn, region_code, delivery_region_codes)
    row = await conn.fetchrow(
        "INSERT INTO warehouses (merchant_id, name, address, region_code, priority) VALUES ($1, $2, $3, $4, $5)"
        " RETURNING *", merchant_id, name, address.strip(), region_code, priority)
    await _set_delivery_regions(conn, row["id"], delivery_region_codes)
    return row


async def update_warehouse(conn: asyncpg.Connection, principal: Principal, warehouse_id: int, name: str | None,
                           address: str | None, region_code: str | None, priority: int | None,
                           active: bool | None, delivery_region_codes: Sequence[str] | None) -> asyncpg.Record:
    """None keeps a field; `delivery_region_codes` replaces the whole set when given."""
    current = await conn.fetchrow("SELECT * FROM warehouses WHERE id = $1 FOR UPDATE", warehouse_id)
    if current is None or not principal.can_manage_merchant(current["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "warehouse not found", "id")
    if current["supplier_id"] is not None:
        raise DomainError.of(CatalogError.SUPPLIER_WAREHOUSE,
                             "a supplier's warehouse changes with its supplier (updateSupplier)", "id")
    name = _check_warehouse_fields(name, address, priority)
    await _check_regions(conn, region_code, delivery_region_codes)
    row = await conn.fetchrow(
        "UPDATE warehouses SET name = coalesce($2, name), address = coalesce($3, address),"
        " region_code = coalesce($4, region_code), priority = coalesce($5, priority), active = coalesce($6, active)"
        " WHERE id = $1 RETURNING *",
        warehouse_id, name, None if address is None else address.strip(), region_code, priority, active)
    if delivery_region_codes is not None:
        await _set_delivery_regions(conn, warehouse_id, delivery_region_codes)
    return row


async def list_warehouses(conn: asyncpg.Connection, principal: Principal, merchant_id: int | None,
                          first: int, after_id: int | None) -> list[asyncpg.Record]:
    """Up to `first + 1` warehouses after warehouse `after_id`, by merchant then routing priority.
    Staff see their merchant's; admins one merchant's, or all without a merchant."""
    if principal.is_merchant_staff:
        merchant_id = _owning_merchant(principal, merchant_id)
    elif not principal.is_admin:
        raise NotFound.of(CommonError.NOT_FOUND, "merchant not found", "merchantId")
    return await conn.fetch(
        "SELECT * FROM warehouses w WHERE ($1::bigint IS NULL OR w.merchant_id = $1)"
        " AND ($3::bigint IS NULL OR (w.merchant_id, -w.priority, w.id)"
        "      > (SELECT merchant_id, -priority, id FROM warehouses WHERE id = $3))"
        " ORDER BY w.merchant_id, w.priority DESC, w.id LIMIT $2", merchant_id, first + 1, after_id)


# ---- stock ------------------------------------------------------------------------------

_SKU_COLUMNS = "SELECT k.id, k.product_id, k.merchant_id, p.fulfillment_type FROM skus k JOIN products p ON p.id = k.product_id"


def _check_fits(sku: asyncpg.Record, warehouse: asyncpg.Record, *field: str) -> None:
    """The SKU may keep stock in the warehouse: the same merchant's, and a supplier's warehouse
    exactly when the SKU is DROPSHIP (it sells its supplier's declared stock, nothing else)."""
    if warehouse["merchant_id"] != sku["merchant_id"]:
        raise DomainError.of(CatalogError.WAREHOUSE_NOT_OURS, "the warehouse does not belong to the SKU's merchant",
                             *field)
    if (sku["fulfillment_type"] == "DROPSHIP") != (warehouse["supplier_id"] is not None):
        raise DomainError.of(CatalogError.WAREHOUSE_KIND_MISMATCH,
                             "a DROPSHIP SKU's stock is its supplier's declared stock, kept in the supplier's "
                             "warehouse only; no other SKU has stock there", *field)


async def _sku_and_warehouse(conn: asyncpg.Connection, principal: Principal, sku_id: int,
                             warehouse_id: int) -> asyncpg.Record:
    sku = await conn.fetchrow(f"{_SKU_COLUMNS} WHERE k.id = $1", sku_id)
    if sku is None or not principal.can_manage_merchant(sku["merchant_id"]):
        raise NotFound.of(CommonError.NOT_FOUND, "SKU not found", "skuId")
    warehouse = await conn.fetchrow("SELECT merchant_id, supplier_id FROM warehouses WHERE id = $1", warehouse_id)
    if warehouse is None:
        raise NotFound.of(CommonError.NOT_FOUND, "warehouse not found", "warehouseId")
    _check_fits(sku, warehouse, "warehouseId")
    return sku


async def _stock_changed(conn: asyncpg.Connection, sku: asyncpg.Record, row: asyncpg.Record) -> asyncpg.Record:
    await emit(conn, "product", "STOCK_CHANGED",
               {"product_id": sku["product_id"], "sku_id": sku["id"], "warehouse_id": row["warehouse_id"],
                "on_hand": row["on_hand"], "reserved": row["reserved"],
                "available": row["on_hand"] - row["reserved"], "merchant_id": sku["merchant_id"]},
               merchant_id=sku["merchant_id"])
    return row


async def _reserved(conn: asyncpg.Connection, sku_id: int, warehouse_id: int) -> int:
    return await conn.fetchval("SELECT reserved FROM stock WHERE sku_id = $1 AND warehouse_id = $2",
                               sku_id, warehouse_id) or 0


async def set_stock(conn: asyncpg.Connection, principal: Principal, sku_id: int, warehouse_id: int,
                    on_hand: int) -> asyncpg.Record:
    """Set the counted stock (a stocktake); it may not drop below what orders have reserved."""
    check_quantity(on_hand, "onHand")
    sku = await _sku_and_warehouse(conn, principal, sku_id, warehouse_id)
    row = await conn.fetchrow(
        "INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, $3)"
        " ON CONFLICT (sku_id, warehouse_id) DO UPDATE SET on_hand = EXCLUDED.on_hand, updated_at = now()"
        "   WHERE stock.reserved <= EXCLUDED.on_hand"
        " RETURNING sku_id, warehouse_id, on_hand, reserved", sku_id, warehouse_id, on_hand)
    if row is None:
        reserved = await _reserved(conn, sku_id, warehouse_id)
        raise DomainError.of(CatalogError.STOCK_BELOW_RESERVED, f"{reserved} units are reserved by orders", "onHand")
    return await _stock_changed(conn, sku, row)


async def adjust_stock(conn: asyncpg.Connection, principal: Principal, sku_id: int, warehouse_id: int,
                       delta: int) -> asyncpg.Record:
    """Add (receiving) or remove (damage, loss) units relative to whatever is there now."""
    check_quantity(delta, "delta", allow_negative=True)
    if delta == 0:
        raise DomainError.of(CatalogError.INVALID_QUANTITY, "a change of 0 changes nothing", "delta")
    sku = await _sku_and_warehouse(conn, principal, sku_id, warehouse_id)
    if delta > 0:
        row = await conn.fetchrow(
            "INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, $3)"
            " ON CONFLICT (sku_id, warehouse_id) DO UPDATE SET on_hand = stock.on_hand + $3, updated_at = now()"
            "   WHERE stock.on_hand + $3 <= $4"
            " RETURNING sku_id, warehouse_id, on_hand, reserved", sku_id, warehouse_id, delta, MAX_STOCK)
    else:
        row = await conn.fetchrow(
            "UPDATE stock SET on_hand = on_hand + $3, updated_at = now()"
            " WHERE sku_id = $1 AND warehouse_id = $2 AND on_hand + $3 >= reserved"
            " RETURNING sku_id, warehouse_id, on_hand, reserved", sku_id, warehouse_id, delta)
    if row is None:
        if delta > 0:
            raise DomainError.of(CatalogError.INVALID_QUANTITY, f"stock would exceed {MAX_STOCK:,} units", "delta")
        reserved = await _reserved(conn, sku_id, warehouse_id)
        raise DomainError.of(CatalogError.STOCK_BELOW_RESERVED,
                             f"stock would drop below 0 or below the {reserved} units reserved by orders", "delta")
    return await _stock_changed(conn, sku, row)


# ---- routing ----------------------------------------------------------------------------

async def route_warehouse(conn: asyncpg.Connection, sku_id: int, quantity: int, region_code: str) -> int | None:
    """The warehouse that ships `quantity` of a SKU to a region; None when none can (not
    deliverable). The rule is the SQL function `route_warehouse` (migrations/0010), which
    checkout and reservation use as well."""
    if quantity <= 0:
        raise DomainError.of(CatalogError.INVALID_QUANTITY, "order at least one unit", "quantity")
    return await conn.fetchval("SELECT route_warehouse($1, $2, $3)", sku_id, quantity, province_code(region_code))

# ---- receiving, and dropship suppliers' warehouses (called by app/supply) -----------------

async def receive_stock(conn: asyncpg.Connection, warehouse_id: int, quantities: Sequence[tuple[int, int]],
                        *field: str) -> list[asyncpg.Record]:
    """Goods counted in (a purchase order's receipt): raise `on_hand` of each (SKU, quantity) in
    the warehouse, SKUs in id order like placements lock them. A SKU back from sold out gets its
    IN_STOCK event. The caller has checked the quantities (positive, at most MAX_STOCK)."""
    warehouse = await conn.fetchrow("SELECT merchant_id, supplier_id FROM warehouses WHERE id = $1", warehouse_id)
    if warehouse is None:
        raise NotFound.of(CommonError.NOT_FOUND, "warehouse not found", *field)
    items = sorted(quantities)
    sku_ids = [sku_id for sku_id, _ in items]
    skus = {r["id"]: r for r in await conn.fetch(f"{_SKU_COLUMNS} WHERE k.id = ANY($1::bigint[])", sku_ids)}
    for sku_id in sku_ids:
        _check_fits(skus[sku_id], warehouse, *field)
    before = await sellable_skus(conn, sku_ids)
    rows = []
    for sku_id, quantity in items:
        row = await conn.fetchrow(
            "INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, $3)"
            " ON CONFLICT (sku_id, warehouse_id) DO UPDATE SET on_hand = stock.on_hand + $3, updated_at = now()"
            "   WHERE stock.on_hand + $3 <= $4"
            " RETURNING sku_id, warehouse_id, on_hand, reserved", sku_id, warehouse_id, quantity, MAX_STOCK)
        if row is None:
            raise DomainError.of(CatalogError.INVALID_QUANTITY, f"stock would exceed {MAX_STOCK:,} units", *field)
        rows.append(await _stock_changed(conn, skus[sku_id], row))
    await emit_stock_state_changes(conn, sku_ids, before)
    return rows


async def declare_supplier_stock(conn: asyncpg.Connection, warehouse_id: int, sku_id: int,
                                 available: int) -> asyncpg.Record:
    """A dropship supplier says how many units of a SKU it can ship now: the supplier warehouse's
    `on_hand` becomes `reserved + available`, so what is left to sell is exactly the declaration
    and what orders hold stays held (never below it). One conditional statement."""
    check_quantity(available, "available")
    sku = await conn.fetchrow(f"{_SKU_COLUMNS} WHERE k.id = $1", sku_id)
    warehouse = await conn.fetchrow("SELECT merchant_id, supplier_id FROM warehouses WHERE id = $1", warehouse_id)
    if sku is None:
        raise NotFound.of(CommonError.NOT_FOUND, "SKU not found", "skuId")
    if warehouse is None or warehouse["supplier_id"] is None:
        raise DomainError.of(CatalogError.WAREHOUSE_KIND_MISMATCH, "only a supplier's warehouse takes declared stock",
                             "supplierId")
    _check_fits(sku, warehouse, "skuId")
    before = await sellable_skus(conn, [sku_id])
    row = await conn.fetchrow(
        "INSERT INTO stock (sku_id, warehouse_id, on_hand) VALUES ($1, $2, $3)"
        " ON CONFLICT (sku_id, warehouse_id) DO UPDATE SET on_hand = stock.reserved + EXCLUDED.on_hand,"
        "   updated_at = now()"
        " RETURNING sku_id, warehouse_id, on_hand, reserved", sku_id, warehouse_id, available)
    await _stock_changed(conn, sku, row)
    await emit_stock_state_changes(conn, [sku_id], before)
    return row


async def available_in(conn: asyncpg.Connection, warehouse_id: int, sku_ids: Sequence[int]) -> dict[int, int]:
    """`on_hand - reserved` of each SKU that has a stock row in the warehouse."""
    rows = await conn.fetch("SELECT sku_id, on_hand - reserved AS available FROM stock"
                            " WHERE warehouse_id = $1 AND sku_id = ANY($2::bigint[])", warehouse_id, list(sku_ids))
    return {r["sku_id"]: r["available"] for r in rows}


async def supplier_warehouse(conn: asyncpg.Connection, supplier_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM warehouses WHERE supplier_id = $1", supplier_id)


async def supplier_warehouses_by_supplier_ids(db: Database, ids: Sequence[int]) -> list[asyncpg.Record | None]:
    rows = {r["supplier_id"]: r for r in await db.fetch(
        "SELECT * FROM warehouses WHERE supplier_id = ANY($1::bigint[])", list(ids))}
    return [rows.get(pk) for pk in ids]


async def create_supplier_warehouse(conn: asyncpg.Connection, supplier_id: int, name: str,
                                    delivery_region_codes: Sequence[str], endpoint_url: str,
                                    secret: str) -> asyncpg.Record:
    """The platform's warehouse standing for a dropship supplier: it ships to the given regions,
    pushes go to the supplier's endpoint, and it holds the supplier's declared stock only."""
    await _check_regions(conn, None, delivery_region_codes)
    row = await conn.fetchrow(
        "INSERT INTO warehouses (merchant_id, name, supplier_id, endpoint_url, secret) VALUES ($1, $2, $3, $4, $5)"
        " RETURNING *", PLATFORM_MERCHANT_ID, clean_name(name, 100, "name"), supplier_id, endpoint_url, secret)
    await _set_delivery_regions(conn, row["id"], delivery_region_codes)
    return row


async def update_supplier_warehouse(conn: asyncpg.Connection, warehouse_id: int, *,
                                    delivery_region_codes: Sequence[str] | None = None,
                                    endpoint_url: str | None = None, secret: str | None = None,
                                    active: bool | None = None) -> None:
    """None keeps a field. Deactivating (the supplier is suspended) makes every unit there
    unsellable at once — routing and listings count active warehouses only — and reactivating
    brings them back; each SKU whose stock state turns gets its STOCK_STATE_CHANGED event."""
    if delivery_region_codes is not None:
        await _check_regions(conn, None, delivery_region_codes)
        await _set_delivery_regions(conn, warehouse_id, delivery_region_codes)
    sku_ids = [r["sku_id"] for r in await conn.fetch(
        "SELECT sku_id FROM stock WHERE warehouse_id = $1 ORDER BY sku_id", warehouse_id)] if active is not None else []
    before = await sellable_skus(conn, sku_ids)
    await conn.execute(
        "UPDATE warehouses SET endpoint_url = coalesce($2, endpoint_url), secret = coalesce($3, secret),"
        " active = coalesce($4, active) WHERE id = $1 AND supplier_id IS NOT NULL",
        warehouse_id, endpoint_url, secret, active)
    await emit_stock_state_changes(conn, sku_ids, before)


async def stock_facts_of_sku(conn: asyncpg.Connection, sku_id: int) -> asyncpg.Record | None:
    """id, product_id, merchant_id and fulfillment_type of a SKU (what decides where its stock lives)."""
    return await conn.fetchrow(f"{_SKU_COLUMNS} WHERE k.id = $1", sku_id)


async def get_warehouse(conn: asyncpg.Connection, warehouse_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM warehouses WHERE id = $1", warehouse_id)
