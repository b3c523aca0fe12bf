"""Custom scalars, registered on the schema through `SCALARS` (StrawberryConfig.scalar_map)."""

from typing import TYPE_CHECKING, NewType

import strawberry
from graphql import GraphQLError, IntValueNode
from strawberry.types.scalar import ScalarDefinition

MAX_SAFE_INTEGER = 2**53 - 1  # exact in JSON clients (JavaScript numbers)
MONEY_MESSAGE = f"Money must be a whole number of cents within ±{MAX_SAFE_INTEGER}"

if TYPE_CHECKING:
    Money = int  # to the type checker an amount is plain int cents (the engine's numbers)
else:
    Money = NewType("Money", int)


def _parse_money(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise GraphQLError(MONEY_MESSAGE)
    return value


def _parse_money_literal(node, _variables=None) -> int:
    """A literal in the document: the same rule as a variable (a GraphQLError, so graphql-core
    reports it as a refusal of the request)."""
    value = int(node.value) if isinstance(node, IntValueNode) else None
    if value is None or not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise GraphQLError(MONEY_MESSAGE, node)
    return value


SCALARS: dict[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description="An amount in cents (fen) as a JSON integer; 64-bit, unlike GraphQL Int (32-bit).",
        serialize=int,
        parse_value=_parse_money,
        parse_literal=_parse_money_literal,
    ),
}
