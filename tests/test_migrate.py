import asyncio
import os

import asyncpg
import pytest

from app.migrate import MigrationError, migrate
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
