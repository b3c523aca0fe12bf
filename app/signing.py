"""HMAC-SHA256 signatures over `timestamp + "." + raw body`, as payment providers sign their
callbacks (and as we sign our requests to them); every partner — fulfilment partners, top-up
suppliers, dropship suppliers, the SMS gateway — signs the same way, each with its own secret.
The timestamp is part of what is signed, so a captured request cannot be replayed outside the
tolerance window."""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "x-sandbox-timestamp"
SIGNATURE_HEADER = "x-sandbox-signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(secret, ts, body), "content-type": "application/json"}


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes,
           tolerance_seconds: int) -> str | None:
    """None when the signature is good and fresh, else why not (for the log, never the caller)."""
    if not timestamp or not signature:
        return "missing signature headers"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "malformed timestamp"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "bad signature"
    if abs(time.time() - int(timestamp)) > tolerance_seconds:
        return "timestamp outside the tolerance window"
    return None
