"""Request limits that run before any expensive work, for every caller and every path.

`parse_bounded` is the one parser of the API: the schema (`BoundedParserCache`) and the
anonymous response cache (schema/response_cache.py) share its LRU and its token limit, so a
document over the limit is refused after `max_tokens` tokens wherever it arrives, and a cached
path never parses a document the schema would not.
"""

from functools import lru_cache

from graphql import DocumentNode, parse
from strawberry.extensions import SchemaExtension


@lru_cache(maxsize=256)
def parse_bounded(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


class BoundedParserCache(SchemaExtension):
    """MaxTokensLimiter and ParserCache in one, over `parse_bounded`."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens

    def on_parse(self):
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            ctx.graphql_document = parse_bounded(ctx.query, self.max_tokens)
        yield

