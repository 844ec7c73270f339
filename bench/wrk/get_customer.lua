-- GET /customers/{id} of a random customer (LOAD_IDS: a file of customer ids).
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local ids, headers

setup = common.setup
delay = common.delay

function init(args)
  ids = common.lines(os.getenv("LOAD_IDS"))
  headers = common.headers()
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  return wrk.format("GET", common.prefix .. "/customers/" .. ids[math.random(#ids)], headers)
end

done = common.done
