-- S2: GET /api/v1/cars/{id}, a random seeded car of the caller per request.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
common.auth()
local lo = tonumber(os.getenv("BENCH_CAR_MIN"))
local hi = tonumber(os.getenv("BENCH_CAR_MAX"))

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local seeded = false
request = function()
  if not seeded then
    math.randomseed(os.time() * 100 + tid)
    seeded = true
  end
  return wrk.format("GET", "/api/v1/cars/" .. math.random(lo, hi))
end
done = common.done
