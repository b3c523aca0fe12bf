"""What the end-to-end benchmarks share to run the app as in production: a fresh migrated
database, the environment of `ecom serve` / `ecom worker` processes on a free loopback port,
starting them, waiting for the API, and stopping them. Import it after putting the project root
on `sys.path`, as the benchmarks do."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from app.migrate import migrate

ECOM = str(Path(sys.executable).parent / "ecom")


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def fresh_database(admin_url: str, name: str) -> str:
    """Database `name` dropped, created and migrated; its URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(admin_url, name)
    await migrate(url, progress=lambda _: None)
    return url


def ecom_env(url: str, redis_url: str, port: int, **extra: str) -> dict:
    """The processes' environment: development mode (the sandboxes on), calling back to `port`."""
    return {**os.environ, "ENV": "development", "DATABASE_URL": url, "REDIS_URL": redis_url, "PORT": str(port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING", "LOG_JSON": "true",
            "COUNT_SQL": "false", **extra}


def start(args: list[str], env: dict, log_name: str) -> subprocess.Popen:
    """`ecom <args>`; logs (JSON lines) go to /tmp/bench-<log_name>-<command>.log for a look when a run fails."""
    log = open(f"/tmp/bench-{log_name}-{args[0]}.log", "a")
    return subprocess.Popen([ECOM, *args], env=env, stdout=log, stderr=log)


async def wait_http(base: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(base + "/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("the API did not start")


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM, the last started first, and wait for each."""
    for p in reversed(procs):
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(30)
