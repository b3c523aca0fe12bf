"""What every webhook a partner calls us on (payment providers, warehouses and suppliers,
carriers, a dropship supplier's stock) does before reading anything: the raw body, its HMAC
signature checked against the partner's secret within the timestamp window (app/signing.py), a
refusal logged once and answered 401 with nothing written; then the body as JSON."""

import json

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

log = structlog.get_logger(__name__)


async def signed_body(request: Request, secret: str, what: str, **context) -> bytes | Response:
    """The raw body once its signature checks out (else the 401 to answer; the reason goes to the
    log as "<what> refused", never to the caller)."""
    raw = await request.body()
    problem = verify(secret, request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER), raw,
                     request.app.state.settings.callback_tolerance_seconds)
    if problem is not None:
        log.warning(f"{what} refused", reason=problem, **context)
        return JSONResponse({"error": "invalid signature"}, 401)
    return raw


def json_of(raw: bytes) -> object | None:
    """The body as JSON (None: not JSON)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
