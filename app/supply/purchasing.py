"""Purchase orders to STOCK suppliers and the receipts that count their goods in (DOMAIN §6).

A purchase order names its supplier, the platform warehouse the goods go to and its lines (SKUs
of the supplier's contract, the unit price copied from the contract at creation). Receiving
locks the purchase order first, so two receipts of one order queue behind each other; each line
is raised by a conditional statement (`quantity_received + n <= quantity_ordered`, also a
CHECK), so nothing is ever received twice over. The receipt, the warehouse's stock (app/catalog
`receive_stock`, which fires the back-in-stock events) and the status move share a transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from app.catalog import warehouses
from app.catalog.errors import CatalogError
from app.catalog.lifecycle import PLATFORM_MERCHANT_ID
from app.catalog.warehouses import MAX_STOCK
from app.db import grouped
from app.errors import CommonError, DomainError, NotFound, Problem
from app.events import emit
from app.supply.errors import SupplyError
from app.supply.status import (
    PURCHASE_ORDER_MACHINE,
    RECEIVABLE,
    PurchaseOrderAction,
    PurchaseOrderStatus,
)
from app.supply.suppliers import get_supplier

MAX_LINES = 100


@dataclass(frozen=True)
class Quantity:
    sku_id: int
    quantity: int


def _check_quantities(items: Sequence[Quantity], field: str) -> None:
    """1..MAX_LINES items, each SKU once, each quantity 1..MAX_STOCK; every problem at once."""
    if not items:
        raise DomainError.of(CommonError.INVALID_VALUE, "give at least one line", field)
    if len(items) > MAX_LINES:
        raise DomainError.of(CommonError.TOO_MANY, f"at most {MAX_LINES} lines", field)
    problems, seen = [], set()
    for i, item in enumerate(items):
        if not 1 <= item.quantity <= MAX_STOCK:
            problems.append(Problem(CatalogError.INVALID_QUANTITY, f"a quantity of 1 to {MAX_STOCK:,}",
                                    (field, str(i), "quantity")))
        if item.sku_id in seen:
            problems.append(Problem(SupplyError.DUPLICATE_LINE, "the SKU is given twice", (field, str(i), "skuId")))
        seen.add(item.sku_id)
    if problems:
        raise DomainError(*problems)


def _text(value: str, limit: int, field: str) -> str:
    value = value.strip()
    if len(value) > limit or "\x00" in value:
        raise DomainError.of(CommonError.INVALID_VALUE, f"at most {limit} characters", field)
    return value


async def get_purchase_order(conn: asyncpg.Connection, po_id: int, *field: str, lock: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM purchase_orders WHERE id = $1" + (" FOR UPDATE" if lock else ""), po_id)
    if row is None:
        raise NotFound.of(CommonError.NOT_FOUND, "purchase order not found", *(field or ("id",)))
    return row


async def create_purchase_order(conn: asyncpg.Connection, actor: str, supplier_id: int, warehouse_id: int,
                                items: Sequence[Quantity], reference: str | None = None,
                                note: str = "") -> asyncpg.Record:
    """A DRAFT purchase order to an active STOCK supplier, into a platform warehouse."""
    supplier = await get_supplier(conn, supplier_id, "supplierId")
    if supplier["kind"] != "STOCK":
        raise DomainError.of(SupplyError.WRONG_SUPPLIER_KIND, "purchase orders go to STOCK suppliers", "supplierId")
    if supplier["status"] != "ACTIVE":
        raise DomainError.of(SupplyError.SUPPLIER_SUSPENDED, "a suspended supplier takes no new purchase orders",
                             "supplierId")
    warehouse = await warehouses.get_warehouse(conn, warehouse_id)
    if warehouse is None:
        raise NotFound.of(CommonError.NOT_FOUND, "warehouse not found", "warehouseId")
    if warehouse["merchant_id"] != PLATFORM_MERCHANT_ID or warehouse["supplier_id"] is not None:
        raise DomainError.of(SupplyError.NOT_PLATFORM_WAREHOUSE, "goods are received into the platform's own "
                             "warehouses", "warehouseId")
    _check_quantities(items, "lines")
    terms = {r["sku_id"]: r for r in await conn.fetch(
        "SELECT * FROM supplier_skus WHERE supplier_id = $1 AND sku_id = ANY($2::bigint[])",
        supplier_id, [i.sku_id for i in items])}
    missing = [Problem(SupplyError.NOT_CONTRACTED, "the SKU has no contract line with this supplier",
                       ("lines", str(n), "skuId")) for n, i in enumerate(items) if i.sku_id not in terms]
    if missing:
        raise DomainError(*missing)
    if reference is not None:
        reference = _text(reference, 64, "reference")
        if not reference:
            raise DomainError.of(CommonError.INVALID_VALUE, "a reference of 1 to 64 characters", "reference")
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM purchase_orders WHERE reference = $1)", reference):
            raise DomainError.of(CommonError.INVALID_VALUE, f"reference '{reference}' is taken", "reference")
    total = sum(i.quantity * terms[i.sku_id]["purchase_price"] for i in items)
    po = await conn.fetchrow(
        "INSERT INTO purchase_orders (supplier_id, warehouse_id, reference, note, total_amount, created_by)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        supplier_id, warehouse_id, reference, _text(note, 500, "note"), total, actor)
    await conn.execute(
        "INSERT INTO purchase_order_lines (purchase_order_id, sku_id, supplier_sku_code, unit_price, quantity_ordered)"
        " SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[])", po["id"],
        [i.sku_id for i in items], [terms[i.sku_id]["supplier_sku_code"] for i in items],
        [terms[i.sku_id]["purchase_price"] for i in items], [i.quantity for i in items])
    await conn.execute("INSERT INTO purchase_order_status_history (purchase_order_id, from_status, to_status, actor)"
                       " VALUES ($1, NULL, 'DRAFT', $2)", po["id"], actor)
    await emit(conn, "supply", "PURCHASE_ORDER_CREATED",
               {"purchase_order_id": po["id"], "supplier_id": supplier_id, "warehouse_id": warehouse_id,
                "total_amount": total, "to": "DRAFT", "actor": actor})
    return po


async def change_purchase_order(conn: asyncpg.Connection, actor: str, po_id: int, action: PurchaseOrderAction,
                                reason: str | None = None) -> None:
    """SUBMIT (to an active supplier), CANCEL before anything is received, CLOSE (short) a
    partly received one."""
    po = await get_purchase_order(conn, po_id, "purchaseOrderId", lock=True)
    PURCHASE_ORDER_MACHINE.target(PurchaseOrderStatus(po["status"]), action)
    if action is PurchaseOrderAction.SUBMIT:
        supplier = await get_supplier(conn, po["supplier_id"], "purchaseOrderId")
        if supplier["status"] != "ACTIVE":
            raise DomainError.of(SupplyError.SUPPLIER_SUSPENDED, "a suspended supplier takes no new purchase orders",
                                 "purchaseOrderId")
    sets = "ordered_at = now()" if action is PurchaseOrderAction.SUBMIT else "ended_at = now()"
    await PURCHASE_ORDER_MACHINE.move(conn, [po_id], action, actor=actor,
                                      reason=None if reason is None else _text(reason, 500, "reason") or None,
                                      sets=sets, payload=_po_payload)


def _po_payload(r: asyncpg.Record) -> dict:
    return {"supplier_id": r["supplier_id"], "warehouse_id": r["warehouse_id"]}


async def receive(conn: asyncpg.Connection, actor: str, po_id: int, items: Sequence[Quantity],
                  note: str = "") -> int:
    """Count in a delivery of an ORDERED or PARTIALLY_RECEIVED purchase order: an inbound receipt,
    the warehouse's stock raised by exactly what was counted, and the order moved to RECEIVED when
    nothing is outstanding (else PARTIALLY_RECEIVED). Returns the receipt id."""
    po = await get_purchase_order(conn, po_id, "purchaseOrderId", lock=True)
    if po["status"] not in RECEIVABLE:
        raise DomainError.of(CommonError.INVALID_TRANSITION,
                             f"cannot receive a purchase order that is {po['status']}", "purchaseOrderId")
    _check_quantities(items, "lines")
    lines = {r["sku_id"]: r for r in await conn.fetch(
        "SELECT * FROM purchase_order_lines WHERE purchase_order_id = $1", po_id)}
    problems = []
    for n, item in enumerate(items):
        line = lines.get(item.sku_id)
        if line is None:
            problems.append(Problem(SupplyError.NOT_CONTRACTED, "the SKU is not on this purchase order",
                                    ("lines", str(n), "skuId")))
        elif item.quantity > line["quantity_ordered"] - line["quantity_received"]:
            problems.append(Problem(SupplyError.OVER_RECEIVED,
                                    f"{line['quantity_ordered'] - line['quantity_received']} units are outstanding",
                                    ("lines", str(n), "quantity")))
    if problems:
        raise DomainError(*problems)
    for item in sorted(items, key=lambda i: i.sku_id):
        if await conn.fetchval(
                "UPDATE purchase_order_lines SET quantity_received = quantity_received + $2"
                " WHERE id = $1 AND quantity_received + $2 <= quantity_ordered RETURNING 1",
                lines[item.sku_id]["id"], item.quantity) is None:  # the lock makes this unreachable; the rule holds anyway
            raise DomainError.of(SupplyError.OVER_RECEIVED, "more than is outstanding", "lines")
    receipt_id = await conn.fetchval(
        "INSERT INTO inbound_receipts (purchase_order_id, warehouse_id, received_by, note) VALUES ($1, $2, $3, $4)"
        " RETURNING id", po_id, po["warehouse_id"], actor, _text(note, 500, "note"))
    await conn.execute(
        "INSERT INTO inbound_receipt_lines (receipt_id, purchase_order_line_id, sku_id, quantity)"
        " SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[])", receipt_id,
        [lines[i.sku_id]["id"] for i in items], [i.sku_id for i in items], [i.quantity for i in items])
    await warehouses.receive_stock(conn, po["warehouse_id"], [(i.sku_id, i.quantity) for i in items], "lines")
    await emit(conn, "supply", "INBOUND_RECEIVED",
               {"purchase_order_id": po_id, "supplier_id": po["supplier_id"], "receipt_id": receipt_id,
                "warehouse_id": po["warehouse_id"],
                "lines": [{"sku_id": i.sku_id, "quantity": i.quantity} for i in items], "actor": actor})
    outstanding = await conn.fetchval(
        "SELECT coalesce(sum(quantity_ordered - quantity_received), 0) FROM purchase_order_lines"
        " WHERE purchase_order_id = $1", po_id)
    if outstanding == 0:
        await PURCHASE_ORDER_MACHINE.move(conn, [po_id], PurchaseOrderAction.RECEIVE_ALL, actor=actor,
                                          sets="received_at = now()", payload=_po_payload)
    elif po["status"] == PurchaseOrderStatus.ORDERED:
        await PURCHASE_ORDER_MACHINE.move(conn, [po_id], PurchaseOrderAction.RECEIVE_PART, actor=actor,
                                          payload=_po_payload)
    return receipt_id


# ---- reads ------------------------------------------------------------------------------

async def get_receipt(conn: asyncpg.Connection, receipt_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM inbound_receipts WHERE id = $1", receipt_id)


async def list_purchase_orders(conn: asyncpg.Connection, supplier_id: int | None, status: str | None, first: int,
                               after_id: int | None) -> list[asyncpg.Record]:
    """Up to `first + 1` purchase orders, newest first, after purchase order `after_id`."""
    return await conn.fetch(
        "SELECT * FROM purchase_orders WHERE ($1::bigint IS NULL OR supplier_id = $1)"
        " AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        supplier_id, status, after_id, first + 1)


async def lines_by_po_ids(db, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM purchase_order_lines WHERE purchase_order_id = ANY($1::bigint[])"
                          " ORDER BY id", list(ids))
    return grouped(rows, ids, "purchase_order_id")


async def receipts_by_po_ids(db, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM inbound_receipts WHERE purchase_order_id = ANY($1::bigint[]) ORDER BY id",
                          list(ids))
    return grouped(rows, ids, "purchase_order_id")


async def receipt_lines_by_receipt_ids(db, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM inbound_receipt_lines WHERE receipt_id = ANY($1::bigint[])"
                          " ORDER BY purchase_order_line_id", list(ids))
    return grouped(rows, ids, "receipt_id")


async def history_by_po_ids(db, ids: Sequence[int]) -> list[list[asyncpg.Record]]:
    rows = await db.fetch("SELECT * FROM purchase_order_status_history WHERE purchase_order_id = ANY($1::bigint[])"
                          " ORDER BY id", list(ids))
    return grouped(rows, ids, "purchase_order_id")
