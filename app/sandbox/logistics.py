"""The sandbox carrier (DOMAIN §6 "logistics updates arrive by webhook"): once a parcel is handed
to it, it posts the parcel's tracking events — COLLECTED, IN_TRANSIT, OUT_FOR_DELIVERY, SIGNED,
one every `step_ms` — to this app's own logistics webhook (`settings.base_url` +
/webhooks/logistics/<carrier>), signed with `LOGISTICS_WEBHOOK_SECRET` as a carrier signs them.

The sandbox partners hand it their parcels themselves. A merchant's parcel is handed to it by
the signed control call `POST /sandbox/logistics/{carrier}/parcels` {"tracking_number",
"step_ms"?} (signed with the sandbox partner secret): in development that is the merchant's
carrier starting to track what the merchant shipped."""

from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.config import Settings
from app.sandbox.deliveries import Delivery, Pacing, start_batch
from app.sandbox.http import error, signed_json

TIMELINE = (("COLLECTED", "快递员已揽收 Collected", "上海市 Shanghai"),
            ("IN_TRANSIT", "运输中 In transit", "杭州转运中心 Hangzhou hub"),
            ("OUT_FOR_DELIVERY", "派送中 Out for delivery", "收件人所在区 Local station"),
            ("SIGNED", "已签收 Signed for", "收件人 Receiver"))


async def start_tracking(redis: Redis, http: httpx.AsyncClient, settings: Settings, carrier: str,
                         tracking_number: str, step_ms: int) -> None:
    """Post the parcel's timeline in the background, one event every `step_ms`."""
    url = f"{settings.base_url}/webhooks/logistics/{carrier}"
    for n, (status, description, location) in enumerate(TIMELINE, start=1):
        event = {"event_id": f"{tracking_number}-{status}", "tracking_number": tracking_number, "status": status,
                 "description": description, "location": location, "occurred_at": _at(n * step_ms)}
        await start_batch(redis, http, settings.logistics_webhook_secret, [Delivery(url, event)],
                          Pacing(delay_ms=n * step_ms, concurrency=1))


def _at(offset_ms: int) -> str:
    return (datetime.now(UTC) + timedelta(milliseconds=offset_ms)).isoformat()


async def track_parcel(request: Request) -> Response:
    state = request.app.state
    settings: Settings = state.settings
    body = await signed_json(request, settings.sandbox_partner_secret)
    if isinstance(body, Response):
        return body
    number, step = (body.get("tracking_number"), body.get("step_ms", settings.sandbox_carrier_step_ms)) \
        if isinstance(body, dict) else (None, None)
    if not isinstance(number, str) or not 1 <= len(number) <= 50 or not isinstance(step, int) \
            or not 0 <= step <= 600_000:
        return error("tracking_number (1 to 50 characters) and step_ms (0 to 600000) expected", 400)
    await start_tracking(state.redis, state.http, settings, request.path_params["carrier"], number, step)
    return JSONResponse({"tracking_number": number, "events": [s for s, _, _ in TIMELINE]})


def logistics_routes() -> list[Route]:
    return [Route("/sandbox/logistics/{carrier}/parcels", track_parcel, methods=["POST"])]
