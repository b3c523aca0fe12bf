"""Our client of the payout channel's HTTP API (today the sandbox, app/sandbox/payouts.py): send
a payout for a withdrawal (the channel dedupes on the withdrawal id, so a retried job pays
once) and ask how one ended. Every request is signed with the channel's secret."""

import json
from dataclasses import dataclass
from enum import StrEnum

import httpx

from app.config import Settings
from app.signing import signed_headers

SANDBOX = "sandbox"


class Outcome(StrEnum):
    ACCEPTED = "ACCEPTED"         # taken; the callback will say PAID or FAILED
    PAID = "PAID"
    FAILED = "FAILED"             # the channel failed it (definite)
    REFUSED = "REFUSED"           # the channel refused the request itself (4xx: definite, nothing paid)
    NOT_FOUND = "NOT_FOUND"       # (queries) the channel never got it
    UNAVAILABLE = "UNAVAILABLE"   # timeout, 5xx, connection error: unknown, ask again


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    channel_ref: str | None = None
    detail: str = ""


def channel_secret(settings: Settings, channel: str) -> str | None:
    """The secret a payout channel signs with; None for one we do not use."""
    if channel == SANDBOX and settings.sandbox_on:
        return settings.sandbox_payout_secret
    return None


def reference(settings: Settings, withdrawal_id: int) -> str:
    """What the channel dedupes on: the withdrawal, under this deployment's prefix."""
    return f"{settings.payout_reference_prefix}-{withdrawal_id}"


def withdrawal_of(settings: Settings, ref: object) -> int | None:
    prefix = settings.payout_reference_prefix + "-"
    if isinstance(ref, str) and ref.startswith(prefix) and ref[len(prefix):].isdigit() and len(ref) <= 64:
        return int(ref[len(prefix):])
    return None


def _base(settings: Settings) -> str:
    return f"{settings.base_url}/sandbox/payouts"


def _answer(response: httpx.Response) -> Answer:
    if response.status_code == 404:
        return Answer(Outcome.NOT_FOUND)
    if response.status_code >= 500:
        return Answer(Outcome.UNAVAILABLE, detail=f"answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return Answer(Outcome.UNAVAILABLE, detail="answer is not JSON")
    if response.status_code != 200:
        return Answer(Outcome.REFUSED, detail=str(body.get("error", response.status_code))[:200])
    status = body.get("status")
    outcome = {"PROCESSING": Outcome.ACCEPTED, "PAID": Outcome.PAID, "FAILED": Outcome.FAILED}.get(status)
    if outcome is None:
        return Answer(Outcome.UNAVAILABLE, detail=f"unknown status {status!r}")
    return Answer(outcome, body.get("payout_id"), str(body.get("reason") or ""))


async def send(http: httpx.AsyncClient, settings: Settings, channel: str, withdrawal_id: int, amount: int,
               payee: str) -> Answer:
    secret = channel_secret(settings, channel)
    if secret is None:
        return Answer(Outcome.UNAVAILABLE, detail=f"payout channel {channel!r} is not configured")
    raw = json.dumps({"reference": reference(settings, withdrawal_id), "amount": amount, "payee": payee}).encode()
    try:
        response = await http.post(_base(settings) + "/v1/payouts", content=raw, headers=signed_headers(secret, raw),
                                   timeout=settings.payout_http_timeout_seconds)
    except httpx.HTTPError as exc:
        return Answer(Outcome.UNAVAILABLE, detail=type(exc).__name__)
    return _answer(response)


async def query(http: httpx.AsyncClient, settings: Settings, channel: str, withdrawal_id: int) -> Answer:
    secret = channel_secret(settings, channel)
    if secret is None:
        return Answer(Outcome.UNAVAILABLE, detail=f"payout channel {channel!r} is not configured")
    try:
        response = await http.get(f"{_base(settings)}/v1/payouts/{reference(settings, withdrawal_id)}", headers=signed_headers(secret, b""),
                                  timeout=settings.payout_http_timeout_seconds)
    except httpx.HTTPError as exc:
        return Answer(Outcome.UNAVAILABLE, detail=type(exc).__name__)
    return _answer(response)
