"""Downloading a provider's daily statement (today the sandbox's, app/sandbox/statements.py):
a signed GET of `<provider API>/statements/<day>.csv`, parsed into rows."""

import csv
import io
from dataclasses import dataclass
from datetime import date

import httpx

from app.config import Settings
from app.payments.gateway import provider_secret
from app.signing import signed_headers

COLUMNS = ["type", "id", "txn_id", "reference", "amount", "occurred_at"]


class StatementUnavailable(Exception):
    """The statement could not be fetched or read; nothing was compared."""


@dataclass(frozen=True)
class Row:
    type: str                 # PAYMENT | REFUND
    id: str                   # the provider's transaction or refund id
    txn_id: str
    reference: str            # our payment id / refund id
    amount: int
    occurred_at: str


def parse(text: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != COLUMNS:
        raise StatementUnavailable(f"unexpected statement columns {reader.fieldnames}")
    rows = []
    for n, r in enumerate(reader, start=2):
        if r["type"] not in ("PAYMENT", "REFUND") or not r["id"] or not r["amount"].lstrip("-").isdigit():
            raise StatementUnavailable(f"statement line {n} is malformed")
        rows.append(Row(r["type"], r["id"], r["txn_id"], r["reference"], int(r["amount"]), r["occurred_at"]))
    return rows


async def download(http: httpx.AsyncClient, settings: Settings, provider: str, day: date) -> list[Row]:
    secret = provider_secret(settings, provider)
    if secret is None:
        raise StatementUnavailable(f"payment provider {provider!r} is not configured")
    url = f"{settings.base_url}/sandbox/statements/{day.isoformat()}.csv"
    try:
        response = await http.get(url, headers=signed_headers(secret, b""))
    except httpx.HTTPError as exc:
        raise StatementUnavailable(f"{provider} statement unreachable: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise StatementUnavailable(f"{provider} statement answered {response.status_code}")
    return parse(response.text)
