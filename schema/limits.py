"""Request limits that run before any expensive work, for every caller and every path.

`parse_bounded` is the one parser of the API: the schema (`BoundedParserCache`) and the
anonymous response cache (schema/response_cache.py) share its LRU and its token limit, so a
document over the limit is refused after `max_tokens` tokens wherever it arrives, and a cached
path never parses a document the schema would not.

PostgreSQL text cannot hold U+0000: a NUL in any input string is refused up front as
BAD_REQUEST (literals by a validation rule, cached with the document; variables on every
request) instead of failing in SQL halfway through a use case. Lone surrogates never get this
far: the JSON decoder (orjson) and graphql-core's lexer refuse them.
"""

from functools import lru_cache

from graphql import DocumentNode, GraphQLError, StringValueNode, ValidationRule, parse
from strawberry.extensions import SchemaExtension

NUL_MESSAGE = "Text must not contain NUL (U+0000) characters."


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


class NoNulInLiterals(ValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args) -> None:
        if "\x00" in node.value:
            self.report_error(GraphQLError(NUL_MESSAGE, node, extensions={"code": "BAD_REQUEST"}))


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class NoNulInVariables(SchemaExtension):
    """Listed after ValidationCache: adds its refusal only to a document that validated."""

    def on_validate(self):
        ctx = self.execution_context
        if not ctx.pre_execution_errors and _has_nul(ctx.variables):
            ctx.pre_execution_errors = [GraphQLError(NUL_MESSAGE, extensions={"code": "BAD_REQUEST"})]
        yield
