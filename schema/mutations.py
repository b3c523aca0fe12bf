"""The one way a resolver runs a use case.

- `mutate`: a change. `act(conn, caller)` runs in one transaction (ids decoded first thing in
  `act` with schema/ids.py, so a malformed id is reported at its input path like any other
  problem); a `DomainError` rolls everything back and becomes the payload's `userErrors`; after
  the commit, `present(result)` builds the payload (it may read through the request's loaders).
- `query`: a read on one connection; a `DomainError` becomes a coded top-level GraphQL error.

Services that must commit on their own (a rate-limit counter kept even when the login fails, a
provider called between two transactions) take the database instead of a connection:
`mutate(..., transaction=False)` hands `act` the `Database`.
"""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.errors import DomainError
from schema.context import Info
from schema.errors import payload_errors, public_error

T = TypeVar("T")
P = TypeVar("P")


# `act`'s caller is typed Any: a `Principal`, None only on fields open to anonymous callers (the
# field's permission class decides), so each lambda's use is checked by its permission, not here.
async def mutate(info: Info, payload: type[P], act: Callable[[Any, Any], Awaitable[T]],
                 present: Callable[[T], P | Awaitable[P]] | None = None, *, transaction: bool = True) -> P:
    ctx = info.context
    try:
        if transaction:
            async with ctx.db.transaction() as conn:
                result = await act(conn, ctx.principal)
        else:
            result = await act(ctx.db, ctx.principal)
    except DomainError as exc:
        return payload_errors(payload, exc)
    if present is None:
        return result  # type: ignore[return-value]
    out = present(result)
    return await out if inspect.isawaitable(out) else out


async def query(info: Info, act: Callable[[Any], Awaitable[T]]) -> T:
    try:
        async with info.context.db.connection() as conn:
            return await act(conn)
    except DomainError as exc:
        raise public_error(exc) from None
