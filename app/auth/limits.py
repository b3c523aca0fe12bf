"""Abuse limits in Redis: fixed windows per login name and per client IP.

A login attempt is counted when it starts (so a burst of parallel guesses cannot all pass a
check made before any of them failed) and given back when it succeeds: only failures use up
the limit. A success also clears its account's failures; the IP's count keeps the other
failures, so one good account cannot launder a spray from the same address.
"""

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from app.auth.errors import AuthError
from app.config import Settings
from app.errors import DomainError


@dataclass(frozen=True)
class LoginAttempt:
    account_key: str
    ip_key: str | None
    window: int


async def _count(redis: Redis, window: int, limits: list[tuple[str, int]]) -> bool:
    """Adds one to each key of this window; True while every count is within its limit."""
    async with redis.pipeline(transaction=False) as pipe:
        for key, _ in limits:
            pipe.incr(key)
            pipe.expire(key, window)
        counts = (await pipe.execute())[::2]
    return all(count <= limit for count, (_, limit) in zip(counts, limits))


async def start_login_attempt(redis: Redis, settings: Settings, account: str, ip: str | None) -> LoginAttempt:
    """`account`: the normalised phone or username, so case or width variants count together."""
    window = settings.login_window_seconds
    bucket = int(time.time()) // window
    attempt = LoginAttempt(f"rl:login:who:{account}:{bucket}", f"rl:login:ip:{ip}:{bucket}" if ip else None, window)
    limits = [(attempt.account_key, settings.login_attempts_per_phone)]
    if attempt.ip_key:
        limits.append((attempt.ip_key, settings.login_attempts_per_ip))
    if not await _count(redis, window, limits):
        raise DomainError.of(AuthError.TOO_MANY_ATTEMPTS, "too many failed login attempts; try again later")
    return attempt


async def login_succeeded(redis: Redis, attempt: LoginAttempt) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.delete(attempt.account_key)
        if attempt.ip_key:
            # the window may have ended meanwhile: the old bucket's key then expires again
            pipe.decr(attempt.ip_key)
            pipe.expire(attempt.ip_key, attempt.window)
        await pipe.execute()


async def count_registration(redis: Redis, settings: Settings, ip: str | None) -> None:
    """Every sign-up attempt counts (a refused one probes which phones are registered)."""
    if not ip:
        return
    window = settings.register_window_seconds
    key = f"rl:register:ip:{ip}:{int(time.time()) // window}"
    if not await _count(redis, window, [(key, settings.register_attempts_per_ip)]):
        raise DomainError.of(AuthError.TOO_MANY_ATTEMPTS, "too many sign-ups from this address; try again later")


async def count_sends(redis: Redis, settings: Settings, what: str, ip: str | None, limit: int) -> None:
    """Messages sent on behalf of one client IP (e.g. SMS codes), per registration window."""
    if not ip:
        return
    window = settings.register_window_seconds
    key = f"rl:{what}:ip:{ip}:{int(time.time()) // window}"
    if not await _count(redis, window, [(key, limit)]):
        raise DomainError.of(AuthError.TOO_MANY_ATTEMPTS, "too many messages sent for this address; try again later")
