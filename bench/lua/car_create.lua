-- S5: POST /api/v1/cars/ with a plate unique per request: BENCH_TAG (one letter per
-- wrk run) .. BENCH_HOST_TAG (the host's initial) .. thread number .. a 7-digit
-- per-thread counter (10 characters, the longest plate).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
common.auth()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local tag = (os.getenv("BENCH_TAG") or "Z") .. (os.getenv("BENCH_HOST_TAG") or "X")
local brand = os.getenv("BENCH_BRAND_ID")
local counter = 0
request = function()
  counter = counter + 1
  local plate = string.format("%s%d%07d", tag, tid % 10, counter)
  return wrk.format(nil, nil, nil, string.format(
    '{"model":"Corolla","factory_year":2022,"model_year":2023,"color":"Prata","plate":"%s",' ..
    '"fuel_type":"flex","transmission":"cvt","price":"129990.50","brand_id":%s}', plate, brand))
end
done = common.done
