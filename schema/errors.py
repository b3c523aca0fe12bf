"""The error shapes of the API (../shared/STACK.md §6).

- Mutations return `userErrors: [<Domain>Error!]!` for expected failures (`DomainError`),
  built by `payload_errors` through the one runner (schema/mutations.py).
- Queries raise `PublicError` (a GraphQL error with an `extensions.code`) for bad ids,
  missing objects and denied access; a `DomainError` escaping a query is answered the same way.
- A PostgreSQL or Redis outage is `SERVICE_UNAVAILABLE` (HTTP 503 with `Retry-After`).
- Everything else is a bug: masked as "Unexpected error." (`INTERNAL`) and logged with its
  traceback. Expected refusals log one line, never a traceback.
"""

import re
from enum import StrEnum
from functools import cache
from typing import Any

import asyncpg
import strawberry
import structlog
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types.base import get_object_definition

from app.errors import CommonError, DomainError
from app.ids import InvalidId
from app.outages import is_unreachable as is_outage  # one definition, shared with the worker

log = structlog.get_logger("api")

RETRY_AFTER_SECONDS = 5
# PostgreSQL text cannot hold U+0000: the only way a request's text makes these. Domains that
# check their texts answer a userError first (catalog: INVALID_TEXT); elsewhere PostgreSQL
# refuses the statement, the transaction rolls back, and the request is a BAD_REQUEST.
# (Lone surrogates never get this far: orjson refuses them in the body, the lexer in literals.)
_UNSTORABLE_TEXT = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)
UNSTORABLE_TEXT_MESSAGE = "Text must not contain NUL (U+0000) characters."
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def error_code_enum(domain: str, *owned: type[StrEnum]) -> type[StrEnum]:
    """`<Domain>ErrorCode`: the common codes and the codes of the domains whose failures this
    domain's mutations pass on (its own first), as one GraphQL enum."""
    names: dict[str, str] = {m.value: m.value for m in CommonError}
    for enum in owned:
        names.update({m.value: m.value for m in enum})
    merged = StrEnum(f"{domain}ErrorCode", names)  # type: ignore[misc]
    return strawberry.enum(merged, description=f"What went wrong in a {domain.lower()} request; "
                                               "docs/API.md explains each code.")


def user_error_type(domain: str, *owned: type[StrEnum]) -> type:
    """`<Domain>Error { field code message }`: the `userErrors` item of that domain's payloads."""
    code_enum = error_code_enum(domain, *owned)
    cls = type(f"{domain}Error", (), {"__annotations__": {"field": list[str] | None, "code": code_enum,
                                                          "message": str}})
    return strawberry.type(cls, description="An expected failure: show `message`, switch on `code`, "
                                            "point at `field` (the input path).")


@cache
def _error_item_type(payload: type) -> Any:
    """The item type of a payload's `user_errors` list."""
    field = next(f for f in get_object_definition(payload, strict=True).fields if f.python_name == "user_errors")
    return field.type.of_type  # type: ignore[union-attr]


class PublicError(GraphQLError):
    """A top-level GraphQL error whose message is safe to show the client."""

    def __init__(self, message: str, code: str, **extensions) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def payload_errors(payload: type, exc: DomainError) -> Any:
    """`payload(user_errors=[…])` with each problem as the payload's own error type."""
    item = _error_item_type(payload)
    return payload(user_errors=[item(field=["input", *p.field] if p.field else None, code=p.code, message=p.message)
                                for p in exc.problems])


def public_error(exc: DomainError | InvalidId) -> PublicError:
    if isinstance(exc, InvalidId):
        return PublicError(str(exc), "INVALID_ID")
    first = exc.problems[0]
    return PublicError(first.message, first.code)


def is_bug(error: GraphQLError) -> bool:
    """An error nobody expected. Errors tied to the document but without a result path were
    raised while validating or coercing the request's own values (a scalar refusing a literal
    or a variable): refusals, even when the scalar raised a plain exception."""
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, DomainError, InvalidId, *_UNSTORABLE_TEXT)):
        return False
    return error.path is not None or not error.nodes


def _with(error: GraphQLError, message: str, code: str) -> GraphQLError:
    return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None, extensions={"code": code})


class CodedMaskErrors(MaskErrors):
    """Masks bugs as "Unexpected error." (code INTERNAL) and gives every other error a code:
    a request the schema refuses (syntax, validation, a variable of the wrong type or range)
    or text PostgreSQL cannot store is BAD_REQUEST, a `DomainError` its first problem's code, an outage SERVICE_UNAVAILABLE
    (and the HTTP answer 503), so clients can always switch on `extensions.code`.

    `hide_suggestions` strips graphql-core's "Did you mean …" hints, which name schema types
    and fields, for the schema that also refuses introspection."""

    def __init__(self, hide_suggestions: bool = False) -> None:
        super().__init__(should_mask_error=is_bug)
        self.hide_suggestions = hide_suggestions

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL"}
        return masked

    def on_operation(self):
        """ParserCache parses outside Strawberry's error handling: a syntax error (the token limit
        included) is thrown through this hook and never reaches `_process_errors`."""
        try:
            yield from super().on_operation()
        except GraphQLError as error:
            error.extensions = {"code": "BAD_REQUEST", **(error.extensions or {})}
            raise

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = []
        for error in errors:
            original = error.original_error
            if is_outage(original):
                processed.append(_with(error, "The service is briefly unavailable; retry shortly.",
                                       "SERVICE_UNAVAILABLE"))
                self._answer_unavailable()
            elif isinstance(original, DomainError) and original.problems:
                processed.append(_with(error, original.problems[0].message, original.problems[0].code))
            elif isinstance(original, InvalidId):
                processed.append(_with(error, str(original), "INVALID_ID"))
            elif isinstance(original, _UNSTORABLE_TEXT):
                processed.append(_with(error, UNSTORABLE_TEXT_MESSAGE, "BAD_REQUEST"))
            elif self.should_mask_error(error):
                processed.append(self.anonymise_error(error))
            else:
                if not (error.extensions or {}).get("code"):
                    error.extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}
                processed.append(error)
        if self.hide_suggestions:   # every error above has extensions with a code
            processed = [_with(e, _SUGGESTION.sub("", e.message), (e.extensions or {})["code"])
                         if "Did you mean" in e.message else e for e in processed]
        return processed

    def _answer_unavailable(self) -> None:
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:  # Strawberry's sub-response: status and headers of the HTTP answer
            response.status_code = 503
            response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)


def log_errors(errors: list[GraphQLError], logger=log) -> None:
    """Bugs with their traceback; outages and refusals (validation, permission, bad ids) as one
    line each, since they are answers, not failures of the service."""
    for error in errors:
        original = error.original_error
        if is_outage(original):
            logger.warning("service unavailable", error=f"{type(original).__name__}: {original}", path=error.path)
        elif is_bug(error):
            logger.error("unexpected error", path=error.path, exc_info=original)
        else:
            logger.info("request refused", message=error.message, path=error.path,
                     code=(error.extensions or {}).get("code"))


class ApiSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        log_errors(errors)
