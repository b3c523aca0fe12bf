"""API CPU per uncached listing and detail request, measured in-process (no server, no client).

    createdb -h 127.0.0.1 -U postgres ecom_perf
    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ecom_perf REDIS_URL=redis://127.0.0.1:6379/9
    .venv/bin/ecom migrate && .venv/bin/ecom seed && .venv/bin/ecom seed --scale-skus 10000
    .venv/bin/python bench/listing_cpu.py [--requests 300] [--rounds 3] [--concurrency 8] [--dump FILE]

Builds the ASGI app as `ecom serve` does (JSON logs, SQL counting, response cache off) on uvloop
and calls it directly with ASGI messages, so neither an HTTP parser nor a client shares the
measurement. The request mix is bench/load.py's (listing variants, detail ids). After one
unmeasured pass over every variant, each round sends `--requests` listings, then as many
details, `--concurrency` at a time, and prints the process CPU (time.process_time) per request:
the API's share only; PostgreSQL runs in its own processes. Other work on the machine changes
wall time far more than CPU time, so compare CPU per request, over several rounds.
`--dump FILE` writes every variant's answer, one a line, to check that a change keeps the
answers (field order included).
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time

import httpx
from asgi_lifespan import LifespanManager

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (bench/load.py: the request mix)

from app.config import Settings  # noqa: E402
from schema.server import create_app  # noqa: E402


async def call(app, body: bytes) -> tuple[int, bytes]:
    """One POST /graphql through the ASGI app, as uvicorn would send it."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8100),
             "headers": [(b"host", b"127.0.0.1:8100"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
    sent = False
    status, out = 0, []

    async def receive():
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # no disconnect while the request runs
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            out.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(out)


async def measure(app, bodies: list[bytes], requests: int, concurrency: int) -> tuple[float, float]:
    """CPU ms and wall ms per request over `requests` calls cycling through `bodies`."""
    queue = iter(range(requests))

    async def worker():
        for n in queue:
            status, out = await call(app, bodies[n % len(bodies)])
            if status != 200 or b'"errors"' in out:
                raise RuntimeError(f"HTTP {status}: {out[:300]!r}")

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (1000 * (time.process_time() - cpu0) / requests, 1000 * (time.perf_counter() - wall0) / requests)


async def run(args) -> None:
    settings = Settings(env="development", database_url=os.environ["DATABASE_URL"],
                        redis_url=os.environ["REDIS_URL"], response_cache_seconds=0, log_json=True,
                        count_sql=True, db_pool_max=max(10, args.concurrency))
    stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # the access log is rendered, not shown
    try:
        app = create_app(settings)
    finally:
        sys.stderr = stderr
    rng = random.Random(args.seed)
    async with LifespanManager(app) as manager:
        url = "http://bench/graphql"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(manager.app)) as client:
            listing = await load.listing_variants(client, url, rng)
            detail = await load.detail_variants(client, url, rng)
        bodies = {name: [json.dumps({"query": query, "variables": v}).encode() for v in variants]
                  for name, query, variants in (("listing", load.LISTING, listing),
                                                ("detail", load.DETAIL, detail))}
        dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
        for name, group in bodies.items():  # warm-up: statement caches, parser and validation caches
            for body in group:
                status, out = await call(manager.app, body)
                if dump:  # re-encoded, so that answers compare whatever JSON encoder the API uses
                    dump.write(f"{name} {status} {json.dumps(json.loads(out), ensure_ascii=False)}\n")
        if dump:
            dump.close()
        results: dict[str, list[float]] = {"listing": [], "detail": []}
        for r in range(args.rounds):
            for name, group in bodies.items():
                cpu, wall = await measure(manager.app, group, args.requests, args.concurrency)
                results[name].append(cpu)
                print(f"round {r + 1} {name:7s} cpu {cpu:6.2f} ms/request  wall {wall:6.2f} ms/request", flush=True)
    for name, cpus in results.items():
        print(f"{name:7s} cpu ms/request: median {statistics.median(cpus):.2f}  min {min(cpus):.2f}"
              f"  ({len(bodies[name])} variants, {args.requests} requests x {args.rounds} rounds,"
              f" concurrency {args.concurrency})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="per query and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dump", help="write each variant's response body to this file")
    args = parser.parse_args()
    import uvloop
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
