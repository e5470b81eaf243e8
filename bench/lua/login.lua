-- S4: POST /api/v1/auth/token with the seeded user's right password.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))
done = common.done
