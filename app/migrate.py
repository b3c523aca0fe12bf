"""Apply `migrations/NNNN_name.sql` in order, each exactly once, then `migrations/repeatable/*.sql`.

A tiny runner (../shared/STACK.md §3) under one advisory lock, so concurrent starts apply each
file once:
- a numbered file runs in its own transaction and is recorded with its sha256; a landed file
  that was edited afterwards is refused rather than ignored (tests/test_migrate.py also checks
  the files against their committed checksums, `migrations/CHECKSUMS` and `*.sql.sha256`);
- a numbered file whose first line is `-- migrate: no-transaction` (for `CREATE INDEX
  CONCURRENTLY`) runs statement by statement outside a transaction and is recorded once all of
  them succeeded; a failure leaves its earlier statements applied, so such a file must be safe to
  run again from the top (`… IF NOT EXISTS`, `DROP INDEX CONCURRENTLY IF EXISTS` first);
- a repeatable file (`CREATE OR REPLACE FUNCTION …`) runs after the numbered ones, in name order,
  whenever its checksum differs from the one last applied: SQL functions are changed by editing
  their file, Flyway's repeatable migrations.
"""

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.config import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
REPEATABLE_SUBDIR = "repeatable"
NO_TRANSACTION = "-- migrate: no-transaction"
_LOCK_KEY = 7_261_001  # arbitrary constant shared by every migrator of this project
_LOCK_POLL_SECONDS = 0.05
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_REPEATABLE_NAME = re.compile(r"^[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def in_transaction(self) -> bool:
        first_line = self.sql.split("\n", 1)[0].strip()
        return first_line != NO_TRANSACTION


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"migration file name must look like 0001_name.sql: {path.name}")
        found.append(Migration(int(m.group(1)), path.name, path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


def load_repeatables(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The re-runnable files, in name order (version 0: they have none)."""
    found = []
    for path in sorted((directory / REPEATABLE_SUBDIR).glob("*.sql")):
        if not _REPEATABLE_NAME.match(path.name):
            raise MigrationError(f"repeatable file name must look like name.sql: {path.name}")
        found.append(Migration(0, f"{REPEATABLE_SUBDIR}/{path.name}", path.read_text()))
    return found


def split_statements(sql: str) -> list[str]:
    """Top-level statements of `sql`: semicolons inside quotes, dollar quotes and comments do not
    split. Enough for migration files (no `E'…\\''` escapes, no psql meta-commands)."""
    statements, start, i, n = [], 0, 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "-" and sql.startswith("--", i):
            i = sql.find("\n", i)
            i = n if i < 0 else i
        elif c == "/" and sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        elif c in ("'", '"'):
            i += 1
            while i < n:
                if sql[i] == c and sql.startswith(c * 2, i):
                    i += 2
                elif sql[i] == c:
                    break
                else:
                    i += 1
        elif c == "$" and (tag := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])):
            end = sql.find(tag.group(0), i + len(tag.group(0)))
            if end < 0:
                raise MigrationError("unterminated dollar quote")
            i = end + len(tag.group(0)) - 1
        elif c == ";":
            statements.append(sql[start:i])
            start = i + 1
        i += 1
    statements.append(sql[start:])
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", statement, flags=re.S)
    return bool(without_comments.strip())


async def _lock(conn: asyncpg.Connection) -> None:
    """Take the migrators' advisory lock by polling: a session blocked inside
    `pg_advisory_lock` holds a snapshot, and `CREATE INDEX CONCURRENTLY` in the session holding
    the lock would wait for that snapshot forever (a deadlock PostgreSQL then breaks by failing
    one of them)."""
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):  # noqa: ASYNC110 (the lock is in PostgreSQL)
        await asyncio.sleep(_LOCK_POLL_SECONDS)


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR, progress=print) -> list[str]:
    """Apply pending migrations and changed repeatable files; returns the names applied now."""
    migrations = load_migrations(directory)
    repeatables = load_repeatables(directory)
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await _lock(conn)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now());"
                "CREATE TABLE IF NOT EXISTS schema_repeatables ("
                " name text PRIMARY KEY, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"]: r for r in await conn.fetch("SELECT * FROM schema_migrations")}
            for mig in migrations:
                if mig.version in done:
                    if done[mig.version]["checksum"] != mig.checksum:
                        raise MigrationError(
                            f"{mig.name} was edited after it was applied; add a new migration instead"
                        )
                    continue
                progress(f"  applying {mig.name}")
                record = ("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                          mig.version, mig.name, mig.checksum)
                if mig.in_transaction:
                    async with conn.transaction():
                        await conn.execute(mig.sql)
                        await conn.execute(*record)
                else:
                    for statement in split_statements(mig.sql):
                        await conn.execute(statement)
                    await conn.execute(*record)
                applied_now.append(mig.name)
            current = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT * FROM schema_repeatables")}
            for rep in repeatables:
                if current.get(rep.name) == rep.checksum:
                    continue
                progress(f"  applying {rep.name}")
                async with conn.transaction():
                    await conn.execute(rep.sql)
                    await conn.execute(
                        "INSERT INTO schema_repeatables (name, checksum) VALUES ($1, $2)"
                        " ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()",
                        rep.name, rep.checksum,
                    )
                applied_now.append(rep.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
    return applied_now
