"""The fast executor (schema/execution.py) answers exactly as graphql-core's own: values, nulls,
errors with their paths, null propagation, and fields it must leave to graphql-core."""

import asyncio
from enum import Enum

import pytest
import strawberry
import strawberry.extensions
import strawberry.permission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import FastLeafExecutionContext
from schema.scalars import SCALARS, Money


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Thing(Named):
    label: str | None
    colour: Colour
    price: Money
    strict: str


@strawberry.type
class Item:
    id: strawberry.ID
    count: int
    maybe: int | None
    colour: Colour
    things: list[Thing]

    @strawberry.field
    def doubled(self) -> int:
        return self.count * 2

    @strawberry.field
    def greeting(self, name: str = "you") -> str:
        return f"hi {name}"

    @strawberry.field
    async def later(self) -> int:
        await asyncio.sleep(0)
        return self.count

    @strawberry.field
    def boom(self) -> int | None:
        raise ValueError("boom")


def _thing(n: int, strict="s", colour="red") -> Thing:
    return Thing(name=f"t{n}", label=None if n % 2 else f"l{n}", colour=colour, price=n * 100, strict=strict)


ITEMS = [Item(id=strawberry.ID(str(i)), count=i, maybe=None if i == 2 else i, colour=Colour.BLUE,
              things=[_thing(j) for j in range(i)]) for i in range(1, 4)]
BROKEN = [Item(id=strawberry.ID("9"), count=9, maybe=None, colour="green",  # not a Colour value
               things=[_thing(1), _thing(2, strict=None)])]  # null for a non-null field


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def broken(self) -> list[Item] | None:
        return BROKEN

    @strawberry.field
    def named(self) -> list[Named]:
        return [_thing(1), _thing(2)]


def _schema(context_class) -> strawberry.Schema:
    return strawberry.Schema(query=Query, types=[Thing], execution_context_class=context_class,
                             config=strawberry.schema.config.StrawberryConfig(scalar_map=SCALARS))


QUERIES = [
    "{ items { id count maybe colour doubled greeting(name: \"x\") things { name label colour price strict } } }",
    "{ items { ...F later } } fragment F on Item { a: count, b: count, count maybe things { ... on Thing { price } } }",
    "{ broken { id colour things { name strict } } }",
    "{ items { maybe boom } }",
    "{ named { name ... on Thing { price colour } } }",
    "{ items { things { price @skip(if: true) name @include(if: true) } } }",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_same_answer_as_graphql_core(query):
    fast = await _schema(FastLeafExecutionContext).execute(query)
    plain = await _schema(StrawberryGraphQLCoreExecutionContext).execute(query)
    assert fast.data == plain.data
    assert [(e.message, e.path) for e in fast.errors or []] == [(e.message, e.path) for e in plain.errors or []]


@pytest.mark.parametrize(("query", "path"), [
    ("{ broken { id colour } }", ["broken", 0, "colour"]),
    ("{ broken { things { name strict } } }", ["broken", 0, "things", 1, "strict"]),
])
async def test_broken_values_are_errors_with_paths(query, path):
    result = await _schema(FastLeafExecutionContext).execute(query)
    assert result.data == {"broken": None}  # the error propagates up to the nullable list
    assert [e.path for e in result.errors] == [path]


class _Deny(strawberry.permission.BasePermission):
    message = "denied"

    def has_permission(self, source, info, **kwargs) -> bool:
        return False


class _Upper(strawberry.extensions.FieldExtension):
    def resolve(self, next_, source, info, **kwargs):
        return next_(source, info, **kwargs).upper()


@strawberry.type
class Guarded:
    open: str
    secret: str | None = strawberry.field(permission_classes=[_Deny])
    shout: str = strawberry.field(extensions=[_Upper()])


@strawberry.type
class GuardedQuery:
    @strawberry.field
    def guarded(self) -> list[Guarded]:
        return [Guarded(open="o", secret="s", shout="hi")]


async def test_plain_fields_with_permissions_or_extensions_take_graphql_cores_path():
    """A resolver-less field still runs its permission classes and field extensions."""
    schema = strawberry.Schema(query=GuardedQuery, execution_context_class=FastLeafExecutionContext)
    result = await schema.execute("{ guarded { open secret shout } }")
    assert result.data == {"guarded": [{"open": "o", "secret": None, "shout": "HI"}]}
    assert [(e.message, e.path) for e in result.errors] == [("denied", ["guarded", 0, "secret"])]
