"""Per-request context: services' handles, the caller, and this request's DataLoaders."""

from dataclasses import dataclass, field
from functools import cached_property

import httpx
import strawberry
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.websockets import WebSocket

from app.auth.principal import Principal
from app.config import Settings
from app.db import Database
from app.events import Broadcaster


@dataclass
class Context:
    db: Database
    redis: Redis
    settings: Settings
    broadcaster: Broadcaster
    principal: Principal | None = None
    auth_problem: str | None = None      # why a presented token was not accepted
    connection_params: dict | None = None  # websocket connection_init payload
    client_ip: str | None = None
    request: Request | WebSocket | None = None
    response: object | None = None
    # Subscriptions share one context for a whole websocket; their loaders must not cache.
    cache_loaders: bool = True
    _extra: dict = field(default_factory=dict)

    @property
    def caller(self) -> Principal:
        """The signed-in caller, for resolvers whose permission class already refused anonymous ones."""
        assert self.principal is not None, "a permission class lets only signed-in callers through"
        return self.principal

    @property
    def http(self) -> httpx.AsyncClient:
        """The process's shared HTTP client (made in the app's lifespan), for operations that call out."""
        assert self.request is not None, "operations that call out run on a request"
        return self.request.app.state.http

    @cached_property
    def loaders(self):
        from schema.loaders import Loaders
        return Loaders(self.db, cache=self.cache_loaders)


Info = strawberry.Info[Context, None]
