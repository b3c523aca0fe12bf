"""`ecom` — one entry point: dev, serve, worker, migrate, seed, create-admin."""

import argparse
import asyncio
import getpass
import os
import signal
import subprocess
import sys
import time

from app.config import get_settings


def _step(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def cmd_migrate(_args) -> None:
    from app.migrate import migrate
    settings = get_settings()
    _require_urls(settings, redis=False)
    _step("applying migrations")
    applied = asyncio.run(migrate(settings.database_url))
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
    host, port = args.host or settings.host, args.port or settings.port
    # The app's own address is part of its settings (payment providers call it back): the
    # processes uvicorn starts read it from the environment.
    os.environ["HOST"], os.environ["PORT"] = host, str(port)
    get_settings.cache_clear()
    uvicorn.run("schema.server:create_app", factory=True, host=host, port=port,
                workers=args.workers or settings.web_concurrency,
                log_level=settings.log_level.lower(), access_log=False, proxy_headers=True)


def cmd_worker(_args) -> None:
    from workers.main import run
    _require_urls(get_settings())
    run()


def cmd_dev(args) -> None:
    """Everything on one machine: embedded services, migrations, demo data, API and worker."""
    settings = get_settings()
    embedded = None
    if not settings.database_url or not settings.redis_url:
        from app.embedded import EmbeddedServices
        _step(f"starting embedded PostgreSQL and Redis under {settings.data_dir}")
        embedded = EmbeddedServices(settings.data_dir / "dev").start()
    env = dict(os.environ)
    env["DATABASE_URL"] = settings.database_url or embedded.database_url
    env["REDIS_URL"] = settings.redis_url or embedded.redis_url
    children: list[subprocess.Popen] = []
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
        port = str(args.port or settings.port)
        env["HOST"], env["PORT"] = settings.host, port      # the worker calls providers on our behalf too
        children.append(subprocess.Popen([*exe, "serve", "--port", port, "--workers", str(args.workers)], env=env))
        children.append(subprocess.Popen([*exe, "worker"], env=env))
        _banner(settings.host, port)
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.3)
        if not stopping:
            sys.exit("a child process exited; stopping")
    finally:
        _step("stopping")
        for c in children:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
        for c in children:
            try:
                c.wait(15)
            except subprocess.TimeoutExpired:
                c.kill()
        if embedded:
            embedded.stop()
        _step("stopped")


def _banner(host: str, port: str) -> None:
    from app.demo import DEMO_LOGINS
    lines = [f"GraphiQL:  http://{host}:{port}/graphql", "Demo logins (mutation buyerLogin / staffLogin):"]
    lines += [f"  {role:<16} {login:<20} password {pw}" for role, login, pw in DEMO_LOGINS]
    lines.append("Ctrl-C stops everything; the next start reuses the data.")
    print("\n".join(lines), flush=True)


def _require_urls(settings, redis: bool = True) -> None:
    if not settings.database_url or (redis and not settings.redis_url):
        sys.exit("DATABASE_URL and REDIS_URL must be set (or use `ecom dev` for embedded services)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ecom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("dev", help="embedded services + migrate + seed + API + worker")
    p.add_argument("--port", type=int)
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
    p = sub.add_parser("seed", help="load demo data (idempotent)")
    p.add_argument("--scale-skus", type=int, default=0,
                   help="also generate products until the catalog has this many SKUs (benchmarks)")
    p.set_defaults(func=cmd_seed)
    p = sub.add_parser("create-admin", help="create an admin account (or reset its password)")
    p.add_argument("username")
    p.add_argument("--password", help="default: $ADMIN_PASSWORD or a prompt")
    p.set_defaults(func=cmd_create_admin)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
