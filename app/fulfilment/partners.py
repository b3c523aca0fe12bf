"""Our client of the partner systems shipments are pushed to (DOMAIN §6): a warehouse's own
endpoint, or for a dropship supplier's warehouse with none of its own, the supplier's. Every
request is HMAC-signed with the partner's secret (app/signing.py) and carries the
shipment's idempotency key, on which the partner dedupes: a push retried after a timeout or a
killed worker never makes a second parcel.

Partner API (the sandbox, app/sandbox/partners.py, speaks it):
- `POST {base}/shipments` {idempotency_key, shipment_id, order_id, kind, lines, address} →
  200 {"status": "ACCEPTED", "partner_ref"} (again for a repeat), or {"status": "CANCELLED"} for
  a key intercepted before it arrived;
- `POST {base}/shipments/{idempotency_key}/cancel` → {"status": "CANCELLED" | "TOO_LATE"}.
Their notices come back to POST /webhooks/fulfilment/<partner code> (app/fulfilment/webhooks.py).
"""

import json
from dataclasses import dataclass

import asyncpg
import httpx

from app.config import Settings
from app.sandbox import SANDBOX_SCHEME, partner_url
from app.signing import signed_headers

IDEMPOTENCY_HEADER = "idempotency-key"


class PartnerUnavailable(Exception):
    """The partner could not be reached or refused the request; nothing was agreed with it."""


@dataclass(frozen=True)
class Partner:
    warehouse_id: int
    endpoint_url: str
    secret: str


def idempotency_key(shipment_id: int) -> str:
    """One per shipment, whatever the attempt or generation: the partner makes one parcel of it."""
    return f"shipment-{shipment_id}"


def shipment_of_key(key: object) -> int | None:
    if isinstance(key, str) and key.startswith("shipment-") and key[9:].isdigit() and len(key) <= 27:
        return int(key[9:])
    return None


_PARTNER = ("SELECT w.id, coalesce(w.endpoint_url, s.endpoint_url) AS endpoint_url,"
            " coalesce(w.secret, s.secret) AS secret FROM warehouses w LEFT JOIN suppliers s ON s.id = w.supplier_id")


async def partner_of(conn: asyncpg.Connection, warehouse_id: int) -> Partner | None:
    """Where the warehouse's shipments are pushed; None when it has no partner system."""
    row = await conn.fetchrow(f"{_PARTNER} WHERE w.id = $1", warehouse_id)
    if row is None or row["endpoint_url"] is None or row["secret"] is None:
        return None
    return Partner(row["id"], row["endpoint_url"], row["secret"])


async def partner_by_code(conn: asyncpg.Connection, code: str) -> Partner | None:
    """The partner whose notices arrive under `code`: its warehouse's partner_code, or the code
    of a sandbox endpoint (sandbox://fulfilment/<code>)."""
    row = await conn.fetchrow(f"{_PARTNER} WHERE w.partner_code = $1 OR coalesce(w.endpoint_url, s.endpoint_url) = $2"
                              " ORDER BY w.partner_code = $1 DESC NULLS LAST, w.id LIMIT 1",
                              code, f"{SANDBOX_SCHEME}fulfilment/{code}")
    if row is None or row["endpoint_url"] is None or row["secret"] is None:
        return None
    return Partner(row["id"], row["endpoint_url"], row["secret"])


async def _post(settings: Settings, http: httpx.AsyncClient, partner: Partner, path: str, key: str,
                payload: dict) -> dict:
    raw = json.dumps(payload).encode()
    url = partner_url(settings, partner.endpoint_url) + path
    try:
        response = await http.post(url, content=raw, timeout=settings.fulfilment_push_timeout_seconds,
                                   headers={**signed_headers(partner.secret, raw), IDEMPOTENCY_HEADER: key})
    except httpx.HTTPError as exc:
        raise PartnerUnavailable(f"partner unreachable: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise PartnerUnavailable(f"partner answered {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise PartnerUnavailable("partner answered something that is not JSON") from exc
    if not isinstance(body, dict):
        raise PartnerUnavailable("partner answered something that is not an object")
    return body


async def push(settings: Settings, http: httpx.AsyncClient, partner: Partner, order: dict) -> dict:
    """Hand the shipment to the partner: its answer (status ACCEPTED with partner_ref, or CANCELLED)."""
    body = await _post(settings, http, partner, "/shipments", order["idempotency_key"], order)
    if body.get("status") == "ACCEPTED" and isinstance(body.get("partner_ref"), str) and body["partner_ref"]:
        return body
    if body.get("status") == "CANCELLED":
        return body
    raise PartnerUnavailable(f"partner answered an unknown status: {str(body)[:200]}")


async def cancel_at_partner(settings: Settings, http: httpx.AsyncClient, partner: Partner | None,
                            shipment_id: int) -> str:
    """Intercept the shipment at its partner: CANCELLED (it will not ship; a push arriving later
    is refused) or TOO_LATE (it left). No partner system: nobody holds it, CANCELLED."""
    if partner is None:
        return "CANCELLED"
    key = idempotency_key(shipment_id)
    body = await _post(settings, http, partner, f"/shipments/{key}/cancel", key, {"idempotency_key": key})
    if body.get("status") not in ("CANCELLED", "TOO_LATE"):
        raise PartnerUnavailable(f"partner answered an unknown status: {str(body)[:200]}")
    return body["status"]
