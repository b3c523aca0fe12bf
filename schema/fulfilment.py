"""GraphQL for fulfilment (DOMAIN §6): an order's parcels with their tracking timeline (on
`Order.shipments`, seen by whoever may see the order), the console's and back office's shipment
lists, shipping one parcel from the console, re-pushing a dead letter, and live fulfilment events.
Resolvers call one service in app/fulfilment/ through `mutate`/`query`; lines and tracking load
through the request's DataLoaders."""

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import TypeAlias

import asyncpg
import strawberry
from strawberry.scalars import JSON

from app.errors import CommonError
from app.events import Event
from app.fulfilment import pushes, shipments
from app.fulfilment.errors import FulfilmentError
from app.fulfilment.status import ShipmentKind, ShipmentStatus
from schema.context import Info
from schema.errors import user_error_type
from schema.events import live_events
from schema.ids import gid, input_pk, optional_pk
from schema.mutations import mutate, query
from schema.pagination import Connection, after_id, connection_of, page_size
from schema.permissions import IsAdmin, IsStaff

FulfilmentUserError = user_error_type("Fulfilment", FulfilmentError, CommonError)
strawberry.enum(ShipmentStatus, name="ShipmentStatus")
strawberry.enum(ShipmentKind, name="ShipmentKind", description=(
    "Who ships it: WAREHOUSE (pushed to the warehouse's system), DROPSHIP (pushed to the supplier's), MERCHANT "
    "(shipped from the merchant console)."))
ShipmentStatusEnum: TypeAlias = ShipmentStatus
ShipmentKindEnum: TypeAlias = ShipmentKind


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type(description="Units of one order line in a parcel.")
class ShipmentLine:
    order_line_id: strawberry.ID
    title: str
    spec_label: str
    quantity: int


@strawberry.type(description="One event of the carrier's timeline.")
class TrackingEvent:
    status: str = strawberry.field(description="COLLECTED, IN_TRANSIT, OUT_FOR_DELIVERY, SIGNED or EXCEPTION.")
    description: str
    location: str
    occurred_at: datetime


@strawberry.type(description="A parcel (拆包裹): the lines of one order leaving one warehouse by one fulfilment kind. "
                             "An exchange's reship has `afterSaleId`. Push details are for staff (null for buyers).")
class Shipment:
    pk: strawberry.Private[int]
    id: strawberry.ID
    order_id: strawberry.ID
    kind: ShipmentKindEnum
    status: ShipmentStatusEnum
    carrier: str | None
    tracking_number: str | None
    after_sale_id: strawberry.ID | None
    push_attempts: int | None
    last_error: str | None
    partner_ref: str | None
    created_at: datetime
    accepted_at: datetime | None
    shipped_at: datetime | None
    signed_at: datetime | None
    cancelled_at: datetime | None

    @strawberry.field
    async def lines(self, info: Info) -> list[ShipmentLine]:
        return [ShipmentLine(order_line_id=gid("OrderLine", r["id"]), title=r["title"], spec_label=r["spec_label"],
                             quantity=r["quantity"])
                for r in await info.context.loaders.shipment_lines.load(self.pk)]

    @strawberry.field(description="The carrier's timeline, oldest first.")
    async def tracking(self, info: Info) -> list[TrackingEvent]:
        return [TrackingEvent(status=t["status"], description=t["description"], location=t["location"],
                              occurred_at=t["occurred_at"])
                for t in await info.context.loaders.shipment_tracking.load(self.pk)]

    @classmethod
    def of(cls, r: asyncpg.Record, staff: bool = True) -> "Shipment":
        return cls(pk=r["id"], id=gid("Shipment", r["id"]), order_id=gid("Order", r["order_id"]),
                   kind=ShipmentKind(r["kind"]), status=ShipmentStatus(r["status"]), carrier=r["carrier"],
                   tracking_number=r["tracking_number"], after_sale_id=gid("AfterSale", r["after_sale_id"]),
                   push_attempts=r["push_attempts"] if staff else None, last_error=r["last_error"] if staff else None,
                   partner_ref=r["partner_ref"] if staff else None, created_at=r["created_at"],
                   accepted_at=r["accepted_at"], shipped_at=r["shipped_at"], signed_at=r["signed_at"],
                   cancelled_at=r["cancelled_at"])


async def shipments_of_order(info: Info, order_pk: int) -> list[Shipment]:
    """For `Order.shipments`: the order was already checked to be the caller's to see."""
    principal = info.context.principal
    staff = principal is not None and not principal.is_buyer
    return [Shipment.of(r, staff) for r in await info.context.loaders.order_shipments.load(order_pk)]


@strawberry.input
class ShipShipmentInput:
    shipment_id: strawberry.ID
    carrier: str
    tracking_number: str


@strawberry.input
class ShipmentActionInput:
    shipment_id: strawberry.ID


@strawberry.type
class ShipmentPayload:
    shipment: Shipment | None = None
    user_errors: list[FulfilmentUserError] = strawberry.field(default_factory=list)  # type: ignore[valid-type]  # a class built by user_error_type


@strawberry.type(description="A change to a shipment: SHIPMENT_PENDING, SHIPMENT_ACCEPTED, SHIPMENT_SHIPPED, "
                             "SHIPMENT_SIGNED, SHIPMENT_DEAD_LETTER, SHIPMENT_CANCELLED, SHIPMENT_TRACKED (a tracking "
                             "event), SHIPMENT_INTERCEPT_FAILED.")
class FulfilmentEvent:
    event_id: str
    type: str
    shipment_id: strawberry.ID | None
    order_id: strawberry.ID | None
    after_sale_id: strawberry.ID | None
    merchant_id: strawberry.ID | None
    status: str | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "FulfilmentEvent":
        p = ev.payload
        return cls(event_id=str(ev.id), type=ev.type, shipment_id=gid("Shipment", p.get("shipment_id")),
                   order_id=gid("Order", p.get("order_id")), after_sale_id=gid("AfterSale", p.get("after_sale_id")),
                   merchant_id=gid("Merchant", ev.merchant_id), status=p.get("to") or p.get("status"),
                   payload=JSON(p), created_at=ev.created_at)


async def _shipment_payload(info: Info, shipment_id: int) -> ShipmentPayload:
    row = await query(info, lambda conn: shipments.owned(conn, info.context.caller, shipment_id))
    return ShipmentPayload(shipment=Shipment.of(row))


@strawberry.type
class FulfilmentQuery:
    @strawberry.field(permission_classes=[IsStaff], description=(
        "Merchant staff: your merchant's shipments; admins: `merchantId`'s or every merchant's; newest first, "
        "`status` null = all."))
    async def shipments(self, info: Info, status: ShipmentStatusEnum | None = None,
                        merchant_id: strawberry.ID | None = None, first: int = 20,
                        after: str | None = None) -> Connection[Shipment]:
        async def act(conn) -> Connection[Shipment]:
            size = page_size(first)
            rows = await shipments.merchant_shipments(conn, info.context.caller,
                                                      optional_pk("Merchant", merchant_id, "merchantId"),
                                                      status.value if status else None, after_id(after), size + 1)
            return connection_of(rows, size, after, Shipment.of)
        return await query(info, act)

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "The back office's dead letters: shipments whose pushes were exhausted (see `lastError`); re-push them "
        "with repushShipment."))
    async def dead_letter_shipments(self, info: Info, first: int = 20,
                                    after: str | None = None) -> Connection[Shipment]:
        async def act(conn) -> Connection[Shipment]:
            size = page_size(first)
            rows = await shipments.merchant_shipments(conn, info.context.caller, None, ShipmentStatus.DEAD_LETTER,
                                                      after_id(after), size + 1)
            return connection_of(rows, size, after, Shipment.of)
        return await query(info, act)


@strawberry.type
class FulfilmentMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "Ship one MERCHANT parcel of your merchant (a split order's, or an exchange's reship) with its carrier and "
        "tracking number; the order ships once all its parcels have."))
    async def ship_shipment(self, info: Info, input: ShipShipmentInput) -> ShipmentPayload:
        async def act(conn, who) -> int:
            pk = input_pk("Shipment", input.shipment_id, "shipmentId")
            await shipments.ship_shipment(conn, who, pk, input.carrier, input.tracking_number, _now())
            return pk
        return await mutate(info, ShipmentPayload, act, lambda pk: _shipment_payload(info, pk))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Push a dead-lettered shipment again (its attempts start from zero; the partner dedupes on the shipment)."))
    async def repush_shipment(self, info: Info, input: ShipmentActionInput) -> ShipmentPayload:
        async def act(conn, who) -> int:
            pk = input_pk("Shipment", input.shipment_id, "shipmentId")
            await pushes.repush(conn, who, pk, _now())
            return pk
        return await mutate(info, ShipmentPayload, act, lambda pk: _shipment_payload(info, pk))


@strawberry.type
class FulfilmentSubscription:
    @strawberry.subscription(permission_classes=[IsStaff], description=(
        "Live shipment events of your merchant (merchant staff) or of every merchant (admins): pushes, "
        "acknowledgements, shipping, tracking, dead letters. Delivery is at most once: refetch when (re)subscribing."))
    async def merchant_fulfilment_events(self, info: Info) -> AsyncGenerator[FulfilmentEvent, None]:
        async for ev in live_events(info, "fulfilment"):
            yield FulfilmentEvent.from_event(ev)
