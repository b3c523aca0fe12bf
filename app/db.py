"""PostgreSQL access: one asyncpg pool per process, explicit transactions, statement counting.

Services take a connection explicitly (`async with db.transaction() as conn:`), so a use case
is one transaction and tests can inject a connection.
"""

import contextvars
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

# A mutable cell per request/job: the query logger adds one per statement sent to PostgreSQL.
_statement_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "sql_statement_counter", default=None
)


class StatementCount:
    """Counts SQL statements executed in this context (and tasks started from it)."""

    def __init__(self) -> None:
        self._cell = [0]
        self._token: contextvars.Token[list[int] | None] | None = None

    def __enter__(self) -> "StatementCount":
        self._token = _statement_counter.set(self._cell)
        return self

    def __exit__(self, *exc) -> None:
        assert self._token is not None, "a with block enters before it exits"
        _statement_counter.reset(self._token)

    @property
    def value(self) -> int:
        return self._cell[0]


def _is_driver_housekeeping(query: str) -> bool:
    """asyncpg's one-time type introspection on a fresh connection says nothing about how a
    request uses the database."""
    return "set_config('jit'" in query or query.startswith("WITH RECURSIVE typeinfo_tree(")


class _PooledConnection(asyncpg.Connection):
    """Pooled connections keep no session state (no SET, LISTEN or advisory locks: those use
    their own connections), so the pool's reset round trip on every release is skipped.
    asyncpg still rolls back a transaction left open."""

    def get_reset_query(self) -> str:
        return ""


def _count_statement(record) -> None:
    cell = _statement_counter.get()
    if cell is not None and not _is_driver_housekeeping(record.query):
        cell[0] += 1


async def _init_connection(conn: asyncpg.Connection, count_sql: bool) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    if count_sql:
        conn.add_query_logger(_count_statement)


async def commit_with(conn: asyncpg.Connection, statement: str) -> None:
    """Run `statement` (no parameters: inline only values you produced, e.g. ids) and COMMIT in
    one round trip; see `Database.hot_transaction`."""
    await conn.execute(f"{statement}; COMMIT")


class Database:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 2, max_size: int = 10,
                      count_sql: bool = False) -> "Database":
        pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, command_timeout=30,
            max_inactive_connection_lifetime=300, connection_class=_PooledConnection,
            # JIT compilation costs tens of milliseconds and never pays off for short OLTP
            # statements; a misestimated recursive CTE was enough to trigger it.
            server_settings={"jit": "off"},
            init=lambda c: _init_connection(c, count_sql),
        )
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def hot_transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction the caller ends with `commit_with(conn, sql)`: its last statement and
        the COMMIT travel in one round trip, so the row locks that statement takes (a flash-sale
        SKU's stock row) are held for PostgreSQL's time only, not for a round trip and a turn
        of a busy event loop. Rolled back on any exception; committed if the caller did not."""
        async with self.pool.acquire() as conn:
            await conn.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.is_in_transaction():
                    await conn.execute("ROLLBACK")
                raise
            if conn.is_in_transaction():
                await conn.execute("COMMIT")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection without a transaction, for single read statements."""
        async with self.pool.acquire() as conn:
            yield conn

    async def fetch(self, sql: str, *args) -> list[asyncpg.Record]:
        return await self.pool.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args) -> asyncpg.Record | None:
        return await self.pool.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args):
        return await self.pool.fetchval(sql, *args)

    async def close(self) -> None:
        await self.pool.close()


def grouped(rows: Sequence[asyncpg.Record], keys: Sequence[int], column: str) -> list[list[asyncpg.Record]]:
    """`rows` grouped by `column`, one list per key in `keys`' order (empty when none): the
    answer a DataLoader's batch function gives for a one-to-many read."""
    by_key: dict[int, list[asyncpg.Record]] = {k: [] for k in keys}
    for r in rows:
        by_key[r[column]].append(r)
    return [by_key[k] for k in keys]
