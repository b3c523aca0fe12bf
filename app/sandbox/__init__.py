"""The sandbox payment provider (DOMAIN §7) and partner systems (§6): "the outside world" shipped
with the project so a developer or a test can pay, push and buy without a real provider. They
speak real HTTP, keep their state in Redis, sign what they send with their own secret, and are
mounted under /sandbox/ only when `settings.sandbox_on` (never in production unless explicitly
enabled with real secrets)."""

from app.config import Settings

SANDBOX_SCHEME = "sandbox://"


def partner_url(settings: Settings, endpoint_url: str) -> str:
    """A partner endpoint as stored (`http(s)://…` or `sandbox://<service>/<partner code>`) as a
    URL to call: sandbox partners live under this app's own base URL, so demo rows work on any port."""
    if endpoint_url.startswith(SANDBOX_SCHEME):
        return f"{settings.base_url}/sandbox/{endpoint_url.removeprefix(SANDBOX_SCHEME)}"
    return endpoint_url
