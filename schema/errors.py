"""The error shapes of the API (../shared/STACK.md §6).

- Mutations return `userErrors: [UserError!]!` for expected failures (`DomainError`).
- Queries raise `PublicError` (a GraphQL error with an `extensions.code`) for bad ids,
  missing objects and denied access; everything else is masked as "Unexpected error."
"""

import strawberry
from graphql import GraphQLError

from app.errors import DomainError, Problem
from app.ids import InvalidId


@strawberry.type(description="An expected failure: show `message`, switch on `code`, point at `field`.")
class UserError:
    field: list[str] | None
    code: str
    message: str


class PublicError(GraphQLError):
    """A top-level GraphQL error whose message is safe to show the client."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


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

