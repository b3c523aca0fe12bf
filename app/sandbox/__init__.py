"""The sandbox payment provider (DOMAIN §7): "the outside world" shipped with the project so a
developer or a test can pay without a real provider. It speaks real HTTP, keeps its state in
Redis, signs its callbacks with its own secret, and is mounted under /sandbox/ only when
`settings.sandbox_on` (never in production unless explicitly enabled with a real secret).

Partner systems (fulfilment warehouses and suppliers, top-up suppliers) live here too; their
rows name them `sandbox://<service>/<partner-code>`, resolved by `partner_url`."""

from app.config import Settings

SANDBOX_SCHEME = "sandbox://"


def partner_url(settings: Settings, endpoint_url: str) -> str:
    """A partner's HTTP base URL: `sandbox://<service>/<code>` is this app's own sandbox (so demo
    rows work on any port), anything else is used as it is."""
    if endpoint_url.startswith(SANDBOX_SCHEME):
        return f"{settings.base_url}/sandbox/{endpoint_url.removeprefix(SANDBOX_SCHEME)}"
    return endpoint_url.rstrip("/")
