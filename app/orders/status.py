"""Order status (DOMAIN §5) as data: the system status machine (`ORDER_MACHINE`, the shared
app/state_machine.py helper), the sub-statuses each transition sets, and the buyer-facing
status computed from them.

PENDING_PAYMENT → PAID → SHIPPED → RECEIVED → COMPLETED (virtual goods: PAID → RECEIVED once
the supplier recharged the account, logistics SIGNED); CANCELLED before payment (buyer or
payment timeout); CLOSED once fully refunded. A transition not in `TRANSITIONS` is refused with
INVALID_TRANSITION; `ORDER_MACHINE.move` applies the allowed ones with one guarded UPDATE, a
history row and an outbox event ORDER_<status> per order.
"""

from enum import StrEnum

from app.state_machine import StateMachine


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    CLOSED = "CLOSED"


class OrderEvent(StrEnum):
    """What happened to an order; names the outbox event ORDER_<event>."""
    PAY = "PAID"
    CANCEL = "CANCELLED"
    SHIP = "SHIPPED"
    RECEIVE = "RECEIVED"
    DELIVER = "DELIVERED"     # a top-up recharged: received without shipping (event ORDER_RECEIVED)
    COMPLETE = "COMPLETED"
    CLOSE = "CLOSED"


class BuyerStatus(StrEnum):
    """What the buyer's order tabs show."""
    TO_PAY = "TO_PAY"              # 待支付
    TO_SHIP = "TO_SHIP"            # 待发货
    TO_RECEIVE = "TO_RECEIVE"      # 待收货
    TO_REVIEW = "TO_REVIEW"        # 待评价
    DONE = "DONE"                  # 已完成
    AFTER_SALE = "AFTER_SALE"      # 售后中
    CANCELLED = "CANCELLED"        # 已取消
    CLOSED = "CLOSED"              # 已关闭


S, E = OrderStatus, OrderEvent
TRANSITIONS: dict[OrderEvent, tuple[frozenset[OrderStatus], OrderStatus]] = {
    E.PAY: (frozenset({S.PENDING_PAYMENT}), S.PAID),
    E.CANCEL: (frozenset({S.PENDING_PAYMENT}), S.CANCELLED),
    E.SHIP: (frozenset({S.PAID}), S.SHIPPED),
    E.RECEIVE: (frozenset({S.SHIPPED}), S.RECEIVED),
    E.DELIVER: (frozenset({S.PAID}), S.RECEIVED),
    E.COMPLETE: (frozenset({S.RECEIVED}), S.COMPLETED),
    E.CLOSE: (frozenset({S.PAID, S.SHIPPED, S.RECEIVED}), S.CLOSED),
}

# sub-statuses an event sets (column → value)
SUB_STATUSES: dict[OrderEvent, dict[str, str]] = {
    E.PAY: {"payment_status": "PAID"},
    E.SHIP: {"logistics_status": "SHIPPED"},
    E.RECEIVE: {"logistics_status": "SIGNED"},
    E.DELIVER: {"logistics_status": "SIGNED"},
    E.CLOSE: {"payment_status": "REFUNDED", "aftersale_status": "DONE"},
}

BUYER_LABELS = {
    BuyerStatus.TO_PAY: "待支付", BuyerStatus.TO_SHIP: "待发货", BuyerStatus.TO_RECEIVE: "待收货",
    BuyerStatus.TO_REVIEW: "待评价", BuyerStatus.DONE: "已完成", BuyerStatus.AFTER_SALE: "售后中",
    BuyerStatus.CANCELLED: "已取消", BuyerStatus.CLOSED: "已关闭",
}


ORDER_MACHINE: StateMachine[OrderStatus, OrderEvent] = StateMachine(
    noun="order", table="orders", history_table="order_status_history", history_key="order_id", topic="order",
    transitions=TRANSITIONS, field="orderId")


def buyer_status(status: OrderStatus, review_status: str, aftersale_status: str) -> BuyerStatus:
    """An open after-sale case shows first; a received order waits for its review."""
    if aftersale_status == "IN_PROGRESS" and status not in (S.CANCELLED, S.CLOSED):
        return BuyerStatus.AFTER_SALE
    return {
        S.PENDING_PAYMENT: BuyerStatus.TO_PAY,
        S.PAID: BuyerStatus.TO_SHIP,
        S.SHIPPED: BuyerStatus.TO_RECEIVE,
        S.RECEIVED: BuyerStatus.TO_REVIEW if review_status == "PENDING" else BuyerStatus.DONE,
        S.COMPLETED: BuyerStatus.DONE,
        S.CANCELLED: BuyerStatus.CANCELLED,
        S.CLOSED: BuyerStatus.CLOSED,
    }[status]


# the SQL condition of each buyer tab, over `orders o` (used for lists and counts)
BUYER_TAB_SQL: dict[BuyerStatus, str] = {
    BuyerStatus.AFTER_SALE: "o.aftersale_status = 'IN_PROGRESS' AND o.status NOT IN ('CANCELLED', 'CLOSED')",
    BuyerStatus.TO_PAY: "o.status = 'PENDING_PAYMENT'",
    BuyerStatus.TO_SHIP: "o.status = 'PAID' AND o.aftersale_status <> 'IN_PROGRESS'",
    BuyerStatus.TO_RECEIVE: "o.status = 'SHIPPED' AND o.aftersale_status <> 'IN_PROGRESS'",
    BuyerStatus.TO_REVIEW: "o.status = 'RECEIVED' AND o.review_status = 'PENDING' AND o.aftersale_status <> 'IN_PROGRESS'",
    BuyerStatus.DONE: "(o.status = 'COMPLETED' OR (o.status = 'RECEIVED' AND o.review_status = 'DONE'))"
                      " AND o.aftersale_status <> 'IN_PROGRESS'",
    BuyerStatus.CANCELLED: "o.status = 'CANCELLED'",
    BuyerStatus.CLOSED: "o.status = 'CLOSED'",
}
