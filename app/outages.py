"""Riding out PostgreSQL and Redis outages: which errors mean "a server is unreachable", and a
backoff that logs the first failure of an outage and its end instead of every retry.

The worker's job loop, its jobs, the outbox relay and the API's event broadcaster all retry the
same way, so a restart of either server costs a pause, never a dead process or a page of logs.
"""

import asyncio
import time

import asyncpg
import redis.exceptions
import structlog

_UNREACHABLE = (
    OSError,                                   # refused, reset, timed out, socket gone
    redis.exceptions.ConnectionError,          # includes "loading the dataset"
    redis.exceptions.TimeoutError,
    asyncpg.PostgresConnectionError,           # includes "closed in the middle of operation"
    asyncpg.CannotConnectNowError,             # starting up or shutting down
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def is_unreachable(exc: BaseException | None) -> bool:
    """True when `exc`, or what caused it, says PostgreSQL or Redis cannot be reached (rather
    than a bug or a refusal). The API answers these with 503, the worker waits them out."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, _UNREACHABLE) or (
                # asyncpg's answer for a pooled connection used after its server went away
                isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class Outage:
    """One component's view of an outage: `failed` logs only the first failure and returns how
    long to wait before the next attempt (doubling up to `max_delay`); `recovered` logs the end."""

    def __init__(self, component: str, first_delay: float = 0.1, max_delay: float = 2.0) -> None:
        self.component = component
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._delay = first_delay
        self._since: float | None = None
        self._log = structlog.get_logger("outage")

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> float:
        if self._since is None:
            self._since = time.monotonic()
            self._log.warning(f"{self.component}: a server is unreachable; retrying until it is back",
                              error=f"{type(exc).__name__}: {exc}")
        delay, self._delay = self._delay, min(self._delay * 2, self.max_delay)
        return delay

    async def wait(self, exc: BaseException) -> None:
        await asyncio.sleep(self.failed(exc))

    def recovered(self) -> None:
        if self._since is not None:
            self._log.warning(f"{self.component}: reconnected",
                              outage_seconds=round(time.monotonic() - self._since, 1))
            self._since = None
        self._delay = self.first_delay
