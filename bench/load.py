"""Load generator for the buyer catalog queries: bounded, loopback only, repeatable.

    .venv/bin/python bench/load.py --url http://127.0.0.1:8100/graphql --query listing \
        --concurrency 16 --duration 20

N workers share one HTTP/1.1 keep-alive client (httpx on uvloop) and send requests back to back
for a fixed time (after a short warm-up that is not measured), or until --requests are done.
Listing requests rotate over search words, frontend categories, brands, sorts and pages;
detail requests rotate over product ids read from the listing first, so no single cached row
is measured. Prints requests/s, p50/p90/p99 latency, errors and the mean of the server's
`x-sql-statements` header, the CPU the load generator itself used (on a small machine it
competes with the server) and, with --server-pid/--database, the server's and PostgreSQL's CPU
time per request, which stays meaningful when other work shares the machine; `--out FILE`
appends the same lines to a file.
"""

import argparse
import asyncio
import ipaddress
import itertools
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

LISTING = """
query Listing($first: Int!, $after: String, $search: String, $frontendCategoryId: ID, $brandIds: [ID!],
              $attributeValueIds: [ID!], $priceMin: Money, $priceMax: Money, $inStock: Boolean,
              $sort: ProductSort! = RELEVANCE) {
  products(first: $first, after: $after, search: $search, frontendCategoryId: $frontendCategoryId,
           brandIds: $brandIds, attributeValueIds: $attributeValueIds, priceMin: $priceMin, priceMax: $priceMax,
           inStock: $inStock, sort: $sort) {
    edges { node {
      id title minPrice maxPrice
      brand { nameZh }
      frontendCategories { name }
      skus { id price stockState }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""

DETAIL = """
query Detail($id: ID!) {
  product(id: $id) {
    id title subtitle description minPrice maxPrice salesCount fulfillmentType stockState
    brand { nameZh nameEn }
    backendCategory { name }
    frontendCategories { name }
    images { url sort }
    attributes { name value }
    salesAttributes { name values { id value imageUrl } }
    skus { id code specLabel specValueIds price listPrice memberPrice imageUrl available stockState }
  }
}"""

SEARCH_WORDS = ["手机", "华为", "apple", "衬衫", "Pro", "5G", "纯棉", "耳机", "小米", "T恤", "连衣裙",
                "Lumen", "降噪", "商务", "优衣库"]
SORTS = ["RELEVANCE", "PRICE_ASC", "PRICE_DESC", "SALES", "NEWEST"]
ORDERS = SORTS[1:]  # the sorts that need no search words
DISCOVER = """
query Discover($sort: ProductSort!) {
  products(first: 100, sort: $sort) {
    edges { node { brand { id } frontendCategories { id } salesAttributes { values { id } } } }
  }
}"""


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    sql: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    def record_error(self, what: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or what[:300]


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        sys.exit(f"refusing to load {host}: this script only targets loopback servers")


async def post(client: httpx.AsyncClient, url: str, query: str, variables: dict) -> dict:
    response = await client.post(url, json={"query": query, "variables": variables})
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(json.dumps(body["errors"], ensure_ascii=False)[:500])
    return body["data"]


async def listing_variants(client: httpx.AsyncClient, url: str, rng: random.Random) -> list[dict]:
    """Variables for listing requests: search words × sorts, category, brand, attribute-value and
    price filters, and later pages by cursor."""
    brands, categories, values = set(), set(), set()
    for sort in ORDERS:
        for edge in (await post(client, url, DISCOVER, {"sort": sort}))["products"]["edges"]:
            node = edge["node"]
            brands.update([node["brand"]["id"]] if node["brand"] else [])
            categories.update(c["id"] for c in node["frontendCategories"])
            values.update(v["id"] for a in node["salesAttributes"] for v in a["values"])
    variants = [{"first": 20, "search": word, "sort": sort} for word in SEARCH_WORDS for sort in SORTS]
    variants += [{"first": 20, "sort": sort} for sort in ORDERS]
    variants += [{"first": 20, "frontendCategoryId": c, "sort": rng.choice(ORDERS)} for c in sorted(categories)]
    variants += [{"first": 20, "brandIds": [b], "sort": rng.choice(ORDERS)} for b in sorted(brands)]
    variants += [{"first": 20, "attributeValueIds": [v], "sort": rng.choice(ORDERS)}
                 for v in rng.sample(sorted(values), min(20, len(values)))]
    variants += [{"first": 20, "inStock": True, "priceMin": low, "priceMax": low * 5, "sort": "SALES"}
                 for low in (1000, 10000, 100000)]
    pages = []
    for v in rng.sample(variants, min(12, len(variants))):  # second and third pages by cursor
        after = None
        for _ in range(2):
            page = (await post(client, url, LISTING, {**v, "after": after}))["products"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
            pages.append({**v, "after": after})
    return variants + pages


async def detail_variants(client: httpx.AsyncClient, url: str, rng: random.Random) -> list[dict]:
    """Ids of listed products: the first two pages of 100 in each price, sales and newest order."""
    ids: set[str] = set()
    for sort in ORDERS:
        after = None
        for _ in range(2):
            page = (await post(client, url, LISTING, {"first": 100, "after": after, "sort": sort}))["products"]
            ids.update(e["node"]["id"] for e in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    return [{"id": pid} for pid in sorted(ids)]


async def worker(client: httpx.AsyncClient, url: str, query: str, variants: list[dict], start: int,
                 stop_at: float, budget: list[int], stats: Stats | None) -> None:
    """Send requests back to back; record them when `stats` is given (not during warm-up)."""
    for n in itertools.count(start):
        if time.perf_counter() >= stop_at or budget[0] <= 0:
            return
        budget[0] -= 1
        payload = {"query": query, "variables": variants[n % len(variants)]}
        t0 = time.perf_counter()
        try:
            response = await client.post(url, json=payload)
            elapsed = time.perf_counter() - t0
            ok = response.status_code == 200 and b'"errors"' not in response.content
        except httpx.HTTPError as exc:
            if stats:
                stats.record_error(f"{type(exc).__name__}: {exc}")
            continue
        if stats is None:
            continue
        if not ok:
            stats.record_error(f"HTTP {response.status_code}: {response.text}")
            continue
        stats.latencies.append(elapsed)
        if "x-sql-statements" in response.headers:
            stats.sql.append(int(response.headers["x-sql-statements"]))


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat", encoding="latin-1").read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(server_pid: int | None, database: str | None) -> dict[int, float]:
    """CPU seconds used so far by the server process tree and by the database's PostgreSQL backends."""
    usage = {}
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat", encoding="latin-1").read()
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read().decode("utf-8", "replace")
            parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
            if database and cmdline.startswith("postgres: ") and f" {database} " in cmdline:
                usage[-int(entry)] = _cpu_seconds(int(entry))  # negative keys: database backends
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    tree = {server_pid} if server_pid else set()
    while True:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        if not more:
            break
        tree |= more
    for pid in tree:
        try:
            usage[pid] = _cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return usage


def cpu_per_request(before: dict[int, float], after: dict[int, float], requests: int) -> tuple[float, float]:
    """Milliseconds of server and of database CPU per request over the measured phase."""
    used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    api = sum(v for pid, v in used.items() if pid > 0)
    database = sum(v for pid, v in used.items() if pid < 0)
    return 1000 * api / max(requests, 1), 1000 * database / max(requests, 1)


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))]


def run_wrk(args, query: str, variants: list[dict], headers: dict[str, str] | None = None) -> list[str]:
    """The same requests through wrk (C, one thread): a load generator light enough to leave the
    2 cores to the server. Needs Debian's `wrk` package. `headers` go on every request."""
    if not shutil.which("wrk"):
        sys.exit("--client wrk needs wrk (apt-get install wrk)")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk_rotate.lua")
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for v in variants:
            f.write(json.dumps({"query": query, "variables": v}, ensure_ascii=False) + "\n")
        bodies = f.name
    env = {**os.environ, "BODIES": bodies}

    def wrk(seconds: float) -> str:
        cmd = ["wrk", "-t1", f"-c{args.concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
               "-s", script, args.url]
        for name, value in (headers or {}).items():
            cmd += ["-H", f"{name}: {value}"]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout

    try:
        if args.warmup:
            wrk(args.warmup)
        server0 = server_cpu(args.server_pid, args.database)
        out = wrk(args.duration)
        server1 = server_cpu(args.server_pid, args.database)
    finally:
        os.unlink(bodies)
    m = dict(re.findall(r"(\w+)=([\d.]+)", out.rpartition("WRK ")[2]))
    if not m:
        sys.exit(f"wrk printed no summary:\n{out}")
    n, seconds = int(m["responses"]), float(m["seconds"])
    api_ms, db_ms = cpu_per_request(server0, server1, n)
    lines = [
        f"client=wrk query={args.query} concurrency={args.concurrency} duration={seconds:.1f}s"
        f" variants={len(variants)} url={args.url}",
        f"requests={n} errors={m['errors']} requests/s={n / seconds:.1f}",
        f"latency ms: p50={float(m['p50']):.1f} p90={float(m['p90']):.1f} p99={float(m['p99']):.1f}"
        f" max={float(m['max']):.1f}",
        f"sql statements/request: mean={float(m['sql']):.2f}",
    ]
    if args.server_pid or args.database:
        lines.append(f"cpu per request: server {api_ms:.1f} ms, postgres backends {db_ms:.1f} ms")
    return lines


async def run(args) -> list[str]:
    require_loopback(args.url)
    rng = random.Random(args.seed)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(http1=True, http2=False, limits=limits, timeout=30) as client:
        if args.query == "listing":
            query, variants = LISTING, await listing_variants(client, args.url, rng)
        else:
            query, variants = DETAIL, await detail_variants(client, args.url, rng)
        rng.shuffle(variants)
        if not variants:
            sys.exit("no request variants: is the catalog seeded?")
        if args.client == "wrk":
            return run_wrk(args, query, variants)

        async def phase(seconds: float, requests: int, stats: Stats | None) -> float:
            stop_at = time.perf_counter() + seconds
            budget = [requests]
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(client, args.url, query, variants, k * 7919, stop_at, budget, stats)
                                   for k in range(args.concurrency)))
            return time.perf_counter() - t0

        if args.warmup:
            await phase(args.warmup, 10**9, None)
        stats = Stats()
        cpu0, server0 = time.process_time(), server_cpu(args.server_pid, args.database)
        elapsed = await phase(args.duration, args.requests or 10**9, stats)
        client_cpu = (time.process_time() - cpu0) / elapsed
        api_ms, db_ms = cpu_per_request(server0, server_cpu(args.server_pid, args.database),
                                        len(stats.latencies) + stats.errors)

    lat = sorted(stats.latencies)
    done = len(lat)
    ms = [percentile(lat, p) * 1000 for p in (50, 90, 99)]
    sql = sum(stats.sql) / len(stats.sql) if stats.sql else float("nan")
    lines = [
        f"query={args.query} concurrency={args.concurrency} duration={elapsed:.1f}s variants={len(variants)}"
        f" url={args.url}",
        f"requests={done} errors={stats.errors} requests/s={done / elapsed:.1f}",
        f"latency ms: p50={ms[0]:.1f} p90={ms[1]:.1f} p99={ms[2]:.1f} max={(lat[-1] * 1000 if lat else 0):.1f}",
        f"sql statements/request: mean={sql:.2f} min={min(stats.sql, default=0)} max={max(stats.sql, default=0)}",
        f"load generator cpu: {client_cpu:.0%} of one core",
    ]
    if args.server_pid or args.database:
        lines.append(f"cpu per request: server {api_ms:.1f} ms, postgres backends {db_ms:.1f} ms")
    if stats.first_error:
        lines.append(f"first error: {stats.first_error}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8100/graphql")
    parser.add_argument("--query", choices=["listing", "detail"], default="listing")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20, help="measured seconds")
    parser.add_argument("--requests", type=int, default=0, help="stop after this many (0: no limit)")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first")
    parser.add_argument("--seed", type=int, default=42, help="shuffles the request variants")
    parser.add_argument("--out", help="append the result lines to this file")
    parser.add_argument("--client", choices=["httpx", "wrk"], default="httpx",
                        help="wrk: send the same requests through wrk, which costs the server far less CPU")
    parser.add_argument("--server-pid", type=int, help="report the CPU this process tree used per request")
    parser.add_argument("--database", help="report the CPU this database's PostgreSQL backends used per request")
    args = parser.parse_args()
    if not 1 <= args.concurrency <= 512 or not 0 < args.duration <= 600:
        sys.exit("concurrency must be 1..512 and duration 0..600 s")
    try:
        import uvloop
        lines = uvloop.run(run(args))
    except ImportError:
        lines = asyncio.run(run(args))
    print("\n".join(lines), flush=True)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n\n")


if __name__ == "__main__":
    main()
