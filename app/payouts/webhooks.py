"""`POST /webhooks/payouts/{channel}`: the payout channel's signed callbacks. The signature and
timestamp window are checked first (401, nothing written, otherwise); the notification is stored
once (unique by channel and notice id: a duplicate answers 200 and changes nothing) and applied
in the same transaction, so it is acknowledged only once its effect is committed — a crash
before that leaves the channel retrying. A notice whose amount differs from the withdrawal's is
stored but never applied (logged for review)."""

from datetime import UTC, datetime

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import Database
from app.payouts import withdrawals
from app.payouts.channel import channel_secret, withdrawal_of
from app.webhooks import json_of, signed_body

log = structlog.get_logger(__name__)


def _parse(raw: bytes) -> dict | None:
    body = json_of(raw)
    if not isinstance(body, dict) or body.get("type") != "PAYOUT" or body.get("status") not in ("PAID", "FAILED"):
        return None
    if not isinstance(body.get("notice_id"), str) or not 1 <= len(body["notice_id"]) <= 128:
        return None
    amount = body.get("amount")
    return body if isinstance(amount, int) and not isinstance(amount, bool) else None


async def apply_notification(db: Database, settings, channel: str, body: dict) -> str:
    """Store and apply one notice; what happened, for the answer and the log."""
    withdrawal_id = withdrawal_of(settings, body.get("reference"))
    now = datetime.now(UTC)
    async with db.transaction() as conn:
        known = withdrawal_id is not None and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM withdrawals WHERE id = $1)", withdrawal_id)
        stored = await conn.fetchval(
            "INSERT INTO payout_notifications (channel, notice_id, withdrawal_id, body) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (channel, notice_id) DO NOTHING RETURNING id",
            channel, body["notice_id"], withdrawal_id if known else None, body)
        if stored is None:
            return "duplicate"
        if not known:
            log.warning("payout notification for an unknown withdrawal", channel=channel, reference=body.get("reference"))
            return "unknown"
        assert withdrawal_id is not None
        amount = await conn.fetchval("SELECT amount FROM withdrawals WHERE id = $1 FOR UPDATE", withdrawal_id)
        if amount != body["amount"]:
            log.warning("payout notification amount mismatch: not applied", withdrawal_id=withdrawal_id,
                        expected=amount, notified=body["amount"])
            return "amount mismatch"
        status = await withdrawals.finish(conn, withdrawal_id, body["status"] == "PAID", str(body.get("reason") or ""),
                                          body.get("payout_id"), f"channel:{channel}", now)
        await conn.execute("UPDATE payout_notifications SET applied = true WHERE id = $1", stored)
        return status


async def receive_payout_notification(request: Request) -> Response:
    state = request.app.state
    channel = request.path_params["channel"]
    secret = channel_secret(state.settings, channel)
    if secret is None:
        return JSONResponse({"error": "unknown channel"}, 404)
    raw = await signed_body(request, secret, "payout notification", channel=channel)
    if isinstance(raw, Response):
        return raw
    body = _parse(raw)
    if body is None:
        log.warning("payout notification malformed", channel=channel, body=raw[:500].decode(errors="replace"))
        return JSONResponse({"error": "malformed notification"}, 400)
    outcome = await apply_notification(state.db, state.settings, channel, body)
    return JSONResponse({"ok": True, "result": outcome})


def payout_webhook_routes() -> list[Route]:
    return [Route("/webhooks/payouts/{channel}", receive_payout_notification, methods=["POST"])]
