"""Shipment status as data (`SHIPMENT_MACHINE`, app/state_machine.py):

    PENDING → ACCEPTED (the partner acknowledged the push) → SHIPPED (carrier + tracking) → SIGNED
    PENDING → DEAD_LETTER (pushes exhausted) → PENDING (re-pushed by the back office)
    PENDING / ACCEPTED / DEAD_LETTER → CANCELLED (withdrawn or refunded before it left)

A partner's shipment notice may overtake its acknowledgement, and a partner may acknowledge a push
we gave up on (its answer timed out): SHIPPED is reached from PENDING and DEAD_LETTER too, and
ACCEPTED from DEAD_LETTER. Every move emits SHIPMENT_<status> on topic "fulfilment" with the
order's merchant.
"""

from enum import StrEnum

from app.state_machine import StateMachine


class ShipmentStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    SHIPPED = "SHIPPED"
    SIGNED = "SIGNED"
    DEAD_LETTER = "DEAD_LETTER"
    CANCELLED = "CANCELLED"


class ShipmentEvent(StrEnum):
    ACCEPT = "ACCEPT"
    SHIP = "SHIP"
    SIGN = "SIGN"
    GIVE_UP = "GIVE_UP"
    REPUSH = "REPUSH"
    CANCEL = "CANCEL"


class ShipmentKind(StrEnum):
    WAREHOUSE = "WAREHOUSE"      # pushed to the warehouse's system
    DROPSHIP = "DROPSHIP"        # pushed to the supplier's system
    MERCHANT = "MERCHANT"        # shipped from the merchant console


PUSHED_KINDS = (ShipmentKind.WAREHOUSE, ShipmentKind.DROPSHIP)

S, E = ShipmentStatus, ShipmentEvent
TRANSITIONS: dict[ShipmentEvent, tuple[frozenset[ShipmentStatus], ShipmentStatus]] = {
    E.ACCEPT: (frozenset({S.PENDING, S.DEAD_LETTER}), S.ACCEPTED),
    E.SHIP: (frozenset({S.PENDING, S.ACCEPTED, S.DEAD_LETTER}), S.SHIPPED),
    E.SIGN: (frozenset({S.SHIPPED}), S.SIGNED),
    E.GIVE_UP: (frozenset({S.PENDING}), S.DEAD_LETTER),
    E.REPUSH: (frozenset({S.DEAD_LETTER}), S.PENDING),
    E.CANCEL: (frozenset({S.PENDING, S.ACCEPTED, S.DEAD_LETTER}), S.CANCELLED),
}
UNSHIPPED = (S.PENDING, S.ACCEPTED, S.DEAD_LETTER)
LEFT = (S.SHIPPED, S.SIGNED)

SHIPMENT_MACHINE: StateMachine[ShipmentStatus, ShipmentEvent] = StateMachine(
    noun="shipment", table="shipments", history_table="shipment_status_history", history_key="shipment_id",
    topic="fulfilment", transitions=TRANSITIONS, field="shipmentId",
    events={action: f"SHIPMENT_{target.value}" for action, (_, target) in TRANSITIONS.items()})
