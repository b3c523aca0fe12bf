"""The partners' and carriers' signed webhooks (DOMAIN §6):

- `POST /webhooks/fulfilment/{code}`: a warehouse's or supplier's notices (acknowledgement,
  shipment notice), signed with that partner's secret (the warehouse row's, or its supplier's);
- `POST /webhooks/logistics/{carrier}`: a carrier's tracking events, signed with
  `LOGISTICS_WEBHOOK_SECRET` (refused in production while it is the development default).

Both verify the HMAC and the timestamp window (401, nothing stored otherwise), store once and
answer at once; a duplicate answers 200 and writes nothing.
"""

import re
from datetime import UTC, datetime

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.config import DEV_LOGISTICS_SECRET
from app.fulfilment import notices, tracking
from app.fulfilment.partners import partner_by_code
from app.webhooks import json_of, signed_body

log = structlog.get_logger(__name__)
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


async def receive_partner_notice(request: Request) -> Response:
    state = request.app.state
    code = request.path_params["code"]
    partner = await partner_by_code(state.db, code) if _CODE.match(code) else None
    if partner is None:
        return JSONResponse({"error": "unknown partner"}, 404)
    raw = await signed_body(request, partner.secret, "partner notice", partner=code)
    if isinstance(raw, Response):
        return raw
    body = notices.parse(json_of(raw))
    if body is None:
        log.warning("partner notice malformed", partner=code, body=raw[:500].decode(errors="replace"))
        return JSONResponse({"error": "malformed notice"}, 400)
    outcome = await notices.receive(state.db, partner, body, datetime.now(UTC))
    return JSONResponse({"ok": True, "status": outcome.status})


async def receive_tracking_event(request: Request) -> Response:
    settings = request.app.state.settings
    carrier = request.path_params["carrier"]
    if not _CODE.match(carrier) or (settings.is_production and settings.logistics_webhook_secret == DEV_LOGISTICS_SECRET):
        return JSONResponse({"error": "unknown carrier"}, 404)
    raw = await signed_body(request, settings.logistics_webhook_secret, "tracking event", carrier=carrier)
    if isinstance(raw, Response):
        return raw
    event = tracking.parse(json_of(raw))
    if event is None:
        log.warning("tracking event malformed", carrier=carrier, body=raw[:500].decode(errors="replace"))
        return JSONResponse({"error": "malformed tracking event"}, 400)
    recorded = await tracking.record(request.app.state.db, carrier, event, datetime.now(UTC))
    if recorded is None:
        return JSONResponse({"error": "unknown tracking number; send it again later"}, 404)
    return JSONResponse({"ok": True, "recorded": recorded})


def webhook_routes() -> list[Route]:
    return [Route("/webhooks/fulfilment/{code}", receive_partner_notice, methods=["POST"]),
            Route("/webhooks/logistics/{carrier}", receive_tracking_event, methods=["POST"])]
