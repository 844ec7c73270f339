-- GET /customers?… filtered: LOAD_LIST_QUERY (e.g. tier=key&tag=…&limit=50) plus a region
-- drawn for each request from LOAD_REGIONS (comma-separated province codes, optional).
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local query, regions, headers

setup = common.setup
delay = common.delay

function init(args)
  query = os.getenv("LOAD_LIST_QUERY") or "limit=50"
  regions = {}
  for r in string.gmatch(os.getenv("LOAD_REGIONS") or "", "[^,]+") do
    regions[#regions + 1] = r
  end
  headers = common.headers()
  math.randomseed(os.time() * 100 + (tid or 0))
end

function request()
  local path = common.prefix .. "/customers?" .. query
  if #regions > 0 then
    path = path .. "&region=" .. regions[math.random(#regions)]
  end
  return wrk.format("GET", path, headers)
end

done = common.done
