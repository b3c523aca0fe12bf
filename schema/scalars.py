"""Custom scalars, registered on the schema through `SCALARS` (StrawberryConfig.scalar_map)."""

from typing import NewType

import strawberry

MAX_SAFE_INTEGER = 2**53 - 1  # exact in JSON clients (JavaScript numbers)

Money = NewType("Money", int)


def _parse_money(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise ValueError("Money must be a whole number of cents")
    return value


SCALARS = {
    Money: strawberry.scalar(
        name="Money",
        description="An amount in cents (fen) as a JSON integer; 64-bit, unlike GraphQL Int (32-bit).",
        serialize=int,
        parse_value=_parse_money,
    ),
}
