"""`ecom dev` keeps its children alive: a worker that dies is started again, Ctrl-C still stops
everything, and the console shows the banner without arq's per-job lines."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.resilience.conftest import ECOM
from tests.servers import free_port

WAIT = 30


def children(pid: int) -> dict[int, str]:
    """The child processes of `pid` with their command lines."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            found[int(child)] = cmdline
    return found


def worker_pid(pid: int) -> int | None:
    return next((child for child, cmd in children(pid).items() if cmd.rstrip().endswith(" worker")), None)


def until(predicate, what: str, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent is gone as far as we care
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_ecom_dev_restarts_a_dead_worker_and_stops_cleanly_on_ctrl_c(database_url, redis_server, tmp_path):
    port = free_port()
    env = {**os.environ, "ENV": "development", "DATABASE_URL": database_url, "REDIS_URL": redis_server.url,
           "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    out = (tmp_path / "dev.log").open("w")
    dev = subprocess.Popen([ECOM, "dev", "--no-seed", "--port", str(port)], env=env, stdout=out,
                           stderr=subprocess.STDOUT, start_new_session=True)   # its own group: our Ctrl-C
    console = (tmp_path / "dev.log").read_text
    try:
        until(lambda: "worker started" in console(), "the worker to start")
        until(lambda: answers(f"http://127.0.0.1:{port}/healthz"), "the API")
        first = worker_pid(dev.pid)
        time.sleep(2)      # the startup crons ran (run_at_startup): arq would have logged each
        os.kill(first, signal.SIGKILL)
        second = until(lambda: (pid := worker_pid(dev.pid)) and pid != first and pid, "a new worker")
        until(lambda: console().count("worker started") == 2, "the new worker to start")
        assert dev.poll() is None
        started = list(children(dev.pid))
        assert second in started and len(started) == 2, children(dev.pid)

        os.killpg(dev.pid, signal.SIGINT)   # Ctrl-C reaches the whole foreground group
        assert dev.wait(WAIT) == 0, console()[-3000:]
        assert not [pid for pid in started if alive(pid)]
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
        out.close()
    said = console()
    assert f"GraphiQL:  http://127.0.0.1:{port}/graphql" in said
    assert re.search(r"worker exited with code -9; restarting it in 1 s", said), said[-3000:]
    assert "arq.worker" not in said, [line for line in said.splitlines() if "arq" in line][:5]
    assert said.rstrip().endswith("==> stopped"), said[-2000:]
