"""Our client of a payment provider's HTTP API: "unified order" (create the transaction the buyer
pays) and refund, each request signed with the provider's shared secret. Today the only provider
is the sandbox (app/sandbox/), which speaks this API; a real one gets its own adapter here."""

import json
from dataclasses import dataclass

import httpx

from app.config import Settings
from app.signing import signed_headers

SANDBOX = "sandbox"
PROVIDER_TIMEOUT_SECONDS = 10
MAX_CONNECTIONS = 100


def http_client() -> httpx.AsyncClient:
    """The process's one HTTP client (API: app.state.http, made in the lifespan; worker:
    ctx["http"], made at startup): its connection pool is reused by every call instead of a new
    pool and TLS handshake per payment, refund or sandbox callback. Every connection it may open
    is kept alive (httpx keeps 20 by default): with the worker's 100 jobs pushing at once, the
    other 80 would be a new TCP connection per request, on both sides (docs/PERFORMANCE.md)."""
    return httpx.AsyncClient(timeout=PROVIDER_TIMEOUT_SECONDS,
                             limits=httpx.Limits(max_connections=MAX_CONNECTIONS,
                                                 max_keepalive_connections=MAX_CONNECTIONS))


class ProviderUnavailable(Exception):
    """The provider could not be reached or refused the request; nothing was agreed with it."""


@dataclass(frozen=True)
class ProviderTransaction:
    txn_id: str
    pay_url: str


class PaymentGateway:
    def __init__(self, provider: str, api_url: str, secret: str, notify_url: str, http: httpx.AsyncClient) -> None:
        self.provider = provider
        self.api_url = api_url
        self.secret = secret
        self.notify_url = notify_url
        self.http = http

    async def create_transaction(self, payment_id: int, amount: int, channel: str,
                                 auth_level: str) -> ProviderTransaction:
        """The provider's transaction for our payment (reference = payment id); it asks the buyer
        for the authentication risk decided (`auth_level`) and calls `notify_url` once paid."""
        body = await self._post("/v1/transactions", {"reference": str(payment_id), "amount": amount,
                                                     "channel": channel, "auth_level": auth_level,
                                                     "notify_url": self.notify_url})
        return ProviderTransaction(body["txn_id"], body["pay_url"])

    async def create_refund(self, txn_id: str, refund_id: int, amount: int) -> str:
        """Ask for a refund of a paid transaction; the provider dedupes on our refund id, so a
        retried job never refunds twice. Returns the provider's refund id."""
        body = await self._post("/v1/refunds", {"txn_id": txn_id, "refund_reference": str(refund_id),
                                                "amount": amount, "notify_url": self.notify_url})
        return body["refund_id"]

    async def _post(self, path: str, payload: dict) -> dict:
        raw = json.dumps(payload).encode()
        try:
            response = await self.http.post(self.api_url + path, content=raw, headers=signed_headers(self.secret, raw))
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{self.provider} unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ProviderUnavailable(f"{self.provider} answered {response.status_code}: {response.text[:200]}")
        return response.json()


def provider_secret(settings: Settings, provider: str) -> str | None:
    """The secret a provider signs its callbacks with; None for a provider we do not accept."""
    if provider == SANDBOX and settings.sandbox_on:
        return settings.sandbox_provider_secret
    return None


def gateway_for(settings: Settings, provider: str | None, http: httpx.AsyncClient) -> PaymentGateway:
    secret = None if provider is None else provider_secret(settings, provider)
    if provider is None or secret is None:
        raise ProviderUnavailable(f"payment provider {provider!r} is not configured")
    return PaymentGateway(provider, f"{settings.base_url}/sandbox", secret,
                          f"{settings.base_url}/webhooks/payments/{provider}", http)


def current_provider(settings: Settings) -> str | None:
    """The provider new payments go to (the sandbox outside production unless turned off)."""
    return SANDBOX if settings.sandbox_on else None
