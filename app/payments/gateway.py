"""Our client of a payment provider's HTTP API: "unified order" (create the transaction the buyer
pays) and refund, each request signed with the provider's shared secret. Today the only provider
is the sandbox (app/sandbox/), which speaks this API; a real one gets its own adapter here."""

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from app.config import Settings
from app.signing import signed_headers

SANDBOX = "sandbox"
PROVIDER_TIMEOUT_SECONDS = 10
MAX_CONNECTIONS = 100


POOLS = 10     # the shared client's connections are spread over this many pools (`_Pools`)


class _Released(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed (the connection is free again)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream, self._release = stream, release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._release()


class _Pools(httpx.AsyncBaseTransport):
    """httpx's own transport, as `pools` pools of an equal share of the connections, each request
    sent through the pool with the fewest in flight. httpcore's pool looks at every one of its
    connections on every request and every response (a readability probe of each idle socket, and
    a scan quadratic in idle connections: encode/httpcore#1035), so one pool of 100 connections
    busy with pushes spent more CPU on that bookkeeping than on the requests (docs/PERFORMANCE.md).
    With no more requests in flight than connections, the least busy pool always has one free:
    no request waits in a pool."""

    def __init__(self, max_connections: int, pools: int) -> None:
        share = max(1, max_connections // pools)
        self._pools = [httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=share,
                                                                    max_keepalive_connections=share))
                       for _ in range(pools)]
        self._in_flight = [0] * pools

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        i = min(range(len(self._pools)), key=self._in_flight.__getitem__)
        self._in_flight[i] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._in_flight[i] -= 1
        try:
            response = await self._pools[i].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_Released(response.stream, release), extensions=response.extensions)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def http_client() -> httpx.AsyncClient:
    """The process's one HTTP client (API: app.state.http, made in the lifespan; worker:
    ctx["http"], made at startup): its connections are reused by every call instead of a new
    pool and TLS handshake per payment, refund, push or sandbox callback. Every connection it may
    open is kept alive (httpx keeps 20 by default): with the worker's pushes in flight at once,
    the other 80 would be a new TCP connection per request, on both sides. They are spread over
    `POOLS` pools (`_Pools`), so the client's bookkeeping per request stays small
    (docs/PERFORMANCE.md)."""
    return httpx.AsyncClient(timeout=PROVIDER_TIMEOUT_SECONDS, transport=_Pools(MAX_CONNECTIONS, POOLS))


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
