"""What every sandbox does with a request it is sent: check the HMAC signature made with the
secret that sandbox expects (ours as its customer, or the sandbox's own for control calls), read
the signed JSON body, and answer a refusal as `{"error": message}`."""

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


def error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status)


async def verified_body(request: Request, secret: str) -> bytes | Response:
    """The raw body once its signature checks out against `secret` (else the 401 to answer)."""
    raw = await request.body()
    if verify(secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), raw,
              request.app.state.settings.callback_tolerance_seconds) is not None:
        return error("invalid signature", 401)
    return raw


async def signed_json(request: Request, secret: str) -> Any:
    """The signed body parsed as JSON, any JSON value (else the error response to answer)."""
    raw = await verified_body(request, secret)
    if isinstance(raw, Response):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return error("body is not JSON", 400)


async def signed_object(request: Request, secret: str) -> dict | Response:
    """The signed body as a JSON object (else the error response to answer)."""
    body = await signed_json(request, secret)
    if isinstance(body, Response):
        return body
    return body if isinstance(body, dict) else error("body is not an object", 400)


# a sandbox's control knobs (partners, payouts): name → (type, lowest, highest); bools stored as "1"/"0"
Controls = dict[str, tuple[type, float, float]]


def control_changes(controls: Controls, body: dict) -> dict[str, str] | Response:
    """A signed control call's changes as the config hash stores them, or the 400 answer."""
    changes = {}
    for name, value in body.items():
        if name not in controls:
            return error(f"unknown control {name!r}; known: {', '.join(controls)}", 400)
        kind, low, high = controls[name]
        if kind is bool:
            if not isinstance(value, bool):
                return error(f"{name} is true or false", 400)
            changes[name] = "1" if value else "0"
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high \
                or (kind is int and not isinstance(value, int)):
            return error(f"{name} is a {kind.__name__} from {low} to {high}", 400)
        changes[name] = str(value)
    return changes


def typed_config(controls: Controls, defaults: dict, stored: dict) -> dict:
    """The defaults overlaid by the stored control values, each read back as its type."""
    config = dict(defaults)
    for name, raw in stored.items():
        kind = controls[name][0]
        config[name] = raw == "1" if kind is bool else kind(raw)
    return config
