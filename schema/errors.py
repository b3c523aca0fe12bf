"""The error shapes of the API (../shared/STACK.md §6).

- Mutations return `userErrors: [UserError!]!` for expected failures (`DomainError`).
- Queries raise `PublicError` (a GraphQL error with an `extensions.code`) for bad ids,
  missing objects and denied access; everything else is masked as "Unexpected error."
"""

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from app.errors import DomainError, Problem
from app.ids import InvalidId


@strawberry.type(description="An expected failure: show `message`, switch on `code`, point at `field`.")
class UserError:
    field: list[str] | None
    code: str
    message: str


class PublicError(GraphQLError):
    """A top-level GraphQL error whose message is safe to show the client."""

    def __init__(self, message: str, code: str, **extensions) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


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
    """Mask bugs; keep validation errors, permission denials and public errors."""
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, PublicError))


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
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}
        return processed

