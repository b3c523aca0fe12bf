"""Supply's status fields as data (the shared app/state_machine.py helper).

Supplier: ACTIVE ⇄ SUSPENDED. Purchase order: DRAFT → ORDERED (submitted to the supplier) →
PARTIALLY_RECEIVED → RECEIVED as receipts count goods in; DRAFT/ORDERED → CANCELLED (nothing
received yet); PARTIALLY_RECEIVED → CLOSED, closed short: what is still missing will not come,
and no receipt is taken any more. Every move writes history and an event on topic "supply".
"""

from enum import StrEnum

from app.state_machine import StateMachine


class SupplierStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class SupplierAction(StrEnum):
    SUSPEND = "SUSPEND"
    REACTIVATE = "REACTIVATE"


SUPPLIER_MACHINE: StateMachine[SupplierStatus, SupplierAction] = StateMachine(
    noun="supplier", table="suppliers", history_table="supplier_status_history", history_key="supplier_id",
    topic="supply", field="supplierId",
    transitions={SupplierAction.SUSPEND: (frozenset({SupplierStatus.ACTIVE}), SupplierStatus.SUSPENDED),
                 SupplierAction.REACTIVATE: (frozenset({SupplierStatus.SUSPENDED}), SupplierStatus.ACTIVE)},
    events={SupplierAction.SUSPEND: "SUPPLIER_SUSPENDED", SupplierAction.REACTIVATE: "SUPPLIER_REACTIVATED"})


class PurchaseOrderStatus(StrEnum):
    DRAFT = "DRAFT"
    ORDERED = "ORDERED"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"
    CANCELLED = "CANCELLED"
    CLOSED = "CLOSED"


class PurchaseOrderAction(StrEnum):
    SUBMIT = "SUBMIT"
    RECEIVE_PART = "RECEIVE_PART"
    RECEIVE_ALL = "RECEIVE_ALL"
    CANCEL = "CANCEL"
    CLOSE = "CLOSE"


P, PA = PurchaseOrderStatus, PurchaseOrderAction
PO_TRANSITIONS: dict[PurchaseOrderAction, tuple[frozenset[PurchaseOrderStatus], PurchaseOrderStatus]] = {
    PA.SUBMIT: (frozenset({P.DRAFT}), P.ORDERED),
    PA.RECEIVE_PART: (frozenset({P.ORDERED}), P.PARTIALLY_RECEIVED),
    PA.RECEIVE_ALL: (frozenset({P.ORDERED, P.PARTIALLY_RECEIVED}), P.RECEIVED),
    PA.CANCEL: (frozenset({P.DRAFT, P.ORDERED}), P.CANCELLED),
    PA.CLOSE: (frozenset({P.PARTIALLY_RECEIVED}), P.CLOSED),
}
RECEIVABLE = frozenset({P.ORDERED, P.PARTIALLY_RECEIVED})

PURCHASE_ORDER_MACHINE: StateMachine[PurchaseOrderStatus, PurchaseOrderAction] = StateMachine(
    noun="purchase order", table="purchase_orders", history_table="purchase_order_status_history",
    history_key="purchase_order_id", topic="supply", transitions=PO_TRANSITIONS, field="purchaseOrderId",
    events={a: f"PURCHASE_ORDER_{target.value}" for a, (_, target) in PO_TRANSITIONS.items()})
