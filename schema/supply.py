"""GraphQL for supply (DOMAIN §6): suppliers, contracts, dropship declared stock, purchase
orders and inbound receipts. All back office (IsAdmin); the rules live in app/supply/. A
partner secret is write-only: types say only whether one is set.
"""

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.catalog.errors import CatalogError
from app.events import Event
from app.supply import purchasing, suppliers
from app.supply.errors import SupplyError
from app.supply.purchasing import Quantity
from app.supply.status import PurchaseOrderAction, PurchaseOrderStatus, SupplierAction, SupplierStatus
from schema.catalog.setup_types import StockLevel, Warehouse
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin
from schema.scalars import Money

SupplyUserError = user_error_type("Supply", SupplyError, CatalogError)
strawberry.enum(SupplierStatus, name="SupplierStatus")
strawberry.enum(PurchaseOrderStatus, name="PurchaseOrderStatus")


@strawberry.enum(description="STOCK sells to the platform ahead (purchase orders); DROPSHIP ships the platform's "
                             "orders from stock it declares; REALTIME_API sells virtual goods at purchase time.")
class SupplierKind(Enum):
    STOCK = "STOCK"
    DROPSHIP = "DROPSHIP"
    REALTIME_API = "REALTIME_API"


@strawberry.enum
class SettlementTerms(Enum):
    PREPAID = "PREPAID"
    ON_RECEIPT = "ON_RECEIPT"
    NET_30 = "NET_30"
    MONTHLY = "MONTHLY"


@strawberry.type
class SupplyStatusChange:
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "SupplyStatusChange":
        return cls(from_status=r["from_status"], to_status=r["to_status"], actor=r["actor"], reason=r["reason"],
                   at=r["at"])


@strawberry.type(description="A contract line: what the platform pays the supplier for one unit of a SKU.")
class SupplierContractLine:
    supplier_id: strawberry.ID
    sku_id: strawberry.ID
    purchase_price: Money
    supplier_sku_code: str
    declared_available: int | None = strawberry.field(
        description="DROPSHIP: the units the supplier declared and orders have not taken yet; null otherwise.")
    created_at: datetime

    @classmethod
    def from_row(cls, r: asyncpg.Record | dict) -> "SupplierContractLine":
        return cls(supplier_id=gid("Supplier", r["supplier_id"]), sku_id=gid("Sku", r["sku_id"]),
                   purchase_price=r["purchase_price"], supplier_sku_code=r["supplier_sku_code"],
                   declared_available=r.get("declared_available"), created_at=r["created_at"])


@strawberry.type
class Supplier:
    pk: strawberry.Private[int]
    id: strawberry.ID
    name: str
    kind: SupplierKind
    status: SupplierStatus
    contact_name: str
    contact_phone: str
    settlement_terms: SettlementTerms
    endpoint_url: str | None = strawberry.field(description="The partner system (DROPSHIP, REALTIME_API).")
    has_secret: bool = strawberry.field(description="The HMAC secret is write-only: only whether one is set.")
    created_at: datetime

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "Supplier":
        return cls(pk=r["id"], id=gid("Supplier", r["id"]), name=r["name"], kind=SupplierKind(r["kind"]),
                   status=SupplierStatus(r["status"]), contact_name=r["contact_name"],
                   contact_phone=r["contact_phone"], settlement_terms=SettlementTerms(r["settlement_terms"]),
                   endpoint_url=r["endpoint_url"], has_secret=r["secret"] is not None, created_at=r["created_at"])

    @strawberry.field(description="DROPSHIP: the warehouse holding its declared stock; null otherwise.")
    def warehouse(self, info: Info) -> Warehouse | None:
        return info.context.loaders.supplier_warehouse.load(self.pk)

    @strawberry.field
    async def history(self, info: Info) -> list[SupplyStatusChange]:
        return [SupplyStatusChange.from_row(r) for r in await info.context.loaders.supplier_history.load(self.pk)]

    @strawberry.field(description="The contract, by SKU.")
    async def contract_lines(self, info: Info, first: int = 50,
                             after: str | None = None) -> Connection[SupplierContractLine]:
        async def act(conn) -> Connection[SupplierContractLine]:
            rows = await suppliers.list_contract_lines(conn, self.pk, page_size(first), after_id(after))
            return connection_of(rows, first, after, SupplierContractLine.from_row, key=lambda r: r["sku_id"])
        return await query(info, act)


@strawberry.type
class PurchaseOrderLine:
    id: strawberry.ID
    sku_id: strawberry.ID
    supplier_sku_code: str
    unit_price: Money = strawberry.field(description="The contract's price when the order was created.")
    quantity_ordered: int
    quantity_received: int
    outstanding: int

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "PurchaseOrderLine":
        return cls(id=gid("PurchaseOrderLine", r["id"]), sku_id=gid("Sku", r["sku_id"]),
                   supplier_sku_code=r["supplier_sku_code"], unit_price=r["unit_price"],
                   quantity_ordered=r["quantity_ordered"], quantity_received=r["quantity_received"],
                   outstanding=r["quantity_ordered"] - r["quantity_received"])


@strawberry.type
class InboundReceiptLine:
    sku_id: strawberry.ID
    purchase_order_line_id: strawberry.ID
    quantity: int


@strawberry.type(description="One delivery counted in: which lines, how many, who, when.")
class InboundReceipt:
    pk: strawberry.Private[int]
    id: strawberry.ID
    warehouse_id: strawberry.ID
    received_by: str
    note: str
    received_at: datetime

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "InboundReceipt":
        return cls(pk=r["id"], id=gid("InboundReceipt", r["id"]), warehouse_id=gid("Warehouse", r["warehouse_id"]),
                   received_by=r["received_by"], note=r["note"], received_at=r["received_at"])

    @strawberry.field
    async def lines(self, info: Info) -> list[InboundReceiptLine]:
        return [InboundReceiptLine(sku_id=gid("Sku", r["sku_id"]),
                                   purchase_order_line_id=gid("PurchaseOrderLine", r["purchase_order_line_id"]),
                                   quantity=r["quantity"])
                for r in await info.context.loaders.inbound_receipt_lines.load(self.pk)]


@strawberry.type
class PurchaseOrder:
    pk: strawberry.Private[int]
    supplier_pk: strawberry.Private[int]
    id: strawberry.ID
    supplier_id: strawberry.ID
    warehouse_id: strawberry.ID
    reference: str | None
    note: str
    status: PurchaseOrderStatus
    total_amount: Money
    created_by: str
    created_at: datetime
    ordered_at: datetime | None
    received_at: datetime | None
    ended_at: datetime | None = strawberry.field(description="When it was cancelled or closed short.")

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> "PurchaseOrder":
        return cls(pk=r["id"], supplier_pk=r["supplier_id"], id=gid("PurchaseOrder", r["id"]),
                   supplier_id=gid("Supplier", r["supplier_id"]), warehouse_id=gid("Warehouse", r["warehouse_id"]),
                   reference=r["reference"], note=r["note"], status=PurchaseOrderStatus(r["status"]),
                   total_amount=r["total_amount"], created_by=r["created_by"], created_at=r["created_at"],
                   ordered_at=r["ordered_at"], received_at=r["received_at"], ended_at=r["ended_at"])

    @strawberry.field
    async def supplier(self, info: Info) -> Supplier:
        return Supplier.from_row(await info.context.loaders.supplier.load(self.supplier_pk))

    @strawberry.field
    async def lines(self, info: Info) -> list[PurchaseOrderLine]:
        return [PurchaseOrderLine.from_row(r) for r in await info.context.loaders.purchase_order_lines.load(self.pk)]

    @strawberry.field
    async def receipts(self, info: Info) -> list[InboundReceipt]:
        return [InboundReceipt.from_row(r) for r in await info.context.loaders.purchase_order_receipts.load(self.pk)]

    @strawberry.field
    async def history(self, info: Info) -> list[SupplyStatusChange]:
        return [SupplyStatusChange.from_row(r)
                for r in await info.context.loaders.purchase_order_history.load(self.pk)]


@strawberry.type(description="A supply event: PURCHASE_ORDER_<status>, INBOUND_RECEIVED, SUPPLIER_SUSPENDED, "
                             "SUPPLIER_REACTIVATED.")
class SupplyEvent:
    event_id: str
    type: str
    purchase_order_id: strawberry.ID | None
    supplier_id: strawberry.ID | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "SupplyEvent":
        return cls(event_id=str(ev.id), type=ev.type, purchase_order_id=gid("PurchaseOrder",
                                                                            ev.payload.get("purchase_order_id")),
                   supplier_id=gid("Supplier", ev.payload.get("supplier_id")), payload=JSON(ev.payload),
                   created_at=ev.created_at)


# ---------------------------------------------------------------- inputs and payloads


@strawberry.input(description="endpointUrl + secret for DROPSHIP and REALTIME_API only (http(s)://… or "
                              "sandbox://fulfilment|topup/<code>); deliveryRegionCodes for DROPSHIP only.")
class CreateSupplierInput:
    name: str
    kind: SupplierKind
    contact_name: str = ""
    contact_phone: str = ""
    settlement_terms: SettlementTerms = SettlementTerms.MONTHLY
    endpoint_url: str | None = None
    secret: str | None = None
    delivery_region_codes: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Null keeps a field; the kind never changes.")
class UpdateSupplierInput:
    id: strawberry.ID
    name: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    settlement_terms: SettlementTerms | None = None
    endpoint_url: str | None = None
    secret: str | None = None
    delivery_region_codes: list[str] | None = None


@strawberry.input
class SupplierStatusInput:
    supplier_id: strawberry.ID
    reason: str | None = None


@strawberry.input
class SetSupplierSkuInput:
    supplier_id: strawberry.ID
    sku_id: strawberry.ID
    purchase_price: Money
    supplier_sku_code: str


@strawberry.input
class RemoveSupplierSkuInput:
    supplier_id: strawberry.ID
    sku_id: strawberry.ID


@strawberry.input
class DeclareSupplierStockInput:
    supplier_id: strawberry.ID
    sku_id: strawberry.ID
    available: int


@strawberry.input
class SkuQuantityInput:
    sku_id: strawberry.ID
    quantity: int


@strawberry.input
class CreatePurchaseOrderInput:
    supplier_id: strawberry.ID
    warehouse_id: strawberry.ID
    lines: list[SkuQuantityInput]
    reference: str | None = None
    note: str = ""


@strawberry.input
class PurchaseOrderActionInput:
    purchase_order_id: strawberry.ID
    reason: str | None = None


@strawberry.input
class ReceivePurchaseOrderInput:
    purchase_order_id: strawberry.ID
    lines: list[SkuQuantityInput]
    note: str = ""


@strawberry.type
class SupplierPayload:
    supplier: Supplier | None = None
    user_errors: list[SupplyUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class SupplierSkuPayload:
    contract_line: SupplierContractLine | None = None
    user_errors: list[SupplyUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class RemoveSupplierSkuPayload:
    removed: bool = False
    user_errors: list[SupplyUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class DeclareSupplierStockPayload:
    stock: StockLevel | None = None
    user_errors: list[SupplyUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type
class PurchaseOrderPayload:
    purchase_order: PurchaseOrder | None = None
    receipt: InboundReceipt | None = strawberry.field(default=None, description="receivePurchaseOrder: the receipt.")
    user_errors: list[SupplyUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


# ---------------------------------------------------------------- resolvers


def _quantities(lines: list[SkuQuantityInput]) -> list[Quantity]:
    return [Quantity(input_pk("Sku", line.sku_id, "lines", str(n), "skuId"), line.quantity)
            for n, line in enumerate(lines)]


async def _supplier_payload(info: Info, supplier_id: int) -> SupplierPayload:
    row = await query(info, lambda conn: suppliers.get_supplier(conn, supplier_id))
    return SupplierPayload(supplier=Supplier.from_row(row))


async def _po_payload(info: Info, po_id: int, receipt_id: int | None = None) -> PurchaseOrderPayload:
    async def act(conn) -> tuple[asyncpg.Record, asyncpg.Record | None]:
        po = await purchasing.get_purchase_order(conn, po_id)
        receipt = None if receipt_id is None else await purchasing.get_receipt(conn, receipt_id)
        return po, receipt
    po, receipt = await query(info, act)
    return PurchaseOrderPayload(purchase_order=PurchaseOrder.from_row(po),
                                receipt=None if receipt is None else InboundReceipt.from_row(receipt))


@strawberry.type
class SupplyQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="Suppliers, newest first.")
    async def suppliers(self, info: Info, kind: SupplierKind | None = None, status: SupplierStatus | None = None,
                        first: int = 20, after: str | None = None) -> Connection[Supplier]:
        async def act(conn) -> Connection[Supplier]:
            rows = await suppliers.list_suppliers(conn, kind.value if kind else None, status.value if status else None,
                                                  page_size(first), after_id(after))
            return connection_of(rows, first, after, Supplier.from_row)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin])
    async def supplier(self, info: Info, id: strawberry.ID) -> Supplier:
        return Supplier.from_row(await query(info, lambda conn: suppliers.get_supplier(
            conn, input_pk("Supplier", id, "id"))))

    @strawberry.field(permission_classes=[IsAdmin], description="Purchase orders, newest first.")
    async def purchase_orders(self, info: Info, supplier_id: strawberry.ID | None = None,
                              status: PurchaseOrderStatus | None = None, first: int = 20,
                              after: str | None = None) -> Connection[PurchaseOrder]:
        async def act(conn) -> Connection[PurchaseOrder]:
            rows = await purchasing.list_purchase_orders(
                conn, optional_pk("Supplier", supplier_id, "supplierId"), status.value if status else None,
                page_size(first), after_id(after))
            return connection_of(rows, first, after, PurchaseOrder.from_row)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin])
    async def purchase_order(self, info: Info, id: strawberry.ID) -> PurchaseOrder:
        return PurchaseOrder.from_row(await query(info, lambda conn: purchasing.get_purchase_order(
            conn, input_pk("PurchaseOrder", id, "id"))))


@strawberry.type
class SupplyMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Onboard a supplier; a DROPSHIP one gets its own warehouse (the regions it ships to) at once."))
    async def create_supplier(self, info: Info, input: CreateSupplierInput) -> SupplierPayload:
        async def act(conn, who) -> int:
            row = await suppliers.create_supplier(
                conn, who.subject, name=input.name, kind=input.kind.value, contact_name=input.contact_name,
                contact_phone=input.contact_phone, settlement_terms=input.settlement_terms.value,
                endpoint_url=input.endpoint_url, secret=input.secret,
                delivery_region_codes=input.delivery_region_codes)
            return row["id"]
        return await mutate(info, SupplierPayload, act, lambda pk: _supplier_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_supplier(self, info: Info, input: UpdateSupplierInput) -> SupplierPayload:
        async def act(conn, who) -> int:
            pk = input_pk("Supplier", input.id, "id")
            await suppliers.update_supplier(
                conn, pk, name=input.name, contact_name=input.contact_name, contact_phone=input.contact_phone,
                settlement_terms=input.settlement_terms.value if input.settlement_terms else None,
                endpoint_url=input.endpoint_url, secret=input.secret,
                delivery_region_codes=input.delivery_region_codes)
            return pk
        return await mutate(info, SupplierPayload, act, lambda pk: _supplier_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Suspend a supplier: no new purchase orders; a DROPSHIP supplier's declared stock stops selling."))
    async def suspend_supplier(self, info: Info, input: SupplierStatusInput) -> SupplierPayload:
        return await _supplier_status(info, input, SupplierAction.SUSPEND)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def reactivate_supplier(self, info: Info, input: SupplierStatusInput) -> SupplierPayload:
        return await _supplier_status(info, input, SupplierAction.REACTIVATE)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Set a contract line: the purchase price of a platform SKU fulfilled the supplier's way, and its code."))
    async def set_supplier_sku(self, info: Info, input: SetSupplierSkuInput) -> SupplierSkuPayload:
        return await mutate(info, SupplierSkuPayload, lambda conn, _: suppliers.set_contract_line(
            conn, input_pk("Supplier", input.supplier_id, "supplierId"), input_pk("Sku", input.sku_id, "skuId"),
            input.purchase_price, input.supplier_sku_code),
            lambda row: SupplierSkuPayload(contract_line=SupplierContractLine.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "End a contract line; a DROPSHIP supplier's declared stock of the SKU goes to zero."))
    async def remove_supplier_sku(self, info: Info, input: RemoveSupplierSkuInput) -> RemoveSupplierSkuPayload:
        async def act(conn, _) -> bool:
            await suppliers.remove_contract_line(conn, input_pk("Supplier", input.supplier_id, "supplierId"),
                                                 input_pk("Sku", input.sku_id, "skuId"))
            return True
        return await mutate(info, RemoveSupplierSkuPayload, act, lambda ok: RemoveSupplierSkuPayload(removed=ok))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "A DROPSHIP supplier's available stock of a contracted SKU: what is left to sell becomes exactly "
        "`available` (orders' reservations stay held)."))
    async def declare_supplier_stock(self, info: Info, input: DeclareSupplierStockInput) -> DeclareSupplierStockPayload:
        return await mutate(info, DeclareSupplierStockPayload, lambda conn, _: suppliers.declare_stock(
            conn, input_pk("Supplier", input.supplier_id, "supplierId"), input_pk("Sku", input.sku_id, "skuId"),
            input.available), lambda row: DeclareSupplierStockPayload(stock=StockLevel.from_row(row)))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "A DRAFT purchase order to an active STOCK supplier, into a platform warehouse; unit prices from the contract."))
    async def create_purchase_order(self, info: Info, input: CreatePurchaseOrderInput) -> PurchaseOrderPayload:
        async def act(conn, who) -> int:
            row = await purchasing.create_purchase_order(
                conn, who.subject, input_pk("Supplier", input.supplier_id, "supplierId"),
                input_pk("Warehouse", input.warehouse_id, "warehouseId"), _quantities(input.lines),
                input.reference, input.note)
            return row["id"]
        return await mutate(info, PurchaseOrderPayload, act, lambda pk: _po_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description="DRAFT → ORDERED (the supplier must be active).")
    async def submit_purchase_order(self, info: Info, input: PurchaseOrderActionInput) -> PurchaseOrderPayload:
        return await _po_change(info, input, PurchaseOrderAction.SUBMIT)

    @strawberry.mutation(permission_classes=[IsAdmin], description="DRAFT or ORDERED → CANCELLED.")
    async def cancel_purchase_order(self, info: Info, input: PurchaseOrderActionInput) -> PurchaseOrderPayload:
        return await _po_change(info, input, PurchaseOrderAction.CANCEL)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "PARTIALLY_RECEIVED → CLOSED: closed short, the outstanding units will not come."))
    async def close_purchase_order(self, info: Info, input: PurchaseOrderActionInput) -> PurchaseOrderPayload:
        return await _po_change(info, input, PurchaseOrderAction.CLOSE)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Count in a delivery (all or part of what is outstanding): an inbound receipt, the warehouse's stock "
        "raised in the same transaction, status PARTIALLY_RECEIVED or RECEIVED."))
    async def receive_purchase_order(self, info: Info, input: ReceivePurchaseOrderInput) -> PurchaseOrderPayload:
        async def act(conn, who) -> tuple[int, int]:
            pk = input_pk("PurchaseOrder", input.purchase_order_id, "purchaseOrderId")
            return pk, await purchasing.receive(conn, who.subject, pk, _quantities(input.lines), input.note)
        return await mutate(info, PurchaseOrderPayload, act, lambda ids: _po_payload(info, *ids))


async def _supplier_status(info: Info, input: SupplierStatusInput, action: SupplierAction) -> SupplierPayload:
    async def act(conn, who) -> int:
        pk = input_pk("Supplier", input.supplier_id, "supplierId")
        await suppliers.change_supplier_status(conn, who.subject, pk, action, input.reason)
        return pk
    return await mutate(info, SupplierPayload, act, lambda pk: _supplier_payload(info, pk))


async def _po_change(info: Info, input: PurchaseOrderActionInput, action: PurchaseOrderAction) -> PurchaseOrderPayload:
    async def act(conn, who) -> int:
        pk = input_pk("PurchaseOrder", input.purchase_order_id, "purchaseOrderId")
        await purchasing.change_purchase_order(conn, who.subject, pk, action, input.reason)
        return pk
    return await mutate(info, PurchaseOrderPayload, act, lambda pk: _po_payload(info, pk))


@strawberry.type
class SupplySubscription:
    @strawberry.subscription(permission_classes=[IsAdmin], description=(
        "Live supply events (purchase orders, receipts, supplier status). At most once: refetch on (re)subscribing."))
    async def supply_events(self, info: Info) -> AsyncGenerator[SupplyEvent, None]:
        async for ev in live_events(info, "supply"):
            yield SupplyEvent.from_event(ev)
