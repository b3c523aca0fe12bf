"""After-sale status (DOMAIN §9) as data: the AFTER_SALE machine (app/state_machine.py); every
move writes a history row and an outbox event AFTER_SALE_<status> on topic "aftersale" carrying
the merchant, so the merchant's queue updates live."""

from enum import StrEnum

from app.state_machine import StateMachine


class AfterSaleKind(StrEnum):
    REFUND_ONLY = "REFUND_ONLY"        # 仅退款
    RETURN_REFUND = "RETURN_REFUND"    # 退货退款
    EXCHANGE = "EXCHANGE"              # 换货


class AfterSaleReason(StrEnum):
    """The buyer's reason; OTHER needs the free text."""
    NOT_AS_DESCRIBED = "NOT_AS_DESCRIBED"
    QUALITY_PROBLEM = "QUALITY_PROBLEM"
    DAMAGED = "DAMAGED"
    WRONG_ITEM = "WRONG_ITEM"
    MISSING_PARTS = "MISSING_PARTS"
    WRONG_SIZE = "WRONG_SIZE"
    NO_LONGER_NEEDED = "NO_LONGER_NEEDED"
    NOT_RECEIVED = "NOT_RECEIVED"
    OTHER = "OTHER"


class AfterSaleStatus(StrEnum):
    REQUESTED = "REQUESTED"            # waiting for the merchant's (or the platform's) review
    APPROVED = "APPROVED"              # refund-only: leaving fulfilment; with a return: the buyer ships it back
    REJECTED = "REJECTED"              # the buyer may escalate to the platform
    ESCALATED = "ESCALATED"            # the platform decides
    RETURN_SHIPPED = "RETURN_SHIPPED"  # the merchant inspects the return
    REFUNDING = "REFUNDING"            # the refund is with the payment provider
    RESHIPPING = "RESHIPPING"          # the exchange's new goods are on their way
    REFUNDED = "REFUNDED"
    COMPLETED = "COMPLETED"            # exchange received
    CANCELLED = "CANCELLED"            # by the buyer
    CLOSED = "CLOSED"                  # timers, a rejection that stands, a withdrawal too late


class AfterSaleAction(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    ESCALATE = "ESCALATE"
    OVERRULE = "OVERRULE"              # the platform decides for the buyer: back to the review's yes
    SHIP_RETURN = "SHIP_RETURN"
    REFUND = "REFUND"
    RESHIP = "RESHIP"
    SETTLE = "SETTLE"                  # the refund succeeded
    RECEIVE_EXCHANGE = "RECEIVE_EXCHANGE"
    CANCEL = "CANCEL"
    CLOSE = "CLOSE"


S, A = AfterSaleStatus, AfterSaleAction
FINAL = frozenset({S.REFUNDED, S.COMPLETED, S.CANCELLED, S.CLOSED})
OPEN = frozenset(set(S) - FINAL)
TRANSITIONS: dict[AfterSaleAction, tuple[frozenset[AfterSaleStatus], AfterSaleStatus]] = {
    A.APPROVE: (frozenset({S.REQUESTED}), S.APPROVED),
    A.REJECT: (frozenset({S.REQUESTED, S.RETURN_SHIPPED}), S.REJECTED),
    A.ESCALATE: (frozenset({S.REJECTED}), S.ESCALATED),
    A.OVERRULE: (frozenset({S.ESCALATED}), S.APPROVED),
    A.SHIP_RETURN: (frozenset({S.APPROVED}), S.RETURN_SHIPPED),
    A.REFUND: (frozenset({S.APPROVED, S.RETURN_SHIPPED, S.ESCALATED}), S.REFUNDING),
    A.RESHIP: (frozenset({S.RETURN_SHIPPED, S.ESCALATED}), S.RESHIPPING),
    A.SETTLE: (frozenset({S.REFUNDING}), S.REFUNDED),
    A.RECEIVE_EXCHANGE: (frozenset({S.RESHIPPING}), S.COMPLETED),
    A.CANCEL: (frozenset({S.REQUESTED, S.APPROVED, S.REJECTED}), S.CANCELLED),
    A.CLOSE: (frozenset({S.REQUESTED, S.APPROVED, S.REJECTED, S.ESCALATED, S.RETURN_SHIPPED}), S.CLOSED),
}

AFTER_SALE_MACHINE: StateMachine[AfterSaleStatus, AfterSaleAction] = StateMachine(
    noun="after-sale", table="after_sales", history_table="after_sale_status_history", history_key="after_sale_id",
    topic="aftersale", transitions=TRANSITIONS, field="afterSaleId",
    events={a: f"AFTER_SALE_{target.value}" for a, (_, target) in TRANSITIONS.items()})

# what the buyer hears about (DOMAIN §12 buyer notification outbox)
BUYER_NOTICES: dict[AfterSaleStatus, str] = {
    S.APPROVED: "PUSH", S.REJECTED: "PUSH", S.REFUNDED: "SMS", S.RESHIPPING: "PUSH", S.CLOSED: "PUSH",
}
