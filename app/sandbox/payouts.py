"""The sandbox payout channel (DOMAIN §10: withdrawals "paid out through a sandbox payout
channel"), mounted under /sandbox/payouts when `settings.sandbox_on`. "The outside world": real
HTTP, state in Redis only, every request signed with `settings.sandbox_payout_secret`, and every
callback signed with it to this app's own webhook `settings.base_url + /webhooks/payouts/sandbox`
— never to a URL a caller names.

- `POST /v1/payouts` {reference, amount, payee}: after the channel's latency, 503 for the
  configured failures; else the payout for that reference — made once: a repeated reference
  answers the first payout's state and pays nothing twice (409 if its amount differs). A new
  payout answers PROCESSING, then after `callback_delay_ms` ends PAID (or FAILED for the
  configured declines, or a payee ending `+decline`) and its callback follows, with
  `duplicates` extra copies.
- `GET /v1/payouts/{reference}` (signed, empty body): the payout's state, 404 if never sent.
- `POST /v1/control` (signed): latency_ms, failure_rate, fail_next (the next n sends answer
  503), decline_rate, decline_next (the next n payouts end FAILED), callback_delay_ms,
  duplicates, callbacks (false: no callbacks, a lost-callback test); `GET /v1/control` shows them.
- `GET /v1/paid/{reference}`: how many times the reference was paid (a test proves "paid once").
"""

import asyncio
import random
import uuid
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from app.sandbox.deliveries import Delivery, Pacing, start_batch
from app.sandbox.http import Controls, control_changes, error, signed_object, typed_config, verified_body

STATE_TTL_SECONDS = 7 * 24 * 3600
_running: set[asyncio.Task] = set()
CONTROLS: Controls = {
    "latency_ms": (int, 0, 60_000), "failure_rate": (float, 0, 1), "fail_next": (int, 0, 1000),
    "decline_rate": (float, 0, 1), "decline_next": (int, 0, 1000), "callback_delay_ms": (int, 0, 600_000),
    "duplicates": (int, 0, 10), "callbacks": (bool, 0, 1),
}


def _key(*parts: str) -> str:
    return ":".join(("sandbox:payouts", *parts))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _secret(request: Request) -> str:
    return request.app.state.settings.sandbox_payout_secret


async def _config(request: Request) -> dict:
    settings = request.app.state.settings
    config = {"latency_ms": settings.sandbox_payout_latency_ms, "failure_rate": 0.0, "fail_next": 0,
              "decline_rate": 0.0, "decline_next": 0, "callback_delay_ms": settings.sandbox_payout_callback_delay_ms,
              "duplicates": 0, "callbacks": True}
    return typed_config(CONTROLS, config, await request.app.state.redis.hgetall(_key("config")))


async def control(request: Request) -> Response:
    body = await signed_object(request, _secret(request))
    if isinstance(body, Response):
        return body
    changes = control_changes(CONTROLS, body)
    if isinstance(changes, Response):
        return changes
    if changes:
        await request.app.state.redis.hset(_key("config"), mapping=changes)
        await request.app.state.redis.expire(_key("config"), STATE_TTL_SECONDS)
    return JSONResponse(await _config(request))


async def show_control(request: Request) -> Response:
    return JSONResponse(await _config(request))


def _state(raw: dict) -> dict:
    return {"reference": raw["reference"], "payout_id": raw["payout_id"], "amount": int(raw["amount"]),
            "status": raw.get("status", "PROCESSING"), "reason": raw.get("reason", "")}


async def _take(redis, name: str) -> bool:
    """Use up one of a `*_next` count (False if none was left)."""
    if await redis.hincrby(_key("config"), name, -1) >= 0:
        return True
    await redis.hincrby(_key("config"), name, 1)
    return False


async def create_payout(request: Request) -> Response:
    body = await signed_object(request, _secret(request))
    if isinstance(body, Response):
        return body
    reference, amount, payee = body.get("reference"), body.get("amount"), body.get("payee", "")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 64:
        return error("reference must be a string of 1 to 64 characters", 400)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        return error("amount must be a positive number of cents", 400)
    if not isinstance(payee, str) or len(payee) > 200:
        return error("payee is a string of at most 200 characters", 400)
    redis = request.app.state.redis
    config = await _config(request)
    await asyncio.sleep(config["latency_ms"] / 1000)
    if config["fail_next"] > 0 and await _take(redis, "fail_next"):
        return error("sandbox payout channel failing as told (fail_next)", 503)
    if random.random() < config["failure_rate"]:
        return error("sandbox payout channel failing at random (failure_rate)", 503)
    key = _key("payout", reference)
    if await redis.hsetnx(key, "reference", reference):
        await redis.hset(key, mapping={"payout_id": "sbp_" + uuid.uuid4().hex, "amount": amount, "payee": payee,
                                       "status": "PROCESSING", "created_at": _now()})
        await redis.expire(key, STATE_TTL_SECONDS)
        decline = payee.endswith("+decline") or (config["decline_next"] > 0 and await _take(redis, "decline_next")) \
            or random.random() < config["decline_rate"]
        task = asyncio.create_task(_finish(request, reference, decline, config), name=f"sandbox-payout-{reference}")
        _running.add(task)
        task.add_done_callback(_running.discard)
    else:
        for _ in range(50):                       # a concurrent twin is still writing it
            if await redis.hexists(key, "payout_id"):
                break
            await asyncio.sleep(0.01)
    payout = await redis.hgetall(key)
    if int(payout["amount"]) != amount:
        return error("this reference was paid out with another amount", 409)
    return JSONResponse(_state(payout))


async def _finish(request: Request, reference: str, decline: bool, config: dict) -> None:
    """The channel's side of one payout: after the delay it is PAID (counted) or FAILED, and the
    callback goes out."""
    state = request.app.state
    await asyncio.sleep(config["callback_delay_ms"] / 1000)
    key = _key("payout", reference)
    status = "FAILED" if decline else "PAID"
    await state.redis.hset(key, mapping={"status": status, "reason": "payee account refused" if decline else "",
                                         "finished_at": _now()})
    if not decline:
        await state.redis.incr(_key("paid", reference))
        await state.redis.expire(_key("paid", reference), STATE_TTL_SECONDS)
    if not config["callbacks"]:
        return
    payout = _state(await state.redis.hgetall(key))
    notice = {"notice_id": f"{payout['payout_id']}-{status}", "type": "PAYOUT", "occurred_at": _now(), **payout}
    await start_batch(state.redis, state.http, _secret(request),
                      [Delivery(f"{state.settings.base_url}/webhooks/payouts/sandbox", notice)] * (1 + config["duplicates"]),
                      Pacing(concurrency=1))


async def show_payout(request: Request) -> Response:
    raw = await verified_body(request, _secret(request))
    if isinstance(raw, Response):
        return raw
    await asyncio.sleep((await _config(request))["latency_ms"] / 1000)
    payout = await request.app.state.redis.hgetall(_key("payout", request.path_params["reference"]))
    return JSONResponse(_state(payout)) if payout.get("payout_id") else error("no such payout", 404)


async def paid_count(request: Request) -> Response:
    count = await request.app.state.redis.get(_key("paid", request.path_params["reference"]))
    return JSONResponse({"reference": request.path_params["reference"], "paid": int(count or 0)})


def payout_routes() -> list[Mount]:
    return [Mount("/sandbox/payouts", routes=[
        Route("/v1/payouts", create_payout, methods=["POST"]),
        Route("/v1/payouts/{reference}", show_payout, methods=["GET"]),
        Route("/v1/control", control, methods=["POST"]),
        Route("/v1/control", show_control, methods=["GET"]),
        Route("/v1/paid/{reference}", paid_count, methods=["GET"]),
    ])]
