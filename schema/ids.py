"""Global ids at the GraphQL edge: `gid` encodes a row's key for output; the `*_pk` helpers decode
client ids in inputs, reporting a malformed one at its input path (a `DomainError`, so a mutation
answers it as a `userErrors` entry)."""

from collections.abc import Sequence
from typing import overload

import strawberry

from app.errors import CommonError, DomainError, Problem
from app.ids import InvalidId, decode_id, encode_id


@overload
def gid(type_name: str, pk: int) -> strawberry.ID: ...
@overload
def gid(type_name: str, pk: int | None) -> strawberry.ID | None: ...


def gid(type_name: str, pk: int | None) -> strawberry.ID | None:
    """The opaque global id of row `pk` of `type_name` (None stays None: optional relations)."""
    return None if pk is None else strawberry.ID(encode_id(type_name, pk))


def input_pk(type_name: str, global_id: str, *field: str) -> int:
    try:
        return decode_id(type_name, global_id)
    except InvalidId as exc:
        raise DomainError.of(CommonError.INVALID_ID, str(exc), *field) from None


def optional_pk(type_name: str, global_id: str | None, *field: str) -> int | None:
    return None if global_id is None else input_pk(type_name, global_id, *field)


def input_pks(type_name: str, global_ids: Sequence[str], *field: str, item_field: str | None = None) -> list[int]:
    """Every id of a list, reporting each malformed one at `(*field, index[, item_field])`."""
    pks, problems = [], []
    for i, global_id in enumerate(global_ids):
        try:
            pks.append(decode_id(type_name, global_id))
        except InvalidId as exc:
            problems.append(Problem(CommonError.INVALID_ID, str(exc),
                                    (*field, str(i), *((item_field,) if item_field else ()))))
    if problems:
        raise DomainError(*problems)
    return pks
