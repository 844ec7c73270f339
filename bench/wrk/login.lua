-- POST /auth/login with the right password (LOAD_USERNAME, LOAD_PASSWORD): each one hashes
-- the password with argon2id, so this is CPU-bound by design.
local common = dofile((os.getenv("LOAD_WRK_DIR") or "bench/wrk") .. "/common.lua")
local headers, body

setup = common.setup
delay = common.delay

function init(args)
  headers = { ["Content-Type"] = "application/json" }
  body = '{"username":"' .. (os.getenv("LOAD_USERNAME") or "admin") .. '","password":"' ..
    os.getenv("LOAD_PASSWORD") .. '"}'
end

function request()
  return wrk.format("POST", common.prefix .. "/auth/login", headers, body)
end

done = common.done
