#!/usr/bin/env bash
# Catalog benchmark: scale the demo catalog, then for 1 and 2 uvicorn workers run the listing and
# detail queries at concurrency 16 and 64 against a local server; results go to bench/results/.
#
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ecom_bench REDIS_URL=redis://127.0.0.1:6379/5 bench/run.sh
#
# Settings (environment): SKUS (10000), DURATION seconds per run (20), PORT (8100),
# RESPONSE_CACHE_SECONDS (0 = uncached; e.g. 30 measures the anonymous response cache),
# WORKERS ("1 2"), CONCURRENCY ("16 64"), QUERIES ("listing detail"), CLIENT (httpx, or wrk:
# the C load generator, which leaves far more of the 2 cores to the server).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL (a database of your own: the seed grows its catalog)}"
: "${REDIS_URL:?set REDIS_URL}"
SKUS=${SKUS:-10000} DURATION=${DURATION:-20} PORT=${PORT:-8100}
WORKERS=${WORKERS:-"1 2"} CONCURRENCY=${CONCURRENCY:-"16 64"} QUERIES=${QUERIES:-"listing detail"}
CLIENT=${CLIENT:-httpx}
export DATABASE_URL REDIS_URL RESPONSE_CACHE_SECONDS=${RESPONSE_CACHE_SECONDS:-0} LOG_JSON=true
mkdir -p bench/results
out=bench/results/$(date -u +%Y%m%dT%H%MZ)-cache${RESPONSE_CACHE_SECONDS}.txt

.venv/bin/ecom migrate
.venv/bin/ecom seed --scale-skus "$SKUS"
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git describe --always --dirty 2>/dev/null || echo none)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "$(free -g | awk '/Mem:/ {print $2}') GiB RAM; python $(.venv/bin/python -V | cut -d' ' -f2);" \
       "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "catalog: $(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM products WHERE status = 'LISTED'") listed products," \
       "$(psql "$DATABASE_URL" -Atc 'SELECT count(*) FROM skus') SKUs; response cache ${RESPONSE_CACHE_SECONDS}s"
  echo
} >> "$out"

server=""
stop_server() {
  if [ -n "$server" ]; then kill -INT -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
trap stop_server EXIT

for workers in $WORKERS; do
  # Its own session, so that stopping it stops every uvicorn worker process with it.
  setsid .venv/bin/ecom serve --port "$PORT" --workers "$workers" > "/tmp/ecom-bench-$PORT.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
    sleep 0.2
  done
  for query in $QUERIES; do
    for c in $CONCURRENCY; do
      echo "== workers=$workers query=$query concurrency=$c (load average $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out"
      .venv/bin/python bench/load.py --url "http://127.0.0.1:$PORT/graphql" --query "$query" \
        --concurrency "$c" --duration "$DURATION" --out "$out" --server-pid "$server" --client "$CLIENT" \
        --database "$(psql "$DATABASE_URL" -Atc "SELECT current_database()")"
    done
  done
  stop_server
done
echo "results: $out"
