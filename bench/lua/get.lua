-- A plain GET of the URL given to wrk (S0, S1, nginx); authorized when BENCH_TOKEN is set (S3).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
common.auth()
done = common.done
