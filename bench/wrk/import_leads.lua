-- POST /leads/import of 1,000 rows per request (JSON), every mobile and email unique: the
-- row number is built from the run, the thread and a counter.
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local headers
local counter = 0
local REGIONS = { "44", "32", "33", "31", "11", "37", "35", "51" }
local SOURCES = { "fair", "website", "referral", "phone", "other" }

setup = common.setup
delay = common.delay

function init(args)
  headers = common.headers()
end

function request()
  local rows = {}
  -- Room for 500 requests per thread and run, and a thousand runs before mobiles repeat.
  local base = common.run * 1000000 + (tid or 0) * 500000 + counter * 1000
  counter = counter + 1
  for i = 1, 1000 do
    local n = base + i
    rows[i] = string.format(
      '{"source":"%s","company_name":"负载线索%d公司","contact_name":"王芳","mobile":"19%09d",' ..
      '"email":"lead%d@load.example.com","region":"%s","industry_code":"C35",' ..
      '"needs":"需要报价"}',
      SOURCES[i % #SOURCES + 1], n, n % 1000000000, n, REGIONS[i % #REGIONS + 1])
  end
  local body = '{"leads":[' .. table.concat(rows, ",") .. "]}"
  return wrk.format("POST", common.prefix .. "/leads/import", headers, body)
end

-- The first few failures, on stderr, to find the cause of any error.
local failures = 0
function response(status, hdrs, body)
  if status >= 400 and failures < 3 then
    failures = failures + 1
    io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
  end
end

done = common.done
