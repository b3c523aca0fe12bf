"""Apply `migrations/NNNN_name.sql` in order, each exactly once, under an advisory lock.

A tiny runner (../shared/STACK.md §3): each file runs in its own transaction and is recorded
with its sha256; a landed file that was edited afterwards is refused rather than ignored.
Two processes starting at once serialize on the advisory lock, so each file runs once.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.config import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
_LOCK_KEY = 7_261_001  # arbitrary constant shared by every migrator of this project
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


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


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR, progress=print) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
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
                async with conn.transaction():
                    await conn.execute(mig.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        mig.version, mig.name, mig.checksum,
                    )
                applied_now.append(mig.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
    return applied_now
