"""Our client of a REALTIME_API supplier's recharge API (the sandbox, app/sandbox/topup.py,
speaks it): buy (deduped by the supplier on our idempotency key, the purchase id) and query a
purchase by that key. Every request is signed with the supplier's secret (HMAC over the body,
app/signing.py). An answer is an `Answer`; what cannot be known — a timeout, a 5xx, a
broken connection — is UNKNOWN, never a failure, since the supplier may have recharged."""

import json
from dataclasses import dataclass
from enum import StrEnum

import httpx

from app.config import Settings
from app.sandbox import partner_url
from app.signing import signed_headers


class Outcome(StrEnum):
    SUCCEEDED = "SUCCEEDED"      # recharged
    FAILED = "FAILED"            # definitely not recharged (the supplier refused)
    PROCESSING = "PROCESSING"    # accepted, not finished yet
    NOT_FOUND = "NOT_FOUND"      # (query) the supplier never got our purchase
    UNKNOWN = "UNKNOWN"          # no usable answer


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    supplier_ref: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Supplier:
    id: int
    endpoint_url: str
    secret: str


@dataclass(frozen=True)
class Item:
    sku_code: str                # the supplier's code for the SKU (supplier_skus)
    quantity: int


def _base(settings: Settings, supplier: Supplier) -> str:
    return partner_url(settings, supplier.endpoint_url).rstrip("/")


async def buy(http: httpx.AsyncClient, settings: Settings, supplier: Supplier, key: str, account: str,
              items: list[Item]) -> Answer:
    raw = json.dumps({"reference": key, "account": account,
                      "items": [{"sku_code": i.sku_code, "quantity": i.quantity} for i in items]}).encode()
    return await _call(http, settings, "POST", f"{_base(settings, supplier)}/v1/purchases", supplier.secret, raw)


async def query(http: httpx.AsyncClient, settings: Settings, supplier: Supplier, key: str) -> Answer:
    return await _call(http, settings, "GET", f"{_base(settings, supplier)}/v1/purchases/{key}", supplier.secret, b"")


async def _call(http: httpx.AsyncClient, settings: Settings, method: str, url: str, secret: str,
                raw: bytes) -> Answer:
    try:
        response = await http.request(method, url, content=raw or None, headers=signed_headers(secret, raw),
                                      timeout=settings.topup_http_timeout_seconds)
    except httpx.HTTPError as exc:
        return Answer(Outcome.UNKNOWN, detail=f"{type(exc).__name__}")
    if response.status_code == 404 and method == "GET":
        return Answer(Outcome.NOT_FOUND, detail="the supplier has no such purchase")
    if response.status_code >= 500:
        return Answer(Outcome.UNKNOWN, detail=f"HTTP {response.status_code}")
    if response.status_code != 200:
        # the supplier refused the request itself (bad signature, unknown SKU): nothing was recharged
        return Answer(Outcome.FAILED, detail=f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
        outcome = Outcome(body["status"])
    except (ValueError, KeyError, TypeError):
        return Answer(Outcome.UNKNOWN, detail="unreadable answer")
    if outcome in (Outcome.NOT_FOUND, Outcome.UNKNOWN):
        return Answer(Outcome.UNKNOWN, detail="unexpected status")
    return Answer(outcome, body.get("supplier_ref"), str(body.get("reason") or ""))
