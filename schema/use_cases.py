"""Running one use case for a resolver: a read on a connection, or a change in one transaction
as the caller. Expected failures (`DomainError`) become a coded GraphQL error for reads and
`userErrors` for changes (schema/errors.py)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from app.auth.principal import Principal
from app.errors import DomainError
from schema.context import Info
from schema.errors import UserError, public_error, user_errors
from schema.ids import input_pk

T = TypeVar("T")


async def read(info: Info, call: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    try:
        async with info.context.db.connection() as conn:
            return await call(conn)
    except DomainError as exc:
        raise public_error(exc) from None


async def change(info: Info, call: Callable[[asyncpg.Connection, Principal], Awaitable[T]]
                 ) -> tuple[T | None, list[UserError]]:
    """(result, []) once committed, or (None, userErrors) with nothing written."""
    try:
        async with info.context.db.transaction() as conn:
            return await call(conn, info.context.principal), []
    except DomainError as exc:
        return None, user_errors(exc)


async def change_object(info: Info, type_name: str, global_id: str, field: str,
                        act: Callable[[asyncpg.Connection, Principal, int], Awaitable[object]]
                        ) -> tuple[int | None, list[UserError]]:
    """A change to one object named by a client id: decode it (reported at `field`), then
    `act(conn, caller, pk)` in one transaction; (pk, []) or (None, userErrors)."""
    async def call(conn: asyncpg.Connection, who: Principal) -> int:
        pk = input_pk(type_name, global_id, field)
        await act(conn, who, pk)
        return pk
    return await change(info, call)
