"""The ASGI application: Starlette routes, GraphQL over HTTP and graphql-transport-ws,
health probes, request ids, body limits, and the process-wide pools."""

import contextlib
import gc
import re
import time
import uuid

import orjson
import structlog
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from app.auth.service import authenticate_bearer
from app.catalog.index import prepare_search
from app.config import Settings, get_settings
from app.db import Database, StatementCount
from app.events import Broadcaster
from app.fulfilment.webhooks import webhook_routes as fulfilment_webhook_routes
from app.logs import configure_logging
from app.payments.gateway import http_client
from app.payments.webhooks import webhook_routes
from app.payouts.webhooks import payout_webhook_routes
from app.redis import connect_redis
from app.sandbox.logistics import logistics_routes
from app.sandbox.partners import partner_routes
from app.sandbox.payouts import payout_routes
from app.sandbox.provider import sandbox_routes
from app.sandbox.sms import sms_routes
from app.sandbox.statements import statement_routes
from app.sandbox.topup import topup_routes
from app.supply.webhooks import supplier_routes
from app.uploads.storage import storage_for
from schema.context import Context
from schema.errors import RETRY_AFTER_SECONDS, is_outage
from schema.graphiql import LocalGraphiQL, graphiql_assets_route
from schema.response_cache import ResponseCache, cache_key
from schema.root import build_schema
from schema.uploads import body_limit, decoding_slots, upload_routes

log = structlog.get_logger("api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class _TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages as text frames: browser clients (graphql-ws, GraphiQL's
    subscriptions) refuse binary ones, which orjson's bytes would otherwise become."""

    async def send_json(self, message) -> None:
        try:
            encoded = self.view.encode_json(message)   # bytes from GraphQLApp's orjson
            await self.ws.send_text(encoded if isinstance(encoded, str) else encoded.decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLApp(LocalGraphiQL, GraphQL[Context, None]):
    """Strawberry's ASGI app with our context; one per schema variant."""

    websocket_adapter_class = _TextFrames

    def encode_json(self, data: object) -> bytes:
        """orjson: a tenth of json.dumps' CPU on a listing page; UTF-8 text instead of \\u escapes."""
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        """orjson refuses invalid UTF-8 and lone surrogates (json.loads let the first through as
        an HTTP 500 and the second on to PostgreSQL); its JSONDecodeError becomes a 400."""
        return orjson.loads(data)

    async def run(self, request, context=UNSET, root_value=UNSET):
        """A request refused before GraphQL runs (body not JSON, no query, a GET mutation) is
        answered in the GraphQL error shape with a code, like every other refusal."""
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            if self.is_websocket_request(request):
                raise
            return coded_error(exc.reason, "NOT_FOUND" if exc.status_code == 404 else "BAD_REQUEST",
                               exc.status_code)

    async def get_context(self, request, response) -> Context:
        state = request.app.state
        scope = request.scope
        ctx = Context(db=state.db, redis=state.redis, settings=state.settings,
                      broadcaster=state.broadcaster, principal=scope.get("principal"),
                      auth_problem=scope.get("auth_problem"),
                      client_ip=request.client.host if request.client else None,
                      request=request, response=response)
        if scope["type"] == "websocket":
            ctx.cache_loaders = False
        return ctx

    async def on_ws_connect(self, context: Context):
        """Authenticate the websocket once, from `connection_init` {"authorization": "Bearer …"}."""
        raw = (context.connection_params or {}).get("authorization") or ""
        if raw:
            principal, problem = await authenticate_bearer(context.settings, context.redis, str(raw), context.db)
            if principal is None:
                log.info("websocket rejected", reason=problem)
                raise ConnectionRejectionError({"reason": problem})  # closes with 4403
            context.principal = principal
        return UNSET


def coded_error(message: str, code: str, status: int, headers: dict | None = None) -> Response:
    return Response(orjson.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}),
                    status_code=status, media_type="application/json", headers=headers)


def service_unavailable() -> Response:
    return coded_error("The service is briefly unavailable; retry shortly.", "SERVICE_UNAVAILABLE", 503,
                       {"retry-after": str(RETRY_AFTER_SECONDS)})


def _wants_graphiql_page(scope, headers: dict[str, str]) -> bool:
    """The GraphiQL page itself: a browser GET of HTML without a query (Strawberry's own test)."""
    return (scope["method"] == "GET" and "text/html" in headers.get("accept", "")
            and b"query=" not in scope.get("query_string", b""))


class RequestMiddleware:
    """Request id, body and websocket message size limits, bearer token decoding, outages as
    503, access log with SQL count."""

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        rid = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            if scope["type"] == "websocket":
                receive, send = self._capped_websocket(receive, send)
                return await self._timed(scope, receive, send, rid)
            if (int(headers.get("content-length") or 0) > self.settings.max_body_bytes
                    and not _is_upload(scope)):   # POST /uploads answers its own limit in JSON
                return await PlainTextResponse("request body too large", 413)(scope, receive, send)
            auth = headers.get("authorization", "")
            if not auth and _wants_graphiql_page(scope, headers):  # back-office browsers
                m = re.search(r"(?:^|;\s*)access_token=([^;]+)", headers.get("cookie", ""))
                auth = m.group(1) if m else ""
            if auth:
                try:
                    state = scope["app"].state
                    scope["principal"], scope["auth_problem"] = await authenticate_bearer(
                        self.settings, state.redis, auth, state.db)
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    log.warning("service unavailable", error=f"{type(exc).__name__}: {exc}")
                    return await service_unavailable()(scope, receive, send)
            await self._timed(scope, receive, send, rid)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")

    def _capped_websocket(self, receive, send):
        """Close the websocket (1009, "message too big") on a message over the limit; the app
        then sees a disconnect and whatever it still sends is dropped. uvicorn's `ws_max_size`
        should carry the same limit so the server never buffers more."""
        limit = self.settings.max_ws_message_bytes
        closed = False

        async def capped_receive():
            nonlocal closed
            message = await receive()
            if message["type"] == "websocket.receive":
                size = len(message.get("text") or "") + len(message.get("bytes") or b"")
                if size > limit:
                    log.info("websocket message too big", bytes=size, limit=limit)
                    closed = True
                    await send({"type": "websocket.close", "code": 1009, "reason": "message too big"})
                    return {"type": "websocket.disconnect", "code": 1009}
            return message

        async def guarded_send(message):
            if not closed:
                await send(message)
        return capped_receive, guarded_send

    async def _timed(self, scope, receive, send, rid):
        status = {"code": 0}
        # uploads stop reading at their own limit; this one is the backstop a little above it
        limit = body_limit(self.settings) + 64 * 1024 if _is_upload(scope) else self.settings.max_body_bytes
        seen = {"bytes": 0}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > limit:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                if self.settings.sql_count_header:
                    headers.append((b"x-sql-statements", str(counter.value).encode()))
                message = {**message, "headers": headers}
            await send(message)

        t0 = time.perf_counter()
        with StatementCount() as counter:
            try:
                await self.app(scope, limited_receive if scope["type"] == "http" else receive, send_with_id)
            except _BodyTooLarge:
                await PlainTextResponse("request body too large", 413)(scope, receive, send)
                status["code"] = 413
            except Exception as exc:
                # a bug, a websocket, or an answer already under way
                if scope["type"] != "http" or status["code"] or not is_outage(exc):
                    raise
                log.warning("service unavailable", error=f"{type(exc).__name__}: {exc}")
                await service_unavailable()(scope, receive, send)
                status["code"] = 503
        if scope["type"] == "http" and scope["path"] not in ("/healthz", "/readyz"):
            log.info("request", method=scope["method"], path=scope["path"], status=status["code"],
                     ms=round((time.perf_counter() - t0) * 1000, 1), sql=counter.value)


class _BodyTooLarge(Exception):
    pass


def _is_upload(scope) -> bool:
    return scope["type"] == "http" and scope["path"] == "/uploads" and scope["method"] == "POST"


class _AsgiEndpoint:
    """Starlette treats plain functions as request handlers; an object is mounted as ASGI."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


async def _serve_cached(cache: ResponseCache, max_tokens: int, app, scope, receive, send) -> None:
    """Answer an anonymous query from the cache, or run it and keep a clean 200 answer."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    key = cache_key(body, max_tokens)
    hit = cache.get(key) if key else None
    if hit is not None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"x-cache", b"hit"),
                                (b"content-length", str(len(hit)).encode())]})
        await send({"type": "http.response.body", "body": hit})
        return
    replayed = False

    async def replay():
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, out = 0, []

    async def capture(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.append(message.get("body", b""))
        await send(message)

    await app(scope, replay, capture)
    if key and status == 200:
        cache.put(key, b"".join(out))


async def healthz(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks = {}
    try:
        await state.db.fetchval("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await state.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging(settings.json_logs, settings.log_level)
    schema = build_schema(settings)
    full = GraphQLApp(schema, graphql_ide="graphiql", keep_alive=True,
                      subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])
    if settings.is_production:
        public = GraphQLApp(build_schema(settings, introspection=False), graphql_ide=None, keep_alive=True,
                            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL])
    else:
        public = full

    cache = (ResponseCache(settings.response_cache_seconds, max_total_bytes=settings.response_cache_max_bytes)
             if settings.response_cache_seconds > 0 else None)

    async def graphql_endpoint(scope, receive, send):
        """Admins (and everyone outside production) get GraphiQL and introspection."""
        principal = scope.get("principal")
        app = full if principal is not None and principal.is_admin else public
        # A device token names an anonymous cart (schema/cart.py): such answers are never shared.
        anonymous = (principal is None and scope.get("auth_problem") is None
                     and not any(name == b"x-device-token" for name, _ in scope["headers"]))
        if cache is not None and anonymous and scope["type"] == "http" and scope["method"] == "POST":
            await _serve_cached(cache, settings.max_tokens, app, scope, receive, send)
        else:
            await app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        if not settings.database_url or not settings.redis_url:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be set (the `ecom dev` command sets them)")
        app.state.settings = settings
        app.state.db = await Database.connect(settings.database_url, min_size=settings.db_pool_min,
                                              max_size=settings.db_pool_max, count_sql=settings.count_sql)
        app.state.redis = connect_redis(settings.redis_url)
        app.state.broadcaster = Broadcaster(app.state.redis)
        app.state.http = http_client()
        app.state.upload_storage = storage_for(settings)
        app.state.upload_decoding = decoding_slots()
        await prepare_search(app.state.db)  # jieba's dictionary, ~1 s once, before the first request
        if cache is not None:
            app.state.broadcaster.add_listener(cache.on_event)
            app.state.broadcaster.add_interruption_listener(cache.clear)
        await app.state.broadcaster.start()
        # The schemas, pools and modules live as long as the process: frozen, the cyclic GC
        # stops rescanning them in every full collection (~0.4 ms of CPU per listing).
        gc.freeze()
        try:
            yield
        finally:
            await app.state.broadcaster.stop()
            await app.state.http.aclose()
            await app.state.redis.aclose()
            await app.state.db.close()

    app = Starlette(
        routes=[Route("/graphql", _AsgiEndpoint(graphql_endpoint), methods=["GET", "POST"]),
                WebSocketRoute("/graphql", _AsgiEndpoint(graphql_endpoint)),
                Route("/healthz", healthz), Route("/readyz", readyz), graphiql_assets_route(),
                *webhook_routes(), *fulfilment_webhook_routes(), *payout_webhook_routes(), *supplier_routes(), *upload_routes(),
                # the sandboxes under /sandbox/<service> before the payment sandbox's /sandbox mount, which would
                # take their paths
                *((*partner_routes(), *logistics_routes(), *sms_routes(), *topup_routes(), *payout_routes(),
                   *statement_routes(), *sandbox_routes())
                  if settings.sandbox_on else ())],
        lifespan=lifespan,
    )
    app.add_middleware(RequestMiddleware, settings=settings)
    return app
