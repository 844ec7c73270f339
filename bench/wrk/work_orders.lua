-- GET /work-orders: the newest page, and the open ones, in turn.
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local headers
local n = 0
local QUERIES = { "limit=50", "open=true&limit=50" }

setup = common.setup
delay = common.delay

function init(args)
  headers = common.headers()
end

function request()
  n = n + 1
  return wrk.format("GET", common.prefix .. "/work-orders?" .. QUERIES[n % 2 + 1], headers)
end

done = common.done
