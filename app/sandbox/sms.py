"""The sandbox SMS gateway, mounted under /sandbox/sms when the sandbox is on: it stands in for a
real SMS provider, so it is "the outside world" and reads nothing of our database.

- `POST /v1/messages` (signed by the sender, i.e. us, with SMS_GATEWAY_SECRET): takes one
  message `{phone, text, template}` and keeps it in the phone's inbox (Redis, the newest
  INBOX_SIZE for a day); answers `{message_id}`.
- `POST /v1/inbox` (a control call, signed with the sandbox's own SANDBOX_PROVIDER_SECRET like the
  payment sandbox's): `{phone, limit}` → `{messages: [...]}` newest first — how tests, and a
  newcomer trying registration (`ecom sms-inbox PHONE`), read the codes "sent".
"""

import json
import re
import uuid
from datetime import UTC, datetime

from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from app.sandbox.http import error, signed_json
from app.signing import signed_headers

INBOX_SIZE = 50
INBOX_TTL_SECONDS = 24 * 3600
PHONE = re.compile(r"^\+?[0-9]{6,20}$")
MAX_TEXT = 500


def _inbox_key(phone: str) -> str:
    return f"sandbox:sms:inbox:{phone}"


async def _signed_body(request: Request, secret: str) -> dict | Response:
    body = await signed_json(request, secret)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict) or not isinstance(body.get("phone"), str) or not PHONE.match(body["phone"]):
        return error("a JSON object with a phone of 6 to 20 digits", 400)
    return body


async def receive_message(request: Request) -> Response:
    body = await _signed_body(request, request.app.state.settings.sms_gateway_secret)
    if isinstance(body, Response):
        return body
    text = body.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
        return error(f"a text of 1 to {MAX_TEXT} characters", 400)
    message = {"message_id": uuid.uuid4().hex, "phone": body["phone"], "text": text,
               "template": str(body.get("template") or ""), "received_at": datetime.now(UTC).isoformat()}
    redis: Redis = request.app.state.redis
    key = _inbox_key(body["phone"])
    async with redis.pipeline(transaction=True) as pipe:
        pipe.lpush(key, json.dumps(message))
        pipe.ltrim(key, 0, INBOX_SIZE - 1)
        pipe.expire(key, INBOX_TTL_SECONDS)
        await pipe.execute()
    return JSONResponse({"message_id": message["message_id"]})


async def read_inbox(request: Request) -> Response:
    body = await _signed_body(request, request.app.state.settings.sandbox_provider_secret)
    if isinstance(body, Response):
        return body
    limit = body.get("limit", 10)
    if not isinstance(limit, int) or not 1 <= limit <= INBOX_SIZE:
        return error(f"limit is 1 to {INBOX_SIZE}", 400)
    rows = await request.app.state.redis.lrange(_inbox_key(body["phone"]), 0, limit - 1)
    return JSONResponse({"messages": [json.loads(r) for r in rows]})


def inbox_request(sandbox_secret: str, phone: str, limit: int = 10) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a signed `POST /v1/inbox` (tests, `ecom sms-inbox`)."""
    body = json.dumps({"phone": phone, "limit": limit}).encode()
    return body, signed_headers(sandbox_secret, body)


def sms_routes() -> list[Mount]:
    return [Mount("/sandbox/sms", routes=[
        Route("/v1/messages", receive_message, methods=["POST"]),
        Route("/v1/inbox", read_inbox, methods=["POST"]),
    ])]
