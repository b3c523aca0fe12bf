import asyncio
import hashlib
import os
import re
from pathlib import Path

import asyncpg
import pytest

from app.migrate import MIGRATIONS_DIR, MigrationError, migrate, split_statements
from tests.conftest import with_database


@pytest.fixture
async def empty_db(services):
    admin_url, _ = services
    name = f"ecom_test_{os.getpid()}_migrate"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    yield with_database(admin_url, name)
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def _write(tmp_path, name, sql):
    (tmp_path / name).write_text(sql)


async def test_three_concurrent_runs_apply_each_file_once(empty_db, tmp_path):
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (n int); INSERT INTO a VALUES (1);")
    _write(tmp_path, "0002_b.sql", "SELECT pg_sleep(0.2); INSERT INTO a VALUES (2);")
    results = await asyncio.gather(*(migrate(empty_db, tmp_path, progress=lambda _: None) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, 2]
    conn = await asyncpg.connect(empty_db)
    assert await conn.fetchval("SELECT count(*) FROM a") == 2
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 2
    await conn.close()


async def test_edited_migration_is_refused(empty_db, tmp_path):
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (n int);")
    await migrate(empty_db, tmp_path, progress=lambda _: None)
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (n bigint);")
    with pytest.raises(MigrationError, match="edited"):
        await migrate(empty_db, tmp_path, progress=lambda _: None)


async def test_failed_migration_leaves_nothing_behind(empty_db, tmp_path):
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (n int);")
    _write(tmp_path, "0002_bad.sql", "CREATE TABLE b (n int); SELECT * FROM missing_table;")
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(empty_db, tmp_path, progress=lambda _: None)
    conn = await asyncpg.connect(empty_db)
    assert await conn.fetchval("SELECT to_regclass('b')") is None
    assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 1
    await conn.close()


def test_bad_file_name_is_refused(tmp_path):
    from app.migrate import load_migrations
    _write(tmp_path, "1_bad.sql", "SELECT 1;")
    with pytest.raises(MigrationError):
        load_migrations(tmp_path)


# --- The landed files never change (their recorded sha256) ------------------------------------

def _manifest_problems(directory: Path) -> list[str]:
    """What differs between the numbered files and their recorded checksums (sha256sum's format):
    the frozen list `CHECKSUMS` (as it landed, up to 0021) and one `<file>.sha256` per later file, so
    adding a migration adds files and never edits a landed one."""
    listed = {}
    for record in [directory / "CHECKSUMS", *sorted(directory.glob("*.sql.sha256"))]:
        for line in record.read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            listed[name.lstrip("*")] = digest
    problems = []
    for path in sorted(directory.glob("*.sql")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if path.name not in listed:
            problems.append(f"{path.name} has no checksum: cd migrations && sha256sum {path.name} > {path.name}.sha256")
        elif listed[path.name] != digest:
            problems.append(f"{path.name} was edited after it landed: restore it and add a new migration")
    problems += [f"{name} has a checksum but is missing" for name in listed
                 if not (directory / name).exists()]
    return problems


def test_landed_migrations_are_never_edited():
    assert _manifest_problems(MIGRATIONS_DIR) == []


def test_manifest_check_catches_an_edit_a_new_file_and_a_deletion(tmp_path):
    for name in ("0001_a.sql", "0002_b.sql", "0003_c.sql"):
        (tmp_path / name).write_text(f"-- {name}\n")
    (tmp_path / "CHECKSUMS").write_text("".join(
        f"{hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()}  {n}\n" for n in ("0001_a.sql", "0002_b.sql")))
    (tmp_path / "0003_c.sql.sha256").write_text(
        f"{hashlib.sha256((tmp_path / '0003_c.sql').read_bytes()).hexdigest()}  0003_c.sql\n")
    assert _manifest_problems(tmp_path) == []
    (tmp_path / "0001_a.sql").write_text("-- 0001_a.sql, edited\n")
    (tmp_path / "0002_b.sql").unlink()
    (tmp_path / "0003_c.sql").write_text("-- 0003_c.sql, edited\n")
    (tmp_path / "0004_d.sql").write_text("SELECT 1;\n")
    problems = _manifest_problems(tmp_path)
    assert [p.split()[0] for p in problems] == ["0001_a.sql", "0003_c.sql", "0004_d.sql", "0002_b.sql"]
    assert "edited" in problems[0] and "edited" in problems[1] and "no checksum" in problems[2]
    assert "missing" in problems[3]


# --- Migrations outside a transaction ----------------------------------------------------------

def test_statements_split_only_at_top_level_semicolons():
    sql = ("-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY a ON t (n);  -- one; two\n"
           "SELECT 'x;y', \"odd;name\" FROM t; /* c; /* nested; */ */\n"
           "DO $body$ BEGIN PERFORM 1; END $body$;\nSELECT $$;$$\n-- trailing; comment\n")
    assert split_statements(sql) == [
        "-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY a ON t (n)",
        "-- one; two\nSELECT 'x;y', \"odd;name\" FROM t",
        "/* c; /* nested; */ */\nDO $body$ BEGIN PERFORM 1; END $body$",
        "SELECT $$;$$\n-- trailing; comment",
    ]


async def test_concurrent_index_migration_three_concurrent_runs(empty_db, tmp_path):
    """`CREATE INDEX CONCURRENTLY` cannot run in a transaction, and waits for every older
    snapshot: the other migrators must not wait for the lock inside a statement."""
    _write(tmp_path, "0001_t.sql", "CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 20000);")
    _write(tmp_path, "0002_t_n_idx.sql",
           "-- migrate: no-transaction\n"
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_n_idx ON t (n);\n"
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_n_desc_idx ON t (n DESC);\n")
    (tmp_path / "repeatable").mkdir()
    _write(tmp_path / "repeatable", "t_count.sql",
           "CREATE OR REPLACE FUNCTION t_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM t $$;")
    results = await asyncio.gather(*(migrate(empty_db, tmp_path, progress=lambda _: None) for _ in range(3)))
    assert sorted(results, key=len) == [[], [], ["0001_t.sql", "0002_t_n_idx.sql", "repeatable/t_count.sql"]]
    conn = await asyncpg.connect(empty_db)
    try:
        valid = await conn.fetch("SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                                 " WHERE i.indrelid = 't'::regclass ORDER BY 1")
        assert [tuple(r) for r in valid] == [("t_n_desc_idx", True), ("t_n_idx", True)]
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 2
        assert await conn.fetchval("SELECT t_count()") == 20000
    finally:
        await conn.close()


async def test_failed_no_transaction_migration_is_not_recorded_and_runs_again_from_the_top(empty_db, tmp_path):
    _write(tmp_path, "0001_t.sql", "CREATE TABLE t (n int);")
    _write(tmp_path, "0002_idx.sql", "-- migrate: no-transaction\n"
           "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_n_idx ON t (n);\nSELECT * FROM missing_table;\n")
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(empty_db, tmp_path, progress=lambda _: None)
    conn = await asyncpg.connect(empty_db)
    try:
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 1
        assert await conn.fetchval("SELECT to_regclass('t_n_idx')") is not None  # the first statement stays
        _write(tmp_path, "0002_idx.sql", "-- migrate: no-transaction\n"
               "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_n_idx ON t (n);\n")
        assert await migrate(empty_db, tmp_path, progress=lambda _: None) == ["0002_idx.sql"]
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == 2
    finally:
        await conn.close()


# --- Re-runnable SQL functions (migrations/repeatable/) ---------------------------------------

async def test_repeatable_file_runs_after_the_numbered_ones_and_again_when_edited(empty_db, tmp_path):
    _write(tmp_path, "0001_price.sql", "CREATE FUNCTION price() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;")
    (tmp_path / "repeatable").mkdir()
    body = "CREATE OR REPLACE FUNCTION price() RETURNS int LANGUAGE sql AS $$ SELECT {} $$;"
    _write(tmp_path / "repeatable", "price.sql", body.format(2))
    quiet = {"progress": lambda _: None}
    assert await migrate(empty_db, tmp_path, **quiet) == ["0001_price.sql", "repeatable/price.sql"]
    assert await migrate(empty_db, tmp_path, **quiet) == []
    _write(tmp_path / "repeatable", "price.sql", body.format(3))
    assert await migrate(empty_db, tmp_path, **quiet) == ["repeatable/price.sql"]
    conn = await asyncpg.connect(empty_db)
    try:
        assert await conn.fetchval("SELECT price()") == 3
        assert await conn.fetchval("SELECT count(*) FROM schema_repeatables") == 1
    finally:
        await conn.close()


async def test_every_sql_function_lives_in_a_repeatable_file(empty_db):
    """Numbered files keep their first definitions; the function's current text is its file."""
    defined = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)", re.I)
    repeatable = {name for path in (MIGRATIONS_DIR / "repeatable").glob("*.sql")
                  for name in defined.findall(path.read_text())}
    numbered = {name for path in MIGRATIONS_DIR.glob("*.sql") for name in defined.findall(path.read_text())}
    assert numbered and numbered <= repeatable
    await migrate(empty_db, progress=lambda _: None)
    conn = await asyncpg.connect(empty_db)
    try:
        in_database = {r["proname"] for r in await conn.fetch(
            "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace"
            " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")}
    finally:
        await conn.close()
    assert in_database == repeatable
