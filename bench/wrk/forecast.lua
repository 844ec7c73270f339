-- GET /reports/forecast, grouped by owner and by month in turn.
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local headers
local n = 0
local GROUPS = { "owner", "month" }

setup = common.setup
delay = common.delay

function init(args)
  headers = common.headers()
end

function request()
  n = n + 1
  return wrk.format("GET", common.prefix .. "/reports/forecast?group_by=" .. GROUPS[n % 2 + 1], headers)
end

done = common.done
