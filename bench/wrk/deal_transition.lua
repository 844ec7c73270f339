-- PATCH /opportunities/{id} {"probability": …} with If-Match: open deals move 30 → 60 → 90
-- → 30. LOAD_IDS holds "id version probability" lines; each thread cycles through its own
-- slice and takes each deal's new version and stage from the answer (no 412).
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local ids, versions, stages, headers
local next_index = 0
local NEXT = { ["30"] = "60", ["60"] = "90", ["90"] = "30" }

setup = common.setup
delay = common.delay

function init(args)
  ids, versions, stages = {}, {}, {}
  for _, line in ipairs(common.slice(common.lines(os.getenv("LOAD_IDS")), tid or 0)) do
    local f = common.fields(line)
    ids[#ids + 1] = f[1]
    versions[f[1]] = f[2]
    stages[f[1]] = f[3]
  end
  headers = common.headers()
end

function request()
  next_index = next_index % #ids + 1
  local id = ids[next_index]
  headers["If-Match"] = '"' .. versions[id] .. '"'
  local body = '{"probability":' .. (NEXT[stages[id]] or "60") .. "}"
  return wrk.format("PATCH", common.prefix .. "/opportunities/" .. id, headers, body)
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
    local stage = string.match(body, '"probability":(%d+)')
    if id and version and stage then
      versions[id] = version
      stages[id] = stage
    end
  end
end

done = common.done
