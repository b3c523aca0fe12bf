"""Order placement under load (issue 4 "Must measure" (a) and (c)) against a running server.

    DATABASE_URL=… .venv/bin/python bench/orders_load.py --prepare            # buyers, idempotent
    DATABASE_URL=… .venv/bin/python bench/orders_load.py --mode flash --concurrency 256 [--server-pid PID]
    DATABASE_URL=… .venv/bin/python bench/orders_load.py --mode ordinary --concurrency 64
    DATABASE_URL=… .venv/bin/python bench/orders_load.py --pgbench --concurrency 64

- `flash`: one SKU with exactly `--units` (1,000) available, one placement each by `--buyers`
  (2,000) different buyers, all sent through wrk at `--concurrency` connections. Reports
  placements/s (1,000 successes over the time to answer everyone), latency and checks that the
  SKU holds exactly `--units` reservations and no stock row went negative.
- `ordinary`: every buyer places one 3-line cart of random in-stock SKUs of the scaled catalog.
- `--pgbench`: the machine's ceiling for a one-row `UPDATE … SET qty = qty - 1` at the same
  concurrency (pgbench, 10 s), the number a single hot-SKU reservation is compared with.
Buyers are `1390000xxxx` phones tagged by nickname `bench-orders`; access tokens are made with the
server's JWT secret from the same environment. The load generator is an aiohttp client (the
`bench` extra) sending each request once with at most `--concurrency` in flight; its own CPU use is
reported, since it shares the machine.
"""

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import aiohttp
import asyncpg
from load import cpu_per_request, percentile, server_cpu  # bench/load.py

from app.auth.principal import Principal
from app.auth.sessions import open_session
from app.config import get_settings
from app.ids import encode_id

TAG = "bench-orders"
PLACE = """mutation Place($i: PlaceOrderInput!) { placeOrder(input: $i) {
  paymentOrder { id payable orders { id status } } userErrors { code } } }"""
ADDRESS = {"receiver": "压测", "phone": "13800000000", "regionCode": "440305", "detail": "科技园 1 号"}


async def prepare(conn: asyncpg.Connection, buyers: int) -> None:
    have = await conn.fetchval("SELECT count(*) FROM buyers WHERE nickname = $1", TAG)
    await conn.execute(
        "INSERT INTO buyers (phone, password_hash, nickname)"
        " SELECT '1390' || lpad(n::text, 7, '0'), 'bench: no login', $1 FROM generate_series($2, $3 - 1) n"
        " ON CONFLICT (phone) DO NOTHING", TAG, have, buyers)
    print(f"bench buyers: {max(have, buyers)}")


async def flash_sku(conn: asyncpg.Connection, units: int) -> int:
    """A listed SKU shipped from one warehouse covering Guangdong, reset to exactly `units`."""
    sku = await conn.fetchval(
        "SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id AND p.status = 'LISTED'"
        " AND p.fulfillment_type <> 'VIRTUAL' JOIN stock st ON st.sku_id = s.id"
        " JOIN warehouse_regions wr ON wr.warehouse_id = st.warehouse_id AND wr.region_code = '440000'"
        " WHERE s.status = 'ACTIVE' AND (SELECT count(*) FROM stock x WHERE x.sku_id = s.id) = 1"
        " ORDER BY s.id LIMIT 1")
    await conn.execute("UPDATE stock SET on_hand = reserved + $2 WHERE sku_id = $1", sku, units)
    return sku


async def ordinary_skus(conn: asyncpg.Connection) -> list[int]:
    return [r["id"] for r in await conn.fetch(
        "SELECT s.id FROM skus s JOIN products p ON p.id = s.product_id AND p.status = 'LISTED'"
        " AND p.fulfillment_type <> 'VIRTUAL' JOIN stock st ON st.sku_id = s.id"
        " JOIN warehouse_regions wr ON wr.warehouse_id = st.warehouse_id AND wr.region_code = '440000'"
        " WHERE s.status = 'ACTIVE' AND st.on_hand - st.reserved > 100 ORDER BY s.id LIMIT 3000")]


def bodies(carts: list[list[int]]) -> list[dict]:
    return [{"query": PLACE, "variables": {"i": {
        "idempotencyKey": uuid.uuid4().hex, "address": ADDRESS,
        "lines": [{"skuId": encode_id("Sku", s), "quantity": 1} for s in cart]}}} for cart in carts]


async def send_all(url: str, concurrency: int, tokens: list[str], requests: list[dict]) -> dict:
    """Every request once, at most `concurrency` in flight; latencies and outcomes. aiohttp, not
    httpx: at hundreds of connections httpx cost ~10 ms of client CPU per request here, which
    this 2-core machine takes from the server."""
    latencies, outcome = [], {"placed": 0, "refused": 0, "failed": 0}
    queue = list(zip(tokens, requests))[::-1]

    async def one(session: aiohttp.ClientSession) -> None:
        while queue:
            token, body = queue.pop()
            t0 = time.perf_counter()
            async with session.post(url, json=body, headers={"authorization": f"Bearer {token}"}) as r:
                data = await r.json() if r.status == 200 else {}
            latencies.append((time.perf_counter() - t0) * 1000)
            if r.status != 200 or "errors" in data:
                outcome["failed"] += 1
            elif data["data"]["placeOrder"]["paymentOrder"]:
                outcome["placed"] += 1
            else:
                outcome["refused"] += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=300)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(one(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return {**outcome, "seconds": seconds, "p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99), "max": latencies[-1]}


def pgbench(dsn: str, concurrency: int, seconds: int = 10) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("UPDATE bench_hot_row SET qty = qty - 1 WHERE id = 1;\n")
    subprocess.run(["psql", dsn, "-qc", "CREATE TABLE IF NOT EXISTS bench_hot_row (id int PRIMARY KEY, qty bigint);"
                    " INSERT INTO bench_hot_row VALUES (1, 1000000000) ON CONFLICT DO NOTHING"], check=True)
    out = subprocess.run([shutil.which("pgbench") or "pgbench", "-n", "-c", str(concurrency), "-j", "2",
                          "-T", str(seconds), "-f", f.name, dsn], capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    tps = re.search(r"tps = ([\d.]+)", out)
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    return f"pgbench one-row UPDATE: clients={concurrency} tps={tps.group(1)} latency avg={lat.group(1)} ms"


async def main(args) -> list[str]:
    settings = get_settings()
    conn = await asyncpg.connect(settings.database_url)
    try:
        if args.prepare:
            await prepare(conn, args.buyers)
            return []
        if args.pgbench:
            return [pgbench(settings.database_url, args.concurrency)]
        buyer_ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM buyers WHERE nickname = $1 ORDER BY id LIMIT $2", TAG, args.buyers)]
        if len(buyer_ids) < args.buyers:
            sys.exit("run --prepare first")
        await conn.execute("DELETE FROM risk_decisions WHERE buyer_id = ANY($1::bigint[])", buyer_ids)
        await conn.execute("UPDATE payment_orders SET created_at = created_at - interval '1 hour'"
                           " WHERE buyer_id = ANY($1::bigint[])", buyer_ids)   # velocity window of earlier runs
        tokens = [(await open_session(conn, settings, Principal(kind="buyer", id=b))).access_token for b in buyer_ids]
        rng = random.Random(7)
        if args.mode == "flash":
            sku = await flash_sku(conn, args.units)
            carts = [[sku]] * len(tokens)
        else:
            pool = await ordinary_skus(conn)
            carts = [rng.sample(pool, 3) for _ in tokens]
        requests = bodies(carts)
        run_started = await conn.fetchval("SELECT now()")
        cpu0, client0 = server_cpu(args.server_pid, args.database), time.process_time()
        m = await send_all(args.url, args.concurrency, tokens, requests)
        cpu1, client_cpu = server_cpu(args.server_pid, args.database), time.process_time() - client0
        n = m["placed"] + m["refused"] + m["failed"]
        lines = [f"mode={args.mode} buyers={len(tokens)} concurrency={args.concurrency}"
                 f" placed={m['placed']} refused={m['refused']} failed={m['failed']}",
                 f"placements/s={m['placed'] / m['seconds']:.1f} requests/s={n / m['seconds']:.1f}"
                 f" seconds={m['seconds']:.2f} client cpu={client_cpu:.1f} s",
                 f"latency ms: p50={m['p50']:.1f} p90={m['p90']:.1f} p99={m['p99']:.1f} max={m['max']:.1f}"]
        if args.server_pid:
            api_ms, db_ms = cpu_per_request(cpu0, cpu1, n)
            lines.append(f"cpu per request: server {api_ms:.1f} ms, postgres backends {db_ms:.1f} ms")
        if args.mode == "flash":
            row = await conn.fetchrow("SELECT on_hand, reserved FROM stock WHERE sku_id = $1", sku)
            reserved = await conn.fetchval("SELECT coalesce(sum(quantity), 0) FROM stock_reservations"
                                           " WHERE sku_id = $1 AND status = 'RESERVED' AND created_at >= $2",
                                           sku, run_started)
            negative = await conn.fetchval("SELECT count(*) FROM stock WHERE reserved > on_hand OR on_hand < 0")
            lines.append(f"oversell check: units={args.units} reserved now={reserved}"
                         f" available={row['on_hand'] - row['reserved']} negative stock rows={negative}")
        return lines
    finally:
        await conn.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8100/graphql")
    p.add_argument("--prepare", action="store_true")
    p.add_argument("--pgbench", action="store_true")
    p.add_argument("--mode", choices=("flash", "ordinary"), default="flash")
    p.add_argument("--buyers", type=int, default=2000)
    p.add_argument("--units", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--server-pid", type=int)
    p.add_argument("--database")
    p.add_argument("--out")
    a = p.parse_args()
    result = asyncio.run(main(a))
    print("\n".join(result))
    if a.out and result:
        with open(a.out, "a") as f:
            f.write("\n".join(result) + "\n\n")
