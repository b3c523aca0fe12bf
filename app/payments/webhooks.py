"""`POST /webhooks/payments/{provider}`: the providers' signed callbacks (DOMAIN §7).

Verify the HMAC signature and the timestamp window (401 and no write otherwise), store the
notification once — unique by (provider, kind, provider transaction id, amount and status: its
`fingerprint`), so a duplicate answers 200 and writes nothing, while a notification that says
something else about the same transaction (a wrong amount flagged, then the genuine one) is
stored and applied on its own — answer at once, and enqueue the job that applies it after the row is
committed. A lost enqueue loses nothing: the sweeper job applies every notification left RECEIVED.
"""

import asyncpg
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import Database
from app.payments.gateway import provider_secret
from app.payments.jobs import enqueue_apply
from app.webhooks import json_of, signed_body

log = structlog.get_logger(__name__)

# what identifies a notification of each kind in the provider's body
_TXN_FIELD = {"PAYMENT": "txn_id", "REFUND": "refund_id"}


async def store_notification(db: Database | asyncpg.Connection, provider: str, body: dict) -> int | None:
    """The new notification's id; None for a duplicate (nothing written). On a connection, inside
    its transaction (the credit system stores its success with the payment it approves)."""
    kind = body["type"]
    return await db.fetchval(
        "INSERT INTO payment_notifications (provider, provider_txn_id, kind, body) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (provider, kind, provider_txn_id, fingerprint) DO NOTHING RETURNING id",
        provider, body[_TXN_FIELD[kind]], kind, body)


async def receive_payment_notification(request: Request) -> Response:
    state = request.app.state
    provider = request.path_params["provider"]
    secret = provider_secret(state.settings, provider)
    if secret is None:
        return JSONResponse({"error": "unknown provider"}, 404)
    raw = await signed_body(request, secret, "payment notification", provider=provider)
    if isinstance(raw, Response):
        return raw
    body = _parse(raw)
    if body is None:
        log.warning("payment notification malformed", provider=provider, body=raw[:500].decode(errors="replace"))
        return JSONResponse({"error": "malformed notification"}, 400)
    notification_id = await store_notification(state.db, provider, body)
    if notification_id is None:
        return JSONResponse({"ok": True, "duplicate": True})
    await enqueue_apply(state.redis, notification_id)
    return JSONResponse({"ok": True})


def _parse(raw: bytes) -> dict | None:
    body = json_of(raw)
    if not isinstance(body, dict) or body.get("type") not in _TXN_FIELD:
        return None
    txn = body.get(_TXN_FIELD[body["type"]])
    return body if isinstance(txn, str) and 1 <= len(txn) <= 128 else None


def webhook_routes() -> list[Route]:
    return [Route("/webhooks/payments/{provider}", receive_payment_notification, methods=["POST"])]
