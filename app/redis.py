"""Redis clients: one pool per process for commands; arq settings from the same URL."""

from arq.connections import RedisSettings
from redis.asyncio import Redis


def connect_redis(url: str) -> Redis:
    return Redis.from_url(url, decode_responses=True, max_connections=50)


def arq_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)
