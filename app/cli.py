"""`ecom` — one entry point: dev, serve, worker, migrate, seed, create-admin, settle, ledger audit, reconcile."""

import argparse
import asyncio
import getpass
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime

from app.config import Settings, get_settings


def _step(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def cmd_migrate(_args) -> None:
    from app.migrate import migrate
    settings = get_settings()
    database_url = _require_urls(settings, redis=False)
    _step("applying migrations")
    applied = asyncio.run(migrate(database_url))
    _step(f"migrations done ({len(applied)} applied now)")


def cmd_seed(args) -> None:
    from app.db import Database
    from app.demo import seed_demo
    settings = get_settings()
    _require_urls(settings, redis=False)

    async def run():
        db = await Database.connect(settings.database_url, min_size=1, max_size=2)
        try:
            await seed_demo(db, scale_skus=args.scale_skus, progress=_step)
        finally:
            await db.close()
    asyncio.run(run())


def cmd_credit_billing(args) -> None:
    from app.credit.billing import run_billing
    from app.db import Database
    settings = get_settings()
    _require_urls(settings, redis=False)
    day = date.fromisoformat(args.date) if args.date else datetime.now(UTC).date()

    async def run():
        db = await Database.connect(settings.database_url, min_size=1, max_size=2)
        try:
            result = await run_billing(db, settings, day, progress=_step)
        finally:
            await db.close()
        _step(f"billed {day}: {result.overdue} bills newly overdue, {result.penalised} penalised, "
              f"{result.reminded} reminders, {result.overdue_notices} overdue notices")
    asyncio.run(run())


def cmd_create_admin(args) -> None:
    from app.auth.service import create_staff
    from app.db import Database
    from app.errors import DomainError
    settings = get_settings()
    _require_urls(settings, redis=False)
    password = args.password or os.environ.get("ADMIN_PASSWORD") or getpass.getpass("password: ")

    async def run():
        db = await Database.connect(settings.database_url, min_size=1, max_size=1)
        try:
            async with db.transaction() as conn:
                return await create_staff(conn, args.username, password, "ADMIN", display_name="Admin")
        finally:
            await db.close()
    try:
        staff_id = asyncio.run(run())
    except DomainError as exc:
        sys.exit(f"error: {exc}")
    _step(f"admin '{args.username}' ready (id {staff_id})")


def cmd_serve(args) -> None:
    import uvicorn
    settings = get_settings()
    settings.refuse_public_secret()
    host, port = args.host or settings.host, args.port or settings.port
    # The app's own address is part of its settings (payment providers call it back): the
    # processes uvicorn starts read it from the environment.
    os.environ["HOST"], os.environ["PORT"] = host, str(port)
    get_settings.cache_clear()
    uvicorn.run("schema.server:create_app", factory=True, host=host, port=port,
                workers=args.workers or settings.web_concurrency,
                log_level=settings.log_level.lower(), access_log=False, ws_max_size=settings.max_ws_message_bytes,
                proxy_headers=bool(settings.trusted_proxies), forwarded_allow_ips=settings.trusted_proxies or None)


def cmd_worker(_args) -> None:
    from workers.main import run
    settings = get_settings()
    settings.refuse_public_secret()
    _require_urls(settings)
    run()


def cmd_dev(args) -> None:
    """Everything on one machine: embedded services, migrations, demo data, API and worker."""
    settings = get_settings()
    embedded = None
    database_url, redis_url = settings.database_url, settings.redis_url
    if not database_url or not redis_url:
        from app.embedded import EmbeddedServices
        _step(f"starting embedded PostgreSQL and Redis under {settings.data_dir}")
        embedded = EmbeddedServices(settings.data_dir / "dev").start()
        database_url, redis_url = database_url or embedded.database_url, redis_url or embedded.redis_url
    env = dict(os.environ)
    env.setdefault("ENV", "development")
    env["DATABASE_URL"] = database_url
    env["REDIS_URL"] = redis_url
    children = Supervisor(env)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        exe = [sys.executable, "-m", "app.cli"]
        subprocess.run([*exe, "migrate"], env=env, check=True)
        if not args.no_seed:
            subprocess.run([*exe, "seed"], env=env, check=True)
        host, port = args.host or settings.host, str(args.port or settings.port)
        env["HOST"], env["PORT"] = host, port      # the worker calls providers on our behalf too
        children.start("api", [*exe, "serve", "--host", host, "--port", port, "--workers", str(args.workers)])
        children.start("worker", [*exe, "worker"])
        _banner(host, port)
        while not stopping:
            children.keep_alive()
            time.sleep(0.3)
    finally:
        _step("stopping")
        children.stop()
        if embedded:
            embedded.stop()
        _step("stopped")


class Supervisor:
    """Keeps `ecom dev`'s children running: one that exits is started again after a pause that
    doubles (1 s up to 30 s) while it keeps exiting within a minute of its start, so a crash
    costs a restart, not the whole stack. Ctrl-C reaches the children too (same terminal), and
    nothing is restarted once `ecom dev` is stopping."""

    FIRST_DELAY, MAX_DELAY, STABLE_SECONDS = 1.0, 30.0, 60.0

    def __init__(self, env: dict) -> None:
        self.env = env
        self.children: dict[str, dict] = {}

    def start(self, name: str, argv: list[str]) -> None:
        child = self.children.setdefault(name, {"argv": argv, "delay": self.FIRST_DELAY})
        child.update(proc=subprocess.Popen(argv, env=self.env), started=time.monotonic(), restart_at=None)

    def keep_alive(self) -> None:
        now = time.monotonic()
        for name, child in self.children.items():
            code = child["proc"].poll()
            if code is None:
                continue
            if child["restart_at"] is None:
                if now - child["started"] >= self.STABLE_SECONDS:
                    child["delay"] = self.FIRST_DELAY
                _step(f"{name} exited with code {code}; restarting it in {child['delay']:.0f} s")
                child["restart_at"] = now + child["delay"]
                child["delay"] = min(child["delay"] * 2, self.MAX_DELAY)
            elif now >= child["restart_at"]:
                _step(f"restarting {name}")
                self.start(name, child["argv"])

    def stop(self) -> None:
        procs = [c["proc"] for c in self.children.values()]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _banner(host: str, port: str) -> None:
    from app.demo import DEMO_LOGINS
    lines = [f"GraphiQL:  http://{host}:{port}/graphql", "Demo logins (mutation buyerLogin / staffLogin):"]
    lines += [f"  {role:<16} {login:<20} password {pw}" for role, login, pw in DEMO_LOGINS]
    lines.append("Ctrl-C stops everything; the next start reuses the data.")
    print("\n".join(lines), flush=True)


def _require_urls(settings: Settings, redis: bool = True) -> str:
    """The database URL, once the URLs needed are known to be set."""
    if not settings.database_url or (redis and not settings.redis_url):
        sys.exit("DATABASE_URL and REDIS_URL must be set (or use `ecom dev` for embedded services)")
    return settings.database_url


def cmd_sms_inbox(args) -> None:
    """The sandbox SMS gateway's inbox of a phone (its signed control call): the codes
    sendSmsCode "sent", for trying registration in development."""
    import httpx

    from app.sandbox.sms import inbox_request
    settings = get_settings()
    body, headers = inbox_request(settings.sandbox_provider_secret, args.phone, args.limit)
    response = httpx.post(settings.sms_url + "/v1/inbox", content=body, headers=headers, timeout=10)
    response.raise_for_status()
    for message in response.json()["messages"]:
        print(f"{message['received_at']}  {message['template']}  {message['text']}")


def cmd_settle(args) -> None:
    """A settlement run for day D (DOMAIN §10.1; app/ledger/settlement.py), printing each batch."""
    from datetime import UTC, date, datetime

    from app.db import Database
    from app.errors import DomainError
    from app.ledger import settlement
    settings = get_settings()
    _require_urls(settings, redis=False)
    try:
        day = date.fromisoformat(args.date)
        settlement.check_run_day(day, datetime.now(UTC))
    except (ValueError, DomainError) as exc:
        sys.exit(f"error: {exc}")

    async def run():
        db = await Database.connect(settings.database_url, min_size=1, max_size=2)
        try:
            started = time.monotonic()
            result = await settlement.run(db, day, actor="cli:settle", batch_orders=args.batch_orders, progress=_step)
            _step(f"{result.lines} lines in {result.batches} batches, {time.monotonic() - started:.1f} s")
        finally:
            await db.close()
    asyncio.run(run())


def cmd_ledger_audit(args) -> None:
    """`ecom ledger audit`: exits 1 when anything does not reconcile (app/ledger/audit.py)."""
    from app.db import Database
    from app.ledger.audit import audit, report
    settings = get_settings()
    _require_urls(settings, redis=False)

    async def run():
        db = await Database.connect(settings.database_url, min_size=1, max_size=1)
        try:
            started = time.monotonic()
            async with db.connection() as conn:
                result = await audit(conn, args.limit, progress=_step)
            for line in report(result):
                print(line)
            _step(f"audit took {time.monotonic() - started:.1f} s")
            return result.ok
        finally:
            await db.close()
    if not asyncio.run(run()):
        sys.exit(1)


async def reconcile_day(settings: Settings, day, progress=_step) -> int:
    """Reconcile one day against the provider's statement (the daily job's work); prints each
    step and every difference; returns the number of differences."""
    from app.db import Database
    from app.payments.gateway import http_client
    from app.reconciliation.service import reconcile
    db = await Database.connect(_require_urls(settings), min_size=1, max_size=2)
    try:
        async with http_client() as http:
            result = await reconcile(db, settings, http, day, progress=progress)
    finally:
        await db.close()
    for d in result.differences:
        progress(f"{d.kind.value:16} {d.item_kind:8} {d.provider_ref}  ours={d.our_amount}  theirs={d.their_amount}")
    return len(result.differences)


def cmd_reconcile(args) -> None:
    from datetime import UTC, date, datetime, timedelta

    from app.errors import DomainError
    settings = get_settings()
    _require_urls(settings)
    day = date.fromisoformat(args.date) if args.date else datetime.now(UTC).date() - timedelta(days=1)
    try:
        count = asyncio.run(reconcile_day(settings, day))
    except DomainError as exc:
        sys.exit(f"reconciliation failed: {exc}")
    _step(f"reconciliation of {day} done: {count} differences")


def cmd_schema(_args) -> None:
    """The public contract: the SDL, committed as schema.graphql and checked by the tests."""
    from schema.root import sdl
    sys.stdout.write(sdl())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ecom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("dev", help="embedded services + migrate + seed + API + worker")
    p.add_argument("--host", help="default: $HOST or 127.0.0.1")
    p.add_argument("--port", type=int, help="default: $PORT or 8000")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--no-seed", action="store_true")
    p.set_defaults(func=cmd_dev)
    p = sub.add_parser("serve", help="the API under uvicorn")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    p.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="the arq worker").set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="apply pending migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("schema", help="print the GraphQL SDL (schema.graphql)").set_defaults(func=cmd_schema)
    p = sub.add_parser("sms-inbox", help="show the sandbox SMS inbox of a phone (registration codes)")
    p.add_argument("phone")
    p.add_argument("--limit", type=int, default=5)
    p.set_defaults(func=cmd_sms_inbox)
    p = sub.add_parser("seed", help="load demo data (idempotent)")
    p.add_argument("--scale-skus", type=int, default=0,
                   help="also generate products until the catalog has this many SKUs (benchmarks)")
    p.set_defaults(func=cmd_seed)
    p = sub.add_parser("reconcile", help="match the payment provider's daily statement against our books")
    p.add_argument("--date", help="the UTC day, YYYY-MM-DD (default: yesterday)")
    p.set_defaults(func=cmd_reconcile)
    p = sub.add_parser("credit-billing", help="the daily credit billing run: overdue bills, penalties, reminders")
    p.add_argument("--date", help="the day to bill, YYYY-MM-DD (default: today, UTC); safe to run again")
    p.set_defaults(func=cmd_credit_billing)
    p = sub.add_parser("create-admin", help="create an admin account (or reset its password)")
    p.add_argument("username")
    p.add_argument("--password", help="default: $ADMIN_PASSWORD or a prompt")
    p.set_defaults(func=cmd_create_admin)
    p = sub.add_parser("settle", help="run settlement for a day that has ended (UTC)")
    p.add_argument("--date", required=True, help="the run's day, YYYY-MM-DD")
    p.add_argument("--batch-orders", type=int, default=10_000, help="orders per transaction")
    p.set_defaults(func=cmd_settle)
    p = sub.add_parser("ledger", help="ledger tools")
    ledger_sub = p.add_subparsers(dest="ledger_command", required=True)
    p = ledger_sub.add_parser("audit", help="prove the ledger balances and every order reconciles")
    p.add_argument("--limit", type=int, default=20, help="list at most this many problems of each kind")
    p.set_defaults(func=cmd_ledger_audit)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
