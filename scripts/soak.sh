#!/usr/bin/env bash
# Soak: a mixed workload (reads, writes, logins) at 64 connections for 5 minutes
# against devhost on a PRIVATE PostgreSQL cluster (initdb into a temp dir, free port),
# so the shared server at :5432 is never loaded. Targets (exit 1 when one is missed):
#   - zero 5xx answers and zero connection errors (connect/read/write/timeout);
#   - devhost memory stable: median RSS of the last minute within 10 % of the median
#     RSS of the first minute after warm-up;
#   - PostgreSQL client connections never above the pool (64) — sampled from
#     pg_stat_activity every 5 s.
# Run with `make soak` (builds first) or `bash scripts/soak.sh` after `make build`.
#
# Environment: SOAK_DURATION (s, default 300), SOAK_WARMUP (s, 60),
# SOAK_CONNECTIONS (64), SOAK_THREADS (2), SOAK_THINK_MS (per-connection pause between
# requests, default 5: keeps a shared 2-core machine usable), SOAK_USERS (16),
# SOAK_KV (redis: a private redis-server, as in production — the default; spin: the
# SQLite-backed store of runtime-config.toml), PG_BIN (PostgreSQL binaries),
# SOAK_KEEP=1 keeps the work dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/local.sh
source "$ROOT/scripts/lib/local.sh"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
DEVHOST="${DEVHOST_BIN:-$TARGET/release/devhost}"
MIGRATOR="${MIGRATOR_BIN:-$TARGET/release/migrator}"
DURATION="${SOAK_DURATION:-300}"
WARMUP="${SOAK_WARMUP:-60}"
CONNS="${SOAK_CONNECTIONS:-64}"
THREADS="${SOAK_THREADS:-2}"
THINK_MS="${SOAK_THINK_MS:-5}"
NUSERS="${SOAK_USERS:-16}"
POOL=64
JWT="soak-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

die() { echo "soak: $*" >&2; exit 2; }
for f in "$DEVHOST" "$MIGRATOR"; do [ -x "$f" ] || die "$f missing: run make build"; done
command -v wrk >/dev/null || die "wrk is not installed (apt-get install -y wrk)"
command -v curl >/dev/null || die "curl is not installed"
command -v psql >/dev/null || die "psql is not installed"

if [ -z "${PG_BIN:-}" ]; then
  PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$PG_BIN" ] || PG_BIN="$(pg_config --bindir 2>/dev/null || true)"
fi
[ -x "$PG_BIN/initdb" ] || die "no initdb (set PG_BIN)"

WORK="$(mktemp -d /tmp/soak.XXXXXX)"
AS_PG=()
if [ "$(id -u)" = 0 ]; then AS_PG=(runuser -u postgres --); chown postgres: "$WORK"; fi
DEVHOST_PID=""
SAMPLER_PID=""
REDIS_PID=""
KV="${SOAK_KV:-redis}"


cleanup() {
  set +e
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null
  if [ -n "$DEVHOST_PID" ]; then
    kill "$DEVHOST_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$DEVHOST_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$DEVHOST_PID" 2>/dev/null
  fi
  [ -d "$WORK/pg" ] && "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1
  if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak: work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- private PostgreSQL ---------------------------------------------------------------
PGPORT="$(free_port)"
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log"; die "initdb failed"; }
cat >>"$WORK/pg/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$WORK'
max_connections = 150
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -t 60 start >/dev/null || die "PostgreSQL did not start"
DB_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres?sslmode=disable"
"$MIGRATOR" up --database-url "$DB_URL" >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; die "migrate failed"; }

# --- devhost --------------------------------------------------------------------------
APP_PORT="$(free_port)"
if [ "$KV" = redis ]; then
  command -v redis-server >/dev/null || die "redis-server is not installed (or SOAK_KV=spin)"
  REDIS_PORT="$(free_port)"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  KV_CONFIG="type = \"redis\"
url = \"redis://127.0.0.1:$REDIS_PORT\""
else
  KV_CONFIG="type = \"spin\"
path = \"$WORK/kv.db\""
fi
cat >"$WORK/runtime-config.toml" <<EOF
[sqlite_database.default]
type = "spin"
path = "$WORK/app.db"

[key_value_store.default]
$KV_CONFIG

[key_value_store.metrics]
type = "spin"
EOF
(
  cd "$WORK"
  for v in $(env | grep -o '^SPIN_VARIABLE_[A-Z_]*' || true); do unset "$v"; done
  SPIN_VARIABLE_DATABASE_URL="$DB_URL" SPIN_VARIABLE_JWT_SECRET_KEY="$JWT" SPIN_VARIABLE_LOG_LEVEL=warning \
    exec "$DEVHOST" up --from "$ROOT/spin.toml" --listen "127.0.0.1:$APP_PORT" \
      --runtime-config-file "$WORK/runtime-config.toml" --state-dir "$WORK/.spin" >"$WORK/devhost.log" 2>&1
) &
DEVHOST_PID=$!
BASE="http://127.0.0.1:$APP_PORT"
wait_http "$BASE/health_check" 60 "$DEVHOST_PID" || { cat "$WORK/devhost.log"; die "devhost not ready"; }

# --- data: users with a token, a brand and a few cars each ---------------------------
USERS_FILE="$WORK/users.tsv"
: >"$USERS_FILE"
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
for i in $(seq 1 "$NUSERS"); do
  email="soak$i@example.com"
  curl -fsS -o /dev/null -X POST "$BASE/api/v1/users/" \
    -d "{\"username\":\"soak$i\",\"email\":\"$email\",\"password\":\"soak-pass-$i\"}" || die "register failed"
  token="$(curl -fsS -X POST "$BASE/api/v1/auth/token" -d "{\"email\":\"$email\",\"password\":\"soak-pass-$i\"}" | json_field access_token)"
  brand="$(curl -fsS -X POST "$BASE/api/v1/brands/" -H "Authorization: Bearer $token" \
    -d "{\"name\":\"SoakBrand$i\"}" | json_field id)"
  car=""
  for j in 1 2 3; do
    car="$(curl -fsS -X POST "$BASE/api/v1/cars/" -H "Authorization: Bearer $token" \
      -d "{\"model\":\"Model $j\",\"factory_year\":2020,\"model_year\":2021,\"color\":\"Azul\",\"plate\":\"$(printf 'P%02dX%04d' "$i" "$j")\",\"fuel_type\":\"flex\",\"transmission\":\"manual\",\"price\":\"50000.00\",\"brand_id\":$brand}" \
      | json_field id)"
  done
  printf '%s\t%s\t%s\t%s\t%s\n' "$token" "$email" "soak-pass-$i" "$brand" "$car" >>"$USERS_FILE"
done

# --- the workload (wrk + Lua) ---------------------------------------------------------
cat >"$WORK/mix.lua" <<'LUA'
-- Mixed workload. Per thread: counts of answers by status class, 5xx seen.
local users = {}
local threads = {}
local tid_seq = 0
local think = tonumber(os.getenv("SOAK_THINK_MS") or "0")

function setup(thread)
  tid_seq = tid_seq + 1
  thread:set("tid", tid_seq)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("SOAK_USERS_FILE")) do
    local t, e, p, b, c = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
    table.insert(users, {token = t, email = e, password = p, brand = b, car = c})
  end
  n = 0
  c2xx, c4xx, c5xx, cother = 0, 0, 0, 0
  reads, writes, logins = 0, 0, 0
  last4xx = ""
  last5xx = ""
  kind = "read"
end

function delay()
  return think
end

local function auth(u)
  return {["Authorization"] = "Bearer " .. u.token, ["Content-Type"] = "application/json"}
end

function request()
  n = n + 1
  local u = users[(n % #users) + 1]
  local r = n % 100
  if r < 40 then
    kind = "read"
    return wrk.format("GET", "/api/v1/cars/?limit=20", auth(u))
  elseif r < 55 then
    kind = "read"
    return wrk.format("GET", "/api/v1/cars/" .. u.car, auth(u))
  elseif r < 65 then
    kind = "read"
    return wrk.format("GET", "/api/v1/brands/?limit=20", auth(u))
  elseif r < 75 then
    kind = "read"
    return wrk.format("GET", "/api/v1/users/?limit=10&search=soak", nil)
  elseif r < 80 then
    kind = "read"
    return wrk.format("GET", "/health_check", nil)
  elseif r < 94 then
    kind = "write"
    local plate = string.format("T%d%07d", tid % 10, n % 10000000)
    local body = '{"model":"Soak","factory_year":2020,"model_year":2021,"color":"Verde",' ..
      '"plate":"' .. plate .. '","fuel_type":"diesel","transmission":"cvt",' ..
      '"price":"1234.56","brand_id":' .. u.brand .. '}'
    return wrk.format("POST", "/api/v1/cars/", auth(u), body)
  elseif r < 99 then
    kind = "write"
    local body = '{"price":"' .. (40000 + n % 1000) .. '.00"}'
    return wrk.format("PUT", "/api/v1/cars/" .. u.car, auth(u), body)
  else
    kind = "login"
    local body = '{"email":"' .. u.email .. '","password":"' .. u.password .. '"}'
    return wrk.format("POST", "/api/v1/auth/token", {["Content-Type"] = "application/json"}, body)
  end
end

function response(status, headers, body)
  if kind == "read" then reads = reads + 1 elseif kind == "write" then writes = writes + 1 else logins = logins + 1 end
  if status >= 200 and status < 300 then c2xx = c2xx + 1
  elseif status >= 400 and status < 500 then c4xx = c4xx + 1; last4xx = status .. " " .. (body or "")
  elseif status >= 500 then c5xx = c5xx + 1; last5xx = status .. " " .. (body or "")
  else cother = cother + 1 end
end

function done(summary, latency, requests)
  local t = {c2xx = 0, c4xx = 0, c5xx = 0, cother = 0, reads = 0, writes = 0, logins = 0}
  local l4, l5 = "", ""
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (th:get(k) or 0) end
    if (th:get("last4xx") or "") ~= "" then l4 = th:get("last4xx") end
    if (th:get("last5xx") or "") ~= "" then l5 = th:get("last5xx") end
  end
  local e = summary.errors
  local f = io.open(os.getenv("SOAK_RESULT_FILE"), "w")
  f:write(string.format(
    "requests=%d\nduration_s=%.1f\nrps=%.1f\nc2xx=%d\nc4xx=%d\nc5xx=%d\ncother=%d\n" ..
    "reads=%d\nwrites=%d\nlogins=%d\nerr_connect=%d\nerr_read=%d\nerr_write=%d\nerr_timeout=%d\n" ..
    "p50_ms=%.1f\np90_ms=%.1f\np99_ms=%.1f\nmax_ms=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    t.c2xx, t.c4xx, t.c5xx, t.cother, t.reads, t.writes, t.logins,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  f:close()
  local g = io.open(os.getenv("SOAK_RESULT_FILE") .. ".last", "w")
  g:write("last 4xx: " .. l4:sub(1, 300) .. "\nlast 5xx: " .. l5:sub(1, 300) .. "\n")
  g:close()
end
LUA

# --- samplers: devhost RSS and PostgreSQL connections every 5 s (bounded) -------------
SAMPLES="$WORK/samples.tsv"
(
  start=$(date +%s)
  for _ in $(seq 1 $((DURATION / 5 + 6))); do
    now=$(( $(date +%s) - start ))
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$DEVHOST_PID/status" 2>/dev/null || echo 0)
    conns=$(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -Atc \
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" 2>/dev/null || echo -1)
    printf '%s\t%s\t%s\n' "$now" "${rss:-0}" "$conns" >>"$SAMPLES"
    sleep 5
  done
) &
SAMPLER_PID=$!

echo "soak: $CONNS connections, $THREADS threads, ${DURATION}s (warm-up ${WARMUP}s), think ${THINK_MS} ms, app $BASE, PostgreSQL :$PGPORT, key-value $KV"
RESULT="$WORK/result.txt"
SOAK_USERS_FILE="$USERS_FILE" SOAK_RESULT_FILE="$RESULT" SOAK_THINK_MS="$THINK_MS" \
  timeout $((DURATION + 60)) wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --timeout 10s \
  -s "$WORK/mix.lua" "$BASE" | tee "$WORK/wrk.out"
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""

[ -s "$RESULT" ] || die "wrk produced no result"
alive=1; kill -0 "$DEVHOST_PID" 2>/dev/null || alive=0

# --- verdict --------------------------------------------------------------------------
python3 - "$RESULT" "$SAMPLES" "$WARMUP" "$POOL" "$alive" "$RESULT.last" <<'PY'
import sys
res = dict(l.strip().split("=", 1) for l in open(sys.argv[1]) if "=" in l)
samples = [tuple(int(x) for x in l.split("\t")) for l in open(sys.argv[2]) if l.strip()]
warmup, pool, alive = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
f = lambda k: float(res[k])
after = [s for s in samples if s[0] >= warmup and s[1] > 0]
# RSS moves with the number of live instances, so single samples are noisy: compare the
# median of the first minute after warm-up with the median of the last minute.
med = lambda xs: sorted(xs)[len(xs) // 2] if xs else 0
end_t = after[-1][0] if after else 0
rss0 = med([s[1] for s in after if s[0] < warmup + 60])
rss_end = med([s[1] for s in after if s[0] > end_t - 60])
rss_max = max((s[1] for s in after), default=0)
growth = (rss_end - rss0) / rss0 * 100 if rss0 else float("nan")
minutes = {}
for s in samples:
    minutes.setdefault(s[0] // 60, []).append(s[1])
conns = [s[2] for s in samples if s[2] >= 0]
print()
print("== soak figures ==")
print(f"requests         {int(f('requests'))} in {f('duration_s'):.0f} s = {f('rps'):.1f} req/s "
      f"(reads {res['reads']}, writes {res['writes']}, logins {res['logins']})")
print(f"answers          2xx {res['c2xx']}, 4xx {res['c4xx']}, 5xx {res['c5xx']}, other {res['cother']}")
print(f"socket errors    connect {res['err_connect']}, read {res['err_read']}, write {res['err_write']}, timeout {res['err_timeout']}")
print(f"latency (ms)     p50 {f('p50_ms'):.1f}, p90 {f('p90_ms'):.1f}, p99 {f('p99_ms'):.1f}, max {f('max_ms'):.1f}")
print(f"devhost RSS      median {rss0/1024:.1f} MiB in the minute after warm-up -> {rss_end/1024:.1f} MiB "
      f"in the last minute ({growth:+.1f} %), max {rss_max/1024:.1f} MiB; samples {len(samples)}")
print("RSS by minute    " + ", ".join(f"{m}: {med(v)/1024:.1f}" for m, v in sorted(minutes.items())) + " MiB (median)")
print(f"PostgreSQL conns max {max(conns, default=-1)} (pool {pool}); samples: {' '.join(str(c) for c in conns)}")
print(open(sys.argv[6]).read().strip())
fail = []
if int(res["c5xx"]) != 0: fail.append("5xx answers")
if sum(int(res[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout")) != 0:
    fail.append("connection errors")
if int(res["c4xx"]) != 0: fail.append("unexpected 4xx answers")
if not after or not growth < 10: fail.append("memory growth >= 10 % after warm-up")
if not conns or max(conns) > pool: fail.append("PostgreSQL connections above the pool")
if not alive: fail.append("devhost died")
if fail:
    print("SOAK FAILED: " + "; ".join(fail))
    sys.exit(1)
print("SOAK PASSED")
PY
