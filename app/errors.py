"""Expected business failures. Services raise `DomainError`; schema/ turns it into
`userErrors` on the mutation payload (or a coded GraphQL error for queries).

Codes are enums owned by their domain (`app/<domain>/errors.py`, a `StrEnum` each), plus the
few every domain shares (`CommonError`). One word per failure: no synonyms across domains. The
GraphQL surface exposes each domain's codes, merged with the common ones, as that domain's
`<Domain>ErrorCode` enum (schema/errors.py); docs/API.md lists them.
"""

from dataclasses import dataclass
from enum import StrEnum


class CommonError(StrEnum):
    """Failures any domain reports the same way."""
    NOT_FOUND = "NOT_FOUND"                    # missing, or not the caller's (never reveal which)
    FORBIDDEN = "FORBIDDEN"                    # signed in, but this account may not do that
    INVALID_ID = "INVALID_ID"                  # an id that does not decode to the expected type
    INVALID_VALUE = "INVALID_VALUE"            # an input value out of its documented range or form
    INVALID_TRANSITION = "INVALID_TRANSITION"  # the object's status does not allow this change
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE"    # `first` outside 1..max page size
    INVALID_CURSOR = "INVALID_CURSOR"          # `after` is not a cursor of this list
    TOO_MANY = "TOO_MANY"                      # a list input longer than its documented maximum


@dataclass(frozen=True)
class Problem:
    code: StrEnum                  # a member of the domain's error enum, e.g. CatalogError.DUPLICATE_SKU_CODE
    message: str                   # safe to show
    field: tuple[str, ...] = ()    # input path, e.g. ('skus', '2', 'code')


class DomainError(Exception):
    """One or more problems; nothing was written."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def of(cls, code: StrEnum, message: str, *field: str) -> "DomainError":
        return cls(Problem(code, message, tuple(field)))


class NotFound(DomainError):
    """The object does not exist *for this caller* (never reveal others' objects)."""


class Forbidden(DomainError):
    """The caller is authenticated but may not do this."""
