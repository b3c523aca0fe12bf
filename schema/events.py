"""Live event subscriptions, filtered to what the subscriber may see, for as long as its
credentials and the event stream hold (docs/DECISIONS.md, "Resilience")."""

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator

import strawberry
import structlog
from starlette.websockets import WebSocket, WebSocketState
from strawberry.scalars import JSON

from app.auth.service import authenticate_bearer
from app.events import Event, StreamInterrupted
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
                   payload=JSON(ev.payload), created_at=ev.created_at)


log = structlog.get_logger(__name__)

# Close codes of a websocket whose subscriptions end (docs/API.md, "Subscriptions")
CREDENTIALS_ENDED = 4401      # the access token expired or was revoked: sign in / refresh, then reconnect
STREAM_INTERRUPTED = 1012     # "service restart": events may have been missed; reconnect and refetch


def visible_to(principal, ev: Event) -> bool:
    """Admins see every event; merchant staff only their merchant's."""
    return principal.is_admin or (ev.merchant_id is not None and ev.merchant_id == principal.merchant_id)


async def live_events(info: Info, topic: str) -> AsyncIterator[Event]:
    """The events of `topic` a signed-in subscriber (every subscription needs one) may see. Its
    token is checked again through `authenticate_bearer` every `subscription_auth_recheck_seconds`
    and at its expiry, and its expiry before each event; when the token no longer holds, or the
    pub/sub stream was interrupted, the subscription ends: over a websocket, by closing it with a
    code saying why (docs/API.md)."""
    ctx = info.context
    principal = ctx.caller
    header = str((ctx.connection_params or {}).get("authorization") or "")
    every = ctx.settings.subscription_auth_recheck_seconds
    loop = asyncio.get_running_loop()
    checked_at = loop.time()
    async with ctx.broadcaster.subscribe(topic) as subscription:
        while True:
            wait = min(principal.expires_at - time.time(), checked_at + every - loop.time())
            try:
                async with asyncio.timeout(max(wait, 0)):
                    ev = await subscription.next()
            except TimeoutError:
                ev = None
            except StreamInterrupted:
                await _end(info, STREAM_INTERRUPTED, "event stream interrupted; subscribe again and refetch")
                return
            if time.time() >= principal.expires_at:
                await _end(info, CREDENTIALS_ENDED, "access token expired")
                return
            if ev is None:
                try:
                    _, problem = await authenticate_bearer(ctx.settings, ctx.redis, header, ctx.db)
                except Exception as exc:  # cannot tell whether the token still holds: the client asks again
                    log.warning("subscription credentials could not be checked", error=str(exc))
                    await _end(info, STREAM_INTERRUPTED, "credentials could not be checked; subscribe again")
                    return
                if problem is not None:
                    await _end(info, CREDENTIALS_ENDED, problem)
                    return
                checked_at = loop.time()
            elif visible_to(principal, ev) and _open(info):
                yield ev


def _open(info: Info) -> bool:
    request = info.context.request
    return not isinstance(request, WebSocket) or request.application_state == WebSocketState.CONNECTED


async def _end(info: Info, code: int, reason: str) -> None:
    """End the subscription. A websocket is closed (every subscription on it ends) and this waits
    to be cancelled: the handler cancels its operations once the client has gone, and nothing may
    be sent after a close. Any other transport just sees the stream end."""
    request = info.context.request
    log.info("subscription ended", code=code, reason=reason)
    if not isinstance(request, WebSocket):
        return
    if _open(info):
        with contextlib.suppress(RuntimeError):   # another subscription of the socket closed it first
            await request.close(code=code, reason=reason)
    await asyncio.Future()


@strawberry.type
class EventSubscription:
    @strawberry.subscription(permission_classes=[IsStaff],
                             description="Product events of your merchant (all merchants for admins).")
    async def product_events(self, info: Info) -> AsyncGenerator[ProductEvent, None]:
        async for ev in live_events(info, "product"):
            yield ProductEvent.from_event(ev)
