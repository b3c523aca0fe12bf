"""Sandbox partner systems (DOMAIN §6): warehouses' and dropship suppliers' order APIs, mounted
under /sandbox/fulfilment/{code} (a row's endpoint `sandbox://fulfilment/<code>`), and a carrier
(app/sandbox/logistics.py) that tracks the parcels they ship. "The outside world": real HTTP,
state in Redis, never our database; every request must carry our HMAC signature made with
`settings.sandbox_partner_secret` (the demo rows store that secret), and every notice goes back,
signed with it, to this app's own webhook `settings.base_url + /webhooks/fulfilment/<code>` —
never to a URL a caller names.

- `POST /shipments` {idempotency_key, …}: after the partner's latency, 503 for the configured
  failures, else ACCEPTED with a partner_ref — the same one for a repeated key (one parcel per
  key) — or CANCELLED for a key intercepted first. A new parcel then gets its notices: the
  acknowledgement at once and, after the ship delay, the shipment notice (a generated carrier and
  tracking number) unless it was intercepted meanwhile, with `duplicates` extra copies of each
  and, with `late`, the acknowledgement after the shipment notice. The carrier then tracks it.
- `POST /shipments/{key}/cancel`: the intercept — CANCELLED if not shipped yet (a push of that key
  arriving later is answered CANCELLED), else TOO_LATE.
- `POST /control` (signed): this partner's overrides of the settings' defaults: latency_ms,
  failure_rate, fail_next (the next n pushes answer 503), ship_delay_ms, duplicates, late,
  notices (false: answer pushes only, for benchmarks), carrier_step_ms. `GET /` shows them and
  the parcels made; `GET /shipments/{key}` one parcel.
"""

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from app.config import Settings
from app.sandbox import logistics
from app.sandbox.deliveries import Delivery, Pacing, start_batch
from app.sandbox.http import Controls, control_changes, error, signed_object, typed_config

STATE_TTL_SECONDS = 7 * 24 * 3600
CARRIER = "SBX"
_running: set[asyncio.Task] = set()   # keeps background tasks referenced until they finish
# control fields: name → (type, lowest, highest)
CONTROLS: Controls = {
    "latency_ms": (int, 0, 60_000), "failure_rate": (float, 0, 1), "fail_next": (int, 0, 1000),
    "ship_delay_ms": (int, 0, 600_000), "duplicates": (int, 0, 10), "late": (bool, 0, 1), "notices": (bool, 0, 1),
    "carrier_step_ms": (int, 0, 600_000),
}


def _key(code: str, *parts: str) -> str:
    return ":".join(("sandbox:partner", code, *parts))


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _signed(request: Request) -> dict | Response:
    """A request from the platform, signed with the partner secret every sandbox partner shares."""
    return await signed_object(request, request.app.state.settings.sandbox_partner_secret)


def _defaults(settings: Settings) -> dict:
    return {"latency_ms": settings.sandbox_partner_latency_ms, "failure_rate": settings.sandbox_partner_failure_rate,
            "fail_next": 0, "ship_delay_ms": settings.sandbox_partner_ship_delay_ms, "duplicates": 0, "late": False,
            "notices": True, "carrier_step_ms": settings.sandbox_carrier_step_ms}


async def _config(request: Request, code: str) -> dict:
    stored = await request.app.state.redis.hgetall(_key(code, "config"))
    config = _defaults(request.app.state.settings)
    return typed_config(CONTROLS, config, stored)


async def control(request: Request) -> Response:
    body = await _signed(request)
    if isinstance(body, Response):
        return body
    code = request.path_params["code"]
    changes = control_changes(CONTROLS, body)
    if isinstance(changes, Response):
        return changes
    if changes:
        await request.app.state.redis.hset(_key(code, "config"), mapping=changes)
        await request.app.state.redis.expire(_key(code, "config"), STATE_TTL_SECONDS)
    return JSONResponse(await _config(request, code))


async def show_partner(request: Request) -> Response:
    code = request.path_params["code"]
    created = await request.app.state.redis.get(_key(code, "created"))
    return JSONResponse({"code": code, "config": await _config(request, code), "created": int(created or 0)})


async def show_shipment(request: Request) -> Response:
    parcel = await request.app.state.redis.hgetall(_key(request.path_params["code"], "ship", request.path_params["key"]))
    return JSONResponse(parcel) if parcel else error("no such shipment", 404)


async def create_shipment(request: Request) -> Response:
    body = await _signed(request)
    if isinstance(body, Response):
        return body
    code, redis = request.path_params["code"], request.app.state.redis
    key = body.get("idempotency_key")
    if not isinstance(key, str) or not 1 <= len(key) <= 64 or not isinstance(body.get("lines"), list):
        return error("idempotency_key (1 to 64 characters) and lines are required", 400)
    config = await _config(request, code)
    await asyncio.sleep(config["latency_ms"] / 1000)
    if config["fail_next"] > 0 and await redis.hincrby(_key(code, "config"), "fail_next", -1) >= 0:
        return error("sandbox partner failing as told (fail_next)", 503)
    if random.random() < config["failure_rate"]:
        return error("sandbox partner failing at random (failure_rate)", 503)
    partner_ref = f"{code}-{uuid.uuid4().hex[:12]}"
    made, partner_ref, final = await _receive(redis, [_key(code, "ship", key), _key(code, "created")],
                                              [partner_ref, _now(), json.dumps(body["lines"]), STATE_TTL_SECONDS])
    if made and config["notices"]:
        _background(_fulfil(request, code, key, partner_ref, config), f"sandbox-partner-{key}")
    if final == "CANCELLED":
        return JSONResponse({"status": "CANCELLED", "idempotency_key": key})
    return JSONResponse({"status": "ACCEPTED", "partner_ref": partner_ref, "idempotency_key": key})


# One round trip per push instead of seven: the partner shares the benchmark's machine
# (docs/PERFORMANCE.md). KEYS: the parcel, the parcels-made counter; ARGV: a new partner_ref,
# created_at, lines, ttl. Returns {1 if this push made the parcel, its partner_ref, its final}.
RECEIVE = """
redis.call('HINCRBY', KEYS[1], 'pushes', 1)
local made = redis.call('HSETNX', KEYS[1], 'partner_ref', ARGV[1])
if made == 1 then
  redis.call('HSET', KEYS[1], 'created_at', ARGV[2], 'lines', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('INCR', KEYS[2])
end
return {made, redis.call('HGET', KEYS[1], 'partner_ref'), redis.call('HGET', KEYS[1], 'final')}
"""
_scripts: list[AsyncScript] = []


async def _receive(redis: Redis, keys: list[str], args: list) -> list:
    """RECEIVE by its SHA (loaded again if this Redis lacks it), on the request's own client."""
    if not _scripts:
        _scripts.append(redis.register_script(RECEIVE))
    return await _scripts[0](keys=keys, args=args, client=redis)


async def cancel_shipment(request: Request) -> Response:
    body = await _signed(request)
    if isinstance(body, Response):
        return body
    code, key, redis = request.path_params["code"], request.path_params["key"], request.app.state.redis
    parcel_key = _key(code, "ship", key)
    await redis.hsetnx(parcel_key, "final", "CANCELLED")
    await redis.expire(parcel_key, STATE_TTL_SECONDS)
    final = await redis.hget(parcel_key, "final")
    return JSONResponse({"status": "CANCELLED" if final == "CANCELLED" else "TOO_LATE", "idempotency_key": key})


def _background(coroutine, name: str) -> None:
    task = asyncio.create_task(coroutine, name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _fulfil(request: Request, code: str, key: str, partner_ref: str, config: dict) -> None:
    """The partner's side of one parcel: acknowledge, ship after the delay unless intercepted,
    then hand it to the carrier."""
    state = request.app.state
    settings: Settings = state.settings
    url = f"{settings.base_url}/webhooks/fulfilment/{code}"
    copies = 1 + config["duplicates"]
    ack = {"notice_id": f"{partner_ref}-ack", "type": "ACCEPTED", "idempotency_key": key, "partner_ref": partner_ref,
           "occurred_at": _now()}

    async def send(notice: dict) -> None:
        await start_batch(state.redis, state.http, settings.sandbox_partner_secret,
                          [Delivery(url, notice)] * copies, Pacing(concurrency=1))

    if not config["late"]:
        await send(ack)
    await asyncio.sleep(config["ship_delay_ms"] / 1000)
    parcel_key = _key(code, "ship", key)
    if await state.redis.hsetnx(parcel_key, "final", "SHIPPED"):
        tracking_number = f"{CARRIER}{random.randrange(10**11, 10**12)}"
        await state.redis.hset(parcel_key, mapping={"carrier": CARRIER, "tracking_number": tracking_number,
                                                    "shipped_at": _now()})
        await send({"notice_id": f"{partner_ref}-shipped", "type": "SHIPPED", "idempotency_key": key,
                    "partner_ref": partner_ref, "carrier": CARRIER, "tracking_number": tracking_number,
                    "occurred_at": _now()})
        await logistics.start_tracking(state.redis, state.http, settings, CARRIER, tracking_number,
                                       config["carrier_step_ms"])
    if config["late"]:
        await asyncio.sleep(0.2)
        await send(ack)


def partner_routes() -> list[Mount]:
    return [Mount("/sandbox/fulfilment/{code}", routes=[
        Route("/", show_partner, methods=["GET"]),
        Route("/control", control, methods=["POST"]),
        Route("/shipments", create_shipment, methods=["POST"]),
        Route("/shipments/{key}", show_shipment, methods=["GET"]),
        Route("/shipments/{key}/cancel", cancel_shipment, methods=["POST"]),
    ])]
