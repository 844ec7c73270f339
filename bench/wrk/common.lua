-- Shared by the scenarios of bench/load.sh. Each scenario script starts with
--   local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
-- Settings come from the environment (load.sh sets them):
--   LOAD_SCENARIO     name printed in the result line
--   LOAD_CONNECTIONS  connections of this run (wrk -c), printed in the result line
--   LOAD_THREADS      threads of this run (wrk -t), to slice inputs between them
--   LOAD_TOKEN        bearer token (empty: no Authorization header, as for the floor)
--   LOAD_PREFIX       path prefix: /api/v1 for the API, empty for the floor
--   LOAD_RUN          a number unique to this wrk run within one database (unique data)
local M = {}

M.prefix = os.getenv("LOAD_PREFIX") or "/api/v1"
M.run = tonumber(os.getenv("LOAD_RUN") or "1")
M.threads = tonumber(os.getenv("LOAD_THREADS") or "1")

local thread_count = 0

-- Numbers the threads 0, 1, … (a global `tid` in each thread).
function M.setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function M.headers(extra)
  local h = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  local token = os.getenv("LOAD_TOKEN") or ""
  if token ~= "" then
    h["Authorization"] = "Bearer " .. token
  end
  for k, v in pairs(extra or {}) do
    h[k] = v
  end
  return h
end

function M.lines(path)
  local out = {}
  for line in io.lines(path) do
    if line ~= "" then
      out[#out + 1] = line
    end
  end
  return out
end

function M.fields(line)
  local out = {}
  for f in string.gmatch(line, "%S+") do
    out[#out + 1] = f
  end
  return out
end

-- This thread's share of `items`: the tid-th of `threads` equal slices.
function M.slice(items, tid)
  local n = M.threads
  local per = math.floor(#items / n)
  local out = {}
  for i = tid * per + 1, (tid + 1) * per do
    out[#out + 1] = items[i]
  end
  return out
end

-- GB 32100-2015: the 18th symbol of a unified social credit code.
local ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
local WEIGHTS = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28 }

function M.base31(n, width)
  local out = {}
  for i = width, 1, -1 do
    local d = n % 31
    out[i] = string.sub(ALPHABET, d + 1, d + 1)
    n = math.floor(n / 31)
  end
  return table.concat(out)
end

function M.uscc(first17)
  local sum = 0
  for i = 1, 17 do
    local v = string.find(ALPHABET, string.sub(first17, i, i), 1, true) - 1
    sum = sum + v * WEIGHTS[i]
  end
  local check = (31 - sum % 31) % 31
  return first17 .. string.sub(ALPHABET, check + 1, check + 1)
end

-- LOAD_RATE (requests a second, all connections together): when set, the run offers about
-- that load instead of as much as the server takes. After each answer a connection waits an
-- exponentially distributed time (the gaps between arrivals of a Poisson process) before its
-- next request, so that latency is measured at a given load rather than only at saturation,
-- where it is the number of connections over the throughput whatever the server does.
-- A wait is cut at two seconds: a connection left idle for the server's keep-alive (5 s)
-- would be closed under it and counted as an error.
local rate = tonumber(os.getenv("LOAD_RATE") or "")
if rate and rate > 0 then
  local gap_ms = tonumber(os.getenv("LOAD_CONNECTIONS") or "1") / rate * 1000
  function M.delay()
    return math.min(2000, math.floor(-math.log(1 - math.random()) * gap_ms + 0.5))
  end
end

-- One JSON line: throughput, latency (ms) and errors (non-2xx/3xx statuses and socket errors).
function M.done(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  local seconds = summary.duration / 1e6
  local rps = 0
  if seconds > 0 then
    rps = summary.requests / seconds
  end
  io.write(string.format(
    '{"scenario":"%s","connections":%d,"offered_rps":%.1f,"requests":%d,"seconds":%.2f,' ..
    '"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"errors":%d}\n',
    os.getenv("LOAD_SCENARIO") or "unknown",
    tonumber(os.getenv("LOAD_CONNECTIONS") or "0"),
    rate or 0,
    summary.requests, seconds, rps,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors))
end

return M
