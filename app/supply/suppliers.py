"""Suppliers, their contracts and dropship suppliers' declared stock (DOMAIN §6).

Platform operators onboard suppliers (the schema declares IsAdmin; nothing here is per merchant:
every supplier sells to the platform, merchant #1). A DROPSHIP supplier gets a warehouse of its
own at onboarding (app/catalog `create_supplier_warehouse`) whose stock is what the supplier
declares; suspending the supplier deactivates that warehouse, so its declared units stop selling
at once (routing and listings count active warehouses only) and come back on reactivation. The
partner secret is write-only: stored for signing, never read back by the API.
"""

import re
from collections.abc import Sequence

import asyncpg

from app.catalog import warehouses
from app.catalog.lifecycle import PLATFORM_MERCHANT_ID
from app.catalog.warehouses import check_quantity
from app.errors import CommonError, DomainError, NotFound, Problem
from app.supply.errors import SupplyError
from app.supply.status import SUPPLIER_MACHINE, SupplierAction, SupplierStatus

KINDS = ("STOCK", "DROPSHIP", "REALTIME_API")
SETTLEMENT_TERMS = ("PREPAID", "ON_RECEIPT", "NET_30", "MONTHLY")
# the sandbox service standing in for each kind's partner system (PLAN: sandbox://<service>/<code>)
SANDBOX_SERVICE = {"DROPSHIP": "fulfilment", "REALTIME_API": "topup"}
# the SKUs a kind may contract: what it sells is how the SKU is fulfilled
CONTRACT_FULFILMENT = {"STOCK": "WAREHOUSE", "DROPSHIP": "DROPSHIP", "REALTIME_API": "VIRTUAL"}
MIN_SECRET = 16
MAX_PURCHASE_PRICE = 100_000_000_00  # cents: 100 million yuan a unit
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s]*)?$")
_SANDBOX_URL = re.compile(r"^sandbox://([a-z]+)/([A-Za-z0-9_-]{1,64})$")


# ---- pure rules -------------------------------------------------------------------------

def check_endpoint(kind: str, url: str) -> str:
    """http(s)://… or sandbox://<the kind's sandbox service>/<partner code>."""
    url = url.strip()
    sandbox = _SANDBOX_URL.match(url)
    if len(url) > 500 or not (_HTTP_URL.match(url) or (sandbox and sandbox.group(1) == SANDBOX_SERVICE[kind])):
        raise DomainError.of(SupplyError.INVALID_ENDPOINT,
                             f"give http(s)://… or sandbox://{SANDBOX_SERVICE[kind]}/<code>", "endpointUrl")
    return url


def _check_secret(secret: str) -> str:
    if not MIN_SECRET <= len(secret) <= 200:
        raise DomainError.of(SupplyError.WEAK_SECRET, f"a secret of {MIN_SECRET} to 200 characters", "secret")
    return secret


def _check_text(value: str | None, limit: int, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit or "\x00" in value:
        raise DomainError.of(CommonError.INVALID_VALUE, f"at most {limit} characters", field)
    return value


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or "\x00" in name:
        raise DomainError.of(CommonError.INVALID_VALUE, "a name of 1 to 100 characters", "name")
    return name


def _check_terms(terms: str | None) -> None:
    if terms is not None and terms not in SETTLEMENT_TERMS:
        raise DomainError.of(CommonError.INVALID_VALUE, f"settlement terms are one of {', '.join(SETTLEMENT_TERMS)}",
                             "settlementTerms")


# ---- suppliers --------------------------------------------------------------------------

async def get_supplier(conn: asyncpg.Connection, supplier_id: int, *field: str, lock: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM suppliers WHERE id = $1" + (" FOR UPDATE" if lock else ""), supplier_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "supplier not found", *(field or ("id",)))
    return row


async def suppliers_by_ids(db, ids: Sequence[int]) -> list[asyncpg.Record | None]:
    rows = {r["id"]: r for r in await db.fetch("SELECT * FROM suppliers WHERE id = ANY($1::bigint[])", list(ids))}
    return [rows.get(pk) for pk in ids]


async def list_suppliers(conn: asyncpg.Connection, kind: str | None, status: str | None, first: int,
                         after_id: int | None) -> list[asyncpg.Record]:
    """Up to `first + 1` suppliers, newest first, after supplier `after_id`."""
    return await conn.fetch(
        "SELECT * FROM suppliers WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR status = $2)"
        " AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", kind, status, after_id, first + 1)


async def create_supplier(conn: asyncpg.Connection, actor: str, *, name: str, kind: str, contact_name: str = "",
                          contact_phone: str = "", settlement_terms: str = "MONTHLY", endpoint_url: str | None = None,
                          secret: str | None = None,
                          delivery_region_codes: Sequence[str] = ()) -> asyncpg.Record:
    """Onboard a supplier; a DROPSHIP one with its warehouse (the regions it ships to)."""
    if kind not in KINDS:
        raise DomainError.of(CommonError.INVALID_VALUE, f"kind is one of {', '.join(KINDS)}", "kind")
    name = _check_name(name)
    _check_terms(settlement_terms)
    problems = []
    if kind == "STOCK":
        for value, field in ((endpoint_url, "endpointUrl"), (secret, "secret")):
            if value is not None:
                problems.append(Problem(SupplyError.ENDPOINT_NOT_ALLOWED,
                                        "a STOCK supplier has no partner system", (field,)))
        if delivery_region_codes:
            problems.append(Problem(SupplyError.WRONG_SUPPLIER_KIND,
                                    "only a DROPSHIP supplier ships to regions", ("deliveryRegionCodes",)))
    else:
        for value, field in ((endpoint_url, "endpointUrl"), (secret, "secret")):
            if value is None:
                problems.append(Problem(SupplyError.ENDPOINT_REQUIRED,
                                        f"a {kind} supplier needs its system's endpoint and secret", (field,)))
        if kind == "DROPSHIP" and not delivery_region_codes:
            problems.append(Problem(SupplyError.REGIONS_REQUIRED, "give the regions the supplier ships to",
                                    ("deliveryRegionCodes",)))
        if kind == "REALTIME_API" and delivery_region_codes:
            problems.append(Problem(SupplyError.WRONG_SUPPLIER_KIND,
                                    "only a DROPSHIP supplier ships to regions", ("deliveryRegionCodes",)))
    if problems:
        raise DomainError(*problems)
    if endpoint_url is not None and secret is not None:
        endpoint_url, secret = check_endpoint(kind, endpoint_url), _check_secret(secret)
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM suppliers WHERE lower(name) = lower($1))", name):
        raise DomainError.of(SupplyError.DUPLICATE_SUPPLIER_NAME, f"a supplier named '{name}' exists", "name")
    row = await conn.fetchrow(
        "INSERT INTO suppliers (name, kind, contact_name, contact_phone, settlement_terms, endpoint_url, secret)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *", name, kind, _check_text(contact_name, 100, "contactName"),
        _check_text(contact_phone, 30, "contactPhone"), settlement_terms, endpoint_url, secret)
    await conn.execute("INSERT INTO supplier_status_history (supplier_id, from_status, to_status, actor, reason)"
                       " VALUES ($1, NULL, 'ACTIVE', $2, 'onboarded')", row["id"], actor)
    if kind == "DROPSHIP":
        assert endpoint_url is not None and secret is not None
        await warehouses.create_supplier_warehouse(conn, row["id"], f"{name[:80]} 代发仓 dropship",
                                                   delivery_region_codes, endpoint_url, secret)
    return row


async def update_supplier(conn: asyncpg.Connection, supplier_id: int, *, name: str | None = None,
                          contact_name: str | None = None, contact_phone: str | None = None,
                          settlement_terms: str | None = None, endpoint_url: str | None = None,
                          secret: str | None = None,
                          delivery_region_codes: Sequence[str] | None = None) -> asyncpg.Record:
    """None keeps a field (the kind never changes); a DROPSHIP supplier's warehouse follows its
    endpoint, secret and regions."""
    current = await get_supplier(conn, supplier_id, lock=True)
    kind = current["kind"]
    if kind == "STOCK" and (endpoint_url is not None or secret is not None):
        raise DomainError.of(SupplyError.ENDPOINT_NOT_ALLOWED, "a STOCK supplier has no partner system",
                             "endpointUrl" if endpoint_url is not None else "secret")
    if kind != "DROPSHIP" and delivery_region_codes is not None:
        raise DomainError.of(SupplyError.WRONG_SUPPLIER_KIND, "only a DROPSHIP supplier ships to regions",
                             "deliveryRegionCodes")
    if delivery_region_codes is not None and not delivery_region_codes:
        raise DomainError.of(SupplyError.REGIONS_REQUIRED, "give the regions the supplier ships to",
                             "deliveryRegionCodes")
    name = None if name is None else _check_name(name)
    _check_terms(settlement_terms)
    endpoint_url = None if endpoint_url is None else check_endpoint(kind, endpoint_url)
    secret = None if secret is None else _check_secret(secret)
    if name is not None and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM suppliers WHERE lower(name) = lower($1) AND id <> $2)", name, supplier_id):
        raise DomainError.of(SupplyError.DUPLICATE_SUPPLIER_NAME, f"a supplier named '{name}' exists", "name")
    row = await conn.fetchrow(
        "UPDATE suppliers SET name = coalesce($2, name), contact_name = coalesce($3, contact_name),"
        " contact_phone = coalesce($4, contact_phone), settlement_terms = coalesce($5, settlement_terms),"
        " endpoint_url = coalesce($6, endpoint_url), secret = coalesce($7, secret) WHERE id = $1 RETURNING *",
        supplier_id, name, _check_text(contact_name, 100, "contactName"),
        _check_text(contact_phone, 30, "contactPhone"), settlement_terms, endpoint_url, secret)
    if kind == "DROPSHIP":
        await warehouses.update_supplier_warehouse(
            conn, await warehouse_id_of(conn, supplier_id), delivery_region_codes=delivery_region_codes,
            endpoint_url=endpoint_url, secret=secret)
    return row


async def warehouse_id_of(conn: asyncpg.Connection, supplier_id: int) -> int:
    warehouse = await warehouses.supplier_warehouse(conn, supplier_id)
    assert warehouse is not None, "a DROPSHIP supplier gets its warehouse at onboarding"
    return warehouse["id"]


async def change_supplier_status(conn: asyncpg.Connection, actor: str, supplier_id: int, action: SupplierAction,
                                 reason: str | None) -> None:
    """Suspend or reactivate; a DROPSHIP supplier's warehouse goes inactive / active with it."""
    current = await get_supplier(conn, supplier_id, "supplierId", lock=True)
    SUPPLIER_MACHINE.target(SupplierStatus(current["status"]), action)
    await SUPPLIER_MACHINE.move(conn, [supplier_id], action, actor=actor,
                                reason=_check_text(reason, 500, "reason") or None,
                                payload=lambda r: {"kind": r["kind"], "name": r["name"]})
    if current["kind"] == "DROPSHIP":
        await warehouses.update_supplier_warehouse(conn, await warehouse_id_of(conn, supplier_id),
                                                   active=action is SupplierAction.REACTIVATE)


async def status_history_by_supplier_ids(db, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM supplier_status_history WHERE supplier_id = ANY($1::bigint[]) ORDER BY id",
                          list(ids))
    grouped: dict[int, list[asyncpg.Record]] = {pk: [] for pk in ids}
    for r in rows:
        grouped[r["supplier_id"]].append(r)
    return [grouped[pk] for pk in ids]


# ---- contract lines ---------------------------------------------------------------------

async def set_contract_line(conn: asyncpg.Connection, supplier_id: int, sku_id: int, purchase_price: int,
                            supplier_sku_code: str) -> asyncpg.Record:
    """Agree (or change) what the platform pays for one unit of a SKU and the supplier's code
    for it. Only the platform's SKUs, and only those fulfilled the way the supplier works."""
    supplier = await get_supplier(conn, supplier_id, "supplierId")
    sku = await warehouses.stock_facts_of_sku(conn, sku_id)
    if sku is None:
        raise NotFound.of(CommonError.NOT_FOUND, "SKU not found", "skuId")
    if sku["merchant_id"] != PLATFORM_MERCHANT_ID:
        raise DomainError.of(SupplyError.NOT_PLATFORM_SKU, "suppliers sell to the platform: its own SKUs only", "skuId")
    wanted = CONTRACT_FULFILMENT[supplier["kind"]]
    if sku["fulfillment_type"] != wanted:
        raise DomainError.of(SupplyError.FULFILMENT_MISMATCH,
                             f"a {supplier['kind']} supplier contracts {wanted} SKUs; this one is "
                             f"{sku['fulfillment_type']}", "skuId")
    if not 0 <= purchase_price <= MAX_PURCHASE_PRICE:
        raise DomainError.of(CommonError.INVALID_VALUE, "a purchase price of 0 to 100,000,000.00", "purchasePrice")
    code = supplier_sku_code.strip()
    if not 1 <= len(code) <= 64 or "\x00" in code:
        raise DomainError.of(CommonError.INVALID_VALUE, "a supplier SKU code of 1 to 64 characters", "supplierSkuCode")
    return await conn.fetchrow(
        "INSERT INTO supplier_skus (supplier_id, sku_id, purchase_price, supplier_sku_code) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (supplier_id, sku_id) DO UPDATE SET purchase_price = EXCLUDED.purchase_price,"
        "   supplier_sku_code = EXCLUDED.supplier_sku_code RETURNING *", supplier_id, sku_id, purchase_price, code)


async def remove_contract_line(conn: asyncpg.Connection, supplier_id: int, sku_id: int) -> None:
    """End a contract line. A DROPSHIP supplier's declared stock of the SKU goes to zero with it
    (what orders already hold stays held); open purchase orders keep their own copy of the terms."""
    supplier = await get_supplier(conn, supplier_id, "supplierId")
    if await conn.fetchval("DELETE FROM supplier_skus WHERE supplier_id = $1 AND sku_id = $2 RETURNING 1",
                           supplier_id, sku_id) is None:
        raise NotFound.of(CommonError.NOT_FOUND, "no such contract line", "skuId")
    if supplier["kind"] == "DROPSHIP":
        warehouse_id = await warehouse_id_of(conn, supplier_id)
        if await warehouses.available_in(conn, warehouse_id, [sku_id]):
            await warehouses.declare_supplier_stock(conn, warehouse_id, sku_id, 0)


async def contract_line(conn: asyncpg.Connection, supplier_id: int, sku_id: int, *field: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM supplier_skus WHERE supplier_id = $1 AND sku_id = $2",
                              supplier_id, sku_id)
    if row is None:
        raise DomainError.of(SupplyError.NOT_CONTRACTED, "the SKU has no contract line with this supplier", *field)
    return row


async def list_contract_lines(conn: asyncpg.Connection, supplier_id: int, first: int,
                              after_sku_id: int | None) -> list[dict]:
    """Up to `first + 1` lines of a supplier's contract by SKU id, each with the SKU's declared
    available stock for a DROPSHIP supplier (`declared_available`, None otherwise)."""
    supplier = await get_supplier(conn, supplier_id, "supplierId")
    rows = [dict(r) for r in await conn.fetch(
        "SELECT * FROM supplier_skus WHERE supplier_id = $1 AND ($2::bigint IS NULL OR sku_id > $2)"
        " ORDER BY sku_id LIMIT $3", supplier_id, after_sku_id, first + 1)]
    declared: dict[int, int] = {}
    if supplier["kind"] == "DROPSHIP" and rows:
        declared = await warehouses.available_in(conn, await warehouse_id_of(conn, supplier_id),
                                                 [r["sku_id"] for r in rows])
    for r in rows:
        r["declared_available"] = declared.get(r["sku_id"], 0) if supplier["kind"] == "DROPSHIP" else None
    return rows


# ---- declared stock (DROPSHIP) ----------------------------------------------------------

async def declare_stock(conn: asyncpg.Connection, supplier_id: int, sku_id: int, available: int) -> asyncpg.Record:
    """The supplier's word on how many units of a contracted SKU it can ship now; its warehouse's
    stock then leaves exactly that many to sell (app/catalog `declare_supplier_stock`). A
    suspended supplier may still declare: the units sell again once it is reactivated."""
    supplier = await get_supplier(conn, supplier_id, "supplierId")
    if supplier["kind"] != "DROPSHIP":
        raise DomainError.of(SupplyError.WRONG_SUPPLIER_KIND, "only a DROPSHIP supplier declares stock", "supplierId")
    check_quantity(available, "available")
    await contract_line(conn, supplier_id, sku_id, "skuId")
    return await warehouses.declare_supplier_stock(conn, await warehouse_id_of(conn, supplier_id), sku_id, available)


async def dropship_secret(conn: asyncpg.Connection, supplier_id: int) -> str | None:
    """The secret a DROPSHIP supplier's own calls are signed with; None: no such supplier."""
    return await conn.fetchval("SELECT secret FROM suppliers WHERE id = $1 AND kind = 'DROPSHIP'", supplier_id)


async def declare_stock_by_codes(conn: asyncpg.Connection, supplier_id: int,
                                 items: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The supplier's own declaration, in its SKU codes: every item or none."""
    lines = {r["supplier_sku_code"]: r["sku_id"] for r in await conn.fetch(
        "SELECT supplier_sku_code, sku_id FROM supplier_skus WHERE supplier_id = $1", supplier_id)}
    problems, seen = [], set()
    for n, (code, _) in enumerate(items):
        if code not in lines:
            problems.append(Problem(SupplyError.NOT_CONTRACTED, f"no contract line has code '{code[:64]}'",
                                    ("items", str(n), "supplier_sku_code")))
        elif code in seen:
            problems.append(Problem(SupplyError.DUPLICATE_LINE, "the code is given twice",
                                    ("items", str(n), "supplier_sku_code")))
        seen.add(code)
    if problems:
        raise DomainError(*problems)
    declared: dict[int, int] = {}
    for n in sorted(range(len(items)), key=lambda i: lines[items[i][0]]):   # stock rows in SKU order
        code, available = items[n]
        try:
            row = await declare_stock(conn, supplier_id, lines[code], available)
        except DomainError as exc:
            raise DomainError(*(Problem(p.code, p.message, ("items", str(n), "available"))
                                for p in exc.problems)) from None
        declared[n] = row["on_hand"] - row["reserved"]
    return [(code, declared[n]) for n, (code, _) in enumerate(items)]
