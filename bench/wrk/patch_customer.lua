-- PATCH /customers/{id} with If-Match. LOAD_IDS holds "id version" lines (current versions);
-- each thread cycles through its own slice, and takes each customer's new version from the
-- answer, so that no request is stale (412).
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local ids, versions, headers
local next_index, counter = 0, 0

setup = common.setup
delay = common.delay

function init(args)
  ids, versions = {}, {}
  for _, line in ipairs(common.slice(common.lines(os.getenv("LOAD_IDS")), tid or 0)) do
    local f = common.fields(line)
    ids[#ids + 1] = f[1]
    versions[f[1]] = f[2]
  end
  headers = common.headers()
end

function request()
  next_index = next_index % #ids + 1
  counter = counter + 1
  local id = ids[next_index]
  headers["If-Match"] = '"' .. versions[id] .. '"'
  local body = '{"needs":"负载测试跟进 ' .. common.run .. "-" .. (tid or 0) .. "-" .. counter ..
    '","influence":' .. (counter % 5 + 1) .. "}"
  return wrk.format("PATCH", common.prefix .. "/customers/" .. id, headers, body)
end

local failures = 0

function response(status, hdrs, body)
  if status >= 400 and failures < 3 then
    failures = failures + 1
    io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
  end
  if status == 200 then
    local id = string.match(body, '"id":"([0-9a-f%-]+)"')
    local version = string.match(body, '"version":(%d+)')
    if id and version then
      versions[id] = version
    end
  end
end

done = common.done
