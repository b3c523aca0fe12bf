#!/usr/bin/env bash
# checkoutPreview benchmark (issue 3): seed the demo catalog with promotions and coupons, then for 1
# and 2 uvicorn workers run bench/preview_load.py at concurrency 16 and 64; results go to bench/results/.
#
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ecom_preview REDIS_URL=redis://127.0.0.1:6379/11 \
#   CLIENT=wrk bench/preview_run.sh
#
# Settings (environment): DURATION seconds per run (15), PORT (8100), WORKERS ("1 2"),
# CONCURRENCY ("16 64"), CLIENT (httpx or wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL (a database of your own)}"
: "${REDIS_URL:?set REDIS_URL}"
DURATION=${DURATION:-15} PORT=${PORT:-8100} WORKERS=${WORKERS:-"1 2"} CONCURRENCY=${CONCURRENCY:-"16 64"}
CLIENT=${CLIENT:-httpx}
export DATABASE_URL REDIS_URL RESPONSE_CACHE_SECONDS=0 LOG_JSON=true
mkdir -p bench/results
out=bench/results/$(date -u +%Y%m%dT%H%MZ)-preview.txt

.venv/bin/ecom migrate
.venv/bin/ecom seed
.venv/bin/python bench/preview_load.py --seed
{
  echo "date: $(date -u +%FT%TZ)  commit: $(git describe --always --dirty 2>/dev/null || echo none)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
       "$(free -g | awk '/Mem:/ {print $2}') GiB RAM; python $(.venv/bin/python -V | cut -d' ' -f2)"
  echo "promotions: $(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM promotions WHERE status = 'ACTIVE'") active;" \
       "bench buyer coupons: $(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM buyer_coupons")"
  echo
} >> "$out"

server=""
stop_server() {
  if [ -n "$server" ]; then kill -INT -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
trap stop_server EXIT

for workers in $WORKERS; do
  setsid .venv/bin/ecom serve --port "$PORT" --workers "$workers" > "/tmp/ecom-preview-$PORT.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
    sleep 0.2
  done
  for c in $CONCURRENCY; do
    echo "== workers=$workers concurrency=$c (load average $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out"
    .venv/bin/python bench/preview_load.py --url "http://127.0.0.1:$PORT/graphql" --concurrency "$c" \
      --duration "$DURATION" --client "$CLIENT" --server-pid "$server" --out "$out" \
      --database "$(psql "$DATABASE_URL" -Atc "SELECT current_database()")"
  done
  stop_server
done
echo "results: $out"
