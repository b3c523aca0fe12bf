"""Live event subscriptions, filtered to what the subscriber may see."""

from collections.abc import AsyncGenerator

import strawberry
from strawberry.scalars import JSON

from app.events import Event
from app.ids import encode_id
from schema.context import Info
from schema.permissions import IsStaff


@strawberry.type(description="A catalog event: review result, listing change or stock change.")
class ProductEvent:
    event_id: str
    type: str
    product_id: strawberry.ID | None
    merchant_id: strawberry.ID | None
    payload: JSON
    created_at: str

    @classmethod
    def from_event(cls, ev: Event) -> "ProductEvent":
        pid = ev.payload.get("product_id")
        return cls(event_id=str(ev.id), type=ev.type,
                   product_id=strawberry.ID(encode_id("Product", pid)) if pid else None,
                   merchant_id=strawberry.ID(encode_id("Merchant", ev.merchant_id)) if ev.merchant_id else None,
                   payload=ev.payload, created_at=ev.created_at)


def visible_to(principal, ev: Event) -> bool:
    """Admins see every event; merchant staff only their merchant's."""
    return principal.is_admin or (ev.merchant_id is not None and ev.merchant_id == principal.merchant_id)


@strawberry.type
class EventSubscription:
    @strawberry.subscription(permission_classes=[IsStaff],
                             description="Product events of your merchant (all merchants for admins).")
    async def product_events(self, info: Info) -> AsyncGenerator[ProductEvent, None]:
        principal = info.context.principal
        async for ev in info.context.broadcaster.listen("product"):
            if visible_to(principal, ev):
                yield ProductEvent.from_event(ev)
