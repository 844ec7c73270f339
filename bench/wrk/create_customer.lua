-- POST /customers: a new customer per request, with a USCC of its own (check symbol per
-- GB 32100-2015) made of the run number, the thread and a counter, so that no run collides
-- with another on the same database.
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local headers
local counter = 0

setup = common.setup
delay = common.delay

function init(args)
  headers = common.headers()
end

function request()
  counter = counter + 1
  -- 91 (enterprise) 440300 (Shenzhen) + 9 symbols: L, run (2), thread (1), counter (5).
  local own = "L" .. common.base31(common.run, 2) .. common.base31(tid or 0, 1) ..
    common.base31(counter, 5)
  local code = common.uscc("91440300" .. own)
  local mobile = string.format("139%08d", ((common.run * 4 + (tid or 0)) * 1000000 + counter) % 100000000)
  local body = '{"name":"负载测试' .. own .. '有限公司","uscc":"' .. code ..
    '","industry_code":"C35","customer_type":"potential","source":"website",' ..
    '"annual_budget":"120.50","influence":3,"tags":["意向产品A"],' ..
    '"contacts":[{"name":"张伟","title":"采购经理","mobile":"' .. mobile ..
    '","email":"buyer.' .. string.lower(own) .. '@load.example.com","is_primary":true}]}'
  return wrk.format("POST", common.prefix .. "/customers", headers, body)
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
