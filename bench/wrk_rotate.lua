-- wrk script for bench/load.py --client wrk: POSTs the GraphQL bodies of $BODIES (one JSON per
-- line) in rotation, and counts errors and the x-sql-statements header of every response.
local bodies = {}
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
  idx = offset
  errors, sql, responses = 0, 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  idx = idx % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[idx])
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 or body:find('"errors"', 1, true) then errors = errors + 1 end
  local statements = headers["x-sql-statements"]
  if statements then sql = sql + tonumber(statements) end
end

function done(summary, latency, requests)
  local e, s, n = 0, 0, 0
  for _, t in ipairs(threads) do
    e = e + t:get("errors"); s = s + t:get("sql"); n = n + t:get("responses")
  end
  io.write(string.format("WRK responses=%d errors=%d sql=%.2f p50=%.2f p90=%.2f p99=%.2f max=%.2f seconds=%.2f\n",
    n, e, n > 0 and s / n or 0, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.duration / 1e6))
end
