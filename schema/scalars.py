"""Custom scalars."""

from typing import NewType

import strawberry

MAX_SAFE_INTEGER = 2**53 - 1  # exact in JSON clients (JavaScript numbers)


def _parse_money(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise ValueError("Money must be a whole number of cents")
    return value


Money = strawberry.scalar(
    NewType("Money", int),
    description="An amount in cents (fen) as a JSON integer; 64-bit, unlike GraphQL Int (32-bit).",
    serialize=int,
    parse_value=_parse_money,
)
