"""Redis clients: one pool per process for commands; arq settings from the same URL."""

from arq.connections import RedisSettings
from redis.asyncio import BlockingConnectionPool, Redis


def connect_redis(url: str) -> Redis:
    """A burst of requests waits (up to 5 s) for a free connection instead of failing with
    "Too many connections", which lost job enqueues under callback load."""
    pool = BlockingConnectionPool.from_url(url, decode_responses=True, max_connections=50, timeout=5)
    return Redis.from_pool(pool)


def arq_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)
