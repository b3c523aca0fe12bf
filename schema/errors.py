"""The error shapes of the API (../shared/STACK.md §6).

- Mutations return `userErrors: [UserError!]!` for expected failures (`DomainError`).
- Queries raise `PublicError` (a GraphQL error with an `extensions.code`) for bad ids,
  missing objects and denied access; everything else is masked as "Unexpected error."
"""

from enum import StrEnum
from functools import cache
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from app.errors import CommonError, DomainError, Problem
from app.ids import InvalidId


@strawberry.type(description="An expected failure: show `message`, switch on `code`, point at `field`.")
class UserError:
    field: list[str] | None
    code: str
    message: str


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
    field = next(f for f in payload.__strawberry_definition__.fields if f.python_name == "user_errors")
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


def user_errors(exc: DomainError | InvalidId, field: tuple[str, ...] = ()) -> list[UserError]:
    problems = exc.problems if isinstance(exc, DomainError) else [Problem("INVALID_ID", str(exc), field)]
    return [UserError(field=[*(("input",) + p.field)] if p.field else None, code=p.code, message=p.message)
            for p in problems]


def public_error(exc: DomainError | InvalidId) -> PublicError:
    if isinstance(exc, InvalidId):
        return PublicError(str(exc), "INVALID_ID")
    first = exc.problems[0]
    return PublicError(first.message, first.code)


def should_mask_error(error: GraphQLError) -> bool:
    """Mask bugs; keep validation errors, permission denials, public errors and expected failures."""
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, DomainError, InvalidId))


class CodedMaskErrors(MaskErrors):
    """Masks bugs as "Unexpected error." (code INTERNAL) and gives every other error a code:
    a request the schema refuses (syntax, validation, a variable of the wrong type or range)
    is BAD_REQUEST, so clients can always switch on `extensions.code`."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask_error)

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
            error.extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}
            raise

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if isinstance(error.original_error, (DomainError, InvalidId)):
                # an expected failure a resolver let through (a query's bad argument): coded like `query` does
                coded = public_error(error.original_error)
                error.message, error.extensions = coded.message, coded.extensions
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}
        return processed

