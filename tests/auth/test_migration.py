"""Migration 0011 on a database that already has sign-ins: live refresh tokens keep working."""

import os
import shutil
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from app.auth.service import authenticate_bearer, refresh_session
from app.auth.tokens import new_refresh_token
from app.db import Database
from app.migrate import MIGRATIONS_DIR, migrate
from tests.conftest import with_database


@pytest.fixture
async def database_before_sessions(services, tmp_path):
    """A database migrated up to 0010, i.e. before sessions existed."""
    admin_url, _ = services
    name = f"ecom_test_{os.getpid()}_sessions_upgrade"
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) < 11:
            shutil.copy(path, tmp_path / path.name)
    url = with_database(admin_url, name)
    await migrate(url, tmp_path, progress=lambda _: None)
    yield url
    conn = await asyncpg.connect(admin_url)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def test_live_refresh_tokens_become_sessions(database_before_sessions, settings, redis):
    conn = await asyncpg.connect(database_before_sessions)
    buyer = await conn.fetchval("INSERT INTO buyers (phone, password_hash) VALUES ('13700000011', 'x') RETURNING id")
    live, live_hash = new_refresh_token()
    used, used_hash = new_refresh_token()
    later = datetime.now(UTC) + timedelta(days=1)
    await conn.execute("INSERT INTO refresh_tokens (token_hash, principal, expires_at, revoked_at)"
                       " VALUES ($1, $3, $4, NULL), ($2, $3, $4, now())", live_hash, used_hash, f"buyer:{buyer}", later)
    await conn.close()

    await migrate(database_before_sessions, progress=lambda _: None)
    db = await Database.connect(database_before_sessions, min_size=1, max_size=2)
    try:
        session = await refresh_session(db, redis, settings, live)
        principal, _ = await authenticate_bearer(settings, redis, f"Bearer {session.access_token}", db)
        assert principal is not None and principal.id == buyer
        assert await db.fetchval("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1", used_hash) == 0
    finally:
        await db.close()
