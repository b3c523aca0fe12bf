"""Expected business failures. Services raise `DomainError`; schema/ turns it into
`userErrors` on the mutation payload (or a GraphQL error for queries)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    code: str                      # enum value clients switch on, e.g. 'DUPLICATE_SKU_CODE'
    message: str                   # safe to show
    field: tuple[str, ...] = ()    # input path, e.g. ('input', 'skus', '2', 'code')


class DomainError(Exception):
    """One or more problems; nothing was written."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def of(cls, code: str, message: str, *field: str) -> "DomainError":
        return cls(Problem(code, message, tuple(field)))


class NotFound(DomainError):
    """The object does not exist *for this caller* (never reveal others' objects)."""


class Forbidden(DomainError):
    """The caller is authenticated but may not do this."""
