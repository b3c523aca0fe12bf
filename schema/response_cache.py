"""Per-process cache of anonymous GraphQL query responses (catalog browsing).

Anonymous callers all see the same catalog, promotions and coupons, so a query's JSON answer
depends only on its body. Entries are dropped as a whole whenever a product event (review,
listing, stock, price), a promotion or coupon status change, or a merchant event (a shop suspended,
reopened or closed hides or shows its products) arrives through the Broadcaster,
and expire after a short TTL in any case: pub/sub is at-most-once, and a promotion's window opens
and closes without an event (an anonymous price preview is a display; placing an order re-prices).
Mutations, subscriptions, signed-in callers and answers with errors are never cached.

Deciding whether a body is a query parses it with the schema's own bounded parser
(schema/limits.py): a document over the token limit costs no more here than for a signed-in
caller, and the schema then reuses the parsed document. The cache is bounded by entries and by
the bytes of the answers it holds.
"""

import hashlib
import time
from collections import OrderedDict

import orjson
from graphql import GraphQLSyntaxError, OperationDefinitionNode

from app.events import Event
from schema.limits import parse_bounded

INVALIDATING_TOPICS = frozenset({"product", "promotion", "coupon", "merchant"})


def _is_query_only(query: str, operation_name: str | None, max_tokens: int) -> bool:
    try:
        doc = parse_bounded(query, max_tokens)
    except GraphQLSyntaxError:
        return False
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        ops = [d for d in ops if d.name and d.name.value == operation_name]
    return bool(ops) and all(d.operation.value == "query" for d in ops)


def cache_key(body: bytes, max_tokens: int) -> str | None:
    """The key of a cacheable request body, or None when the body must not be cached."""
    try:
        payload = orjson.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    op = payload.get("operationName")
    if not _is_query_only(payload["query"], op if isinstance(op, str) else None, max_tokens):
        return None
    return hashlib.sha256(body).hexdigest()


class ResponseCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 5000, max_body_bytes: int = 512 * 1024,
                 max_total_bytes: int = 64 * 1024 * 1024) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self.max_total_bytes = max_total_bytes
        self.total_bytes = 0
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, body = entry
        if time.monotonic() - stored_at > self.ttl:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.max_body_bytes or b'"errors"' in body:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (time.monotonic(), body)
        self.total_bytes += len(body)
        while len(self._entries) > self.max_entries or self.total_bytes > self.max_total_bytes:
            self._drop(next(iter(self._entries)))  # the least recently used

    def _drop(self, key: str) -> None:
        self.total_bytes -= len(self._entries.pop(key)[1])

    def on_event(self, event: Event) -> None:
        if event.topic in INVALIDATING_TOPICS:
            self.clear()

    def clear(self) -> None:
        """Drop every entry: an event invalidated them, or events may have been missed."""
        self._entries.clear()
        self.total_bytes = 0
