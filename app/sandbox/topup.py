"""The sandbox REALTIME_API supplier (DOMAIN §6 VIRTUAL): a recharge API like a top-up
aggregator's, mounted under /sandbox/topup/<partner code>/ when `settings.sandbox_on`. It is "the
outside world": real HTTP, state in Redis only (never our database), and every request must be
signed with `settings.sandbox_partner_secret` (what the demo supplier row stores).

- `POST /v1/purchases` {reference, account, items: [{sku_code, quantity}]}: recharge `account`
  once per reference — a repeated reference answers the first purchase's state and recharges
  nothing. Answers after the configured latency {status: SUCCEEDED | FAILED | PROCESSING,
  supplier_ref, reason}.
- `GET /v1/purchases/{reference}`: the purchase's state, 404 {status: NOT_FOUND} if never bought.
- `POST /v1/control` {latency_ms?, failure_rate?, timeout_rate?}: this partner's behaviour
  (tests, benchmarks); `GET /v1/recharges/{reference}`: how many real recharges the reference
  caused (a test proves "never charged twice" with it).

What happens to a purchase is chosen by the account (for tests and demos), else by the control
rates. The phone number's last four digits, or an email's local part suffix:
- `0000` / `+fail`: FAILED, nothing recharged;
- `9999` / `+timeout`: recharged, but the answer hangs `SANDBOX_TOPUP_HANG_SECONDS` (beyond our
  client's timeout): the unknown outcome a re-query must resolve;
- `5555` / `+flaky`: the first call answers 503 without recharging (the reference stays unknown);
- `8888` / `+pending`: accepted and never finished: PROCESSING forever (our deadline refunds it).
"""

import asyncio
import json
import random
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from app.sandbox.http import error, signed_object, verified_body

STATE_TTL_SECONDS = 7 * 24 * 3600


def _key(code: str, *parts: str) -> str:
    return ":".join(("sandbox:topup", code, *parts))


def behaviour(account: str) -> str | None:
    """The outcome an account asks for (see the module docstring), None: the control rates decide."""
    local = account.split("@")[0].lower()
    for outcome, digits, suffix in (("FAILED", "0000", "+fail"), ("TIMEOUT", "9999", "+timeout"),
                                    ("FLAKY", "5555", "+flaky"), ("PENDING", "8888", "+pending")):
        if account.endswith(digits) or local.endswith(suffix):
            return outcome
    return None


async def _verified(request: Request) -> bytes | Response:
    return await verified_body(request, request.app.state.settings.sandbox_partner_secret)


async def _json(request: Request) -> dict | Response:
    return await signed_object(request, request.app.state.settings.sandbox_partner_secret)


async def _control(request: Request, code: str) -> dict:
    raw = await request.app.state.redis.hgetall(_key(code, "control"))
    settings = request.app.state.settings
    return {"latency_ms": int(raw.get("latency_ms", settings.sandbox_topup_latency_ms)),
            "failure_rate": float(raw.get("failure_rate", 0)), "timeout_rate": float(raw.get("timeout_rate", 0))}


def _valid_purchase(body: dict) -> str | None:
    reference, account, items = body.get("reference"), body.get("account"), body.get("items")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 64:
        return "reference must be a string of 1 to 64 characters"
    if not isinstance(account, str) or not 1 <= len(account) <= 254:
        return "account must be a string of 1 to 254 characters"
    if not isinstance(items, list) or not 1 <= len(items) <= 50 or not all(
            isinstance(i, dict) and isinstance(i.get("sku_code"), str)
            and isinstance(i.get("quantity"), int) and 0 < i["quantity"] <= 1000 for i in items):
        return "items must be 1 to 50 {sku_code, quantity} objects"
    return None


async def buy(request: Request) -> Response:
    body = await _json(request)
    if isinstance(body, Response):
        return body
    problem = _valid_purchase(body)
    if problem:
        return error(problem, 400)
    code, redis = request.path_params["code"], request.app.state.redis
    control = await _control(request, code)
    await asyncio.sleep(control["latency_ms"] / 1000)
    key = _key(code, "purchase", body["reference"])
    existing = await redis.hgetall(key)
    if existing:
        return JSONResponse(_state(existing))
    outcome = behaviour(body["account"])
    if outcome is None:
        roll = random.random()
        outcome = ("FAILED" if roll < control["failure_rate"] else
                   "TIMEOUT" if roll < control["failure_rate"] + control["timeout_rate"] else "SUCCEEDED")
    if outcome == "FLAKY" and await redis.incr(_key(code, "flaky", body["reference"])) == 1:
        await redis.expire(_key(code, "flaky", body["reference"]), STATE_TTL_SECONDS)
        return error("temporarily unavailable", 503)
    status = {"FAILED": "FAILED", "PENDING": "PROCESSING"}.get(outcome, "SUCCEEDED")
    state = {"reference": body["reference"], "account": body["account"], "status": status,
             "supplier_ref": "sbt_" + uuid.uuid4().hex, "reason": "account refused" if status == "FAILED" else "",
             "items": json.dumps(body["items"])}
    if not await redis.hsetnx(key, "reference", body["reference"]):      # a concurrent twin won
        return JSONResponse(_state(await redis.hgetall(key)))
    await redis.hset(key, mapping=state)
    await redis.expire(key, STATE_TTL_SECONDS)
    if status == "SUCCEEDED":
        await redis.incr(_key(code, "recharges", body["reference"]))
        await redis.expire(_key(code, "recharges", body["reference"]), STATE_TTL_SECONDS)
    if outcome == "TIMEOUT":
        await asyncio.sleep(request.app.state.settings.sandbox_topup_hang_seconds)
    return JSONResponse(_state(state))


def _state(raw: dict) -> dict:
    return {"reference": raw["reference"], "status": raw.get("status", "PROCESSING"),
            "supplier_ref": raw.get("supplier_ref"), "reason": raw.get("reason", "")}


async def show(request: Request) -> Response:
    raw = await _verified(request)
    if isinstance(raw, Response):
        return raw
    code = request.path_params["code"]
    await asyncio.sleep((await _control(request, code))["latency_ms"] / 1000)
    state = await request.app.state.redis.hgetall(_key(code, "purchase", request.path_params["reference"]))
    if not state:
        return JSONResponse({"status": "NOT_FOUND"}, 404)
    return JSONResponse(_state(state))


async def control(request: Request) -> Response:
    body = await _json(request)
    if isinstance(body, Response):
        return body
    values = {}
    for name, top in (("latency_ms", 600_000), ("failure_rate", 1), ("timeout_rate", 1)):
        if name in body:
            value = body[name]
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= top:
                return error(f"{name} must be between 0 and {top}", 400)
            values[name] = value
    key = _key(request.path_params["code"], "control")
    if values:
        await request.app.state.redis.hset(key, mapping=values)
        await request.app.state.redis.expire(key, STATE_TTL_SECONDS)
    return JSONResponse(await _control(request, request.path_params["code"]))


async def recharges(request: Request) -> Response:
    raw = await _verified(request)
    if isinstance(raw, Response):
        return raw
    count = await request.app.state.redis.get(
        _key(request.path_params["code"], "recharges", request.path_params["reference"]))
    return JSONResponse({"reference": request.path_params["reference"], "recharges": int(count or 0)})


def topup_routes() -> list[Mount]:
    return [Mount("/sandbox/topup/{code}", routes=[
        Route("/v1/purchases", buy, methods=["POST"]),
        Route("/v1/purchases/{reference}", show, methods=["GET"]),
        Route("/v1/control", control, methods=["POST"]),
        Route("/v1/recharges/{reference}", recharges, methods=["GET"]),
    ])]
