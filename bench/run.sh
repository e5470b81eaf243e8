#!/usr/bin/env bash
# make bench — the benchmark of docs/performance.md, in one run:
#   ceilings  HTTP (nginx static 200), host S0 (bench/static-component through the same
#             host as the app), DB (pgbench running each endpoint's own SQL, prepared)
#   app       S1 health, S2 car by id, S3 car list, S4 login (Argon2), S5 car create
#   probes    the price of single host calls (variable read, key-value increment,
#             PostgreSQL open + SELECT 1), statements per request (from /metrics),
#             Argon2 native vs in the component, wasm sizes
# then bench/report.py prints the table, writes bench/results/<date>.md and the PNG.
#
# Knobs (env): BENCH_DURATION (15 s), BENCH_WARMUP (5 s), BENCH_CONNECTIONS (32),
# BENCH_KV=file|redis (key-value store of the app and S0; default file, as
# runtime-config.toml), BENCH_DB=postgres|sqlite (the app's database; sqlite = Spin's
# embedded SQLite file, the `make up` default: each host gets its own file, seeded
# through the API, and the pgbench ceilings are skipped), BENCH_HOSTS ("devhost", plus "spin" when spin is on PATH),
# BENCH_ONLY=ceilings (nginx + nothing of the app: a dry run that needs no devhost),
# BENCH_PG (postgres://postgres@127.0.0.1:5432), BENCH_NOTE (free text in the results),
# BENCH_DEVHOST (the devhost binary; default target/release/devhost).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/lib/local.sh
source "$ROOT/scripts/lib/local.sh"
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac

DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-5}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=2
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=car_api_bench
# Plain TCP on loopback, for the app and pgbench alike (the server offers TLS, and
# without sslmode=disable the app would verify a certificate made for "localhost").
DB_URL="$PG/$DB?sslmode=disable"
KV=${BENCH_KV:-file}
APP_DB=${BENCH_DB:-postgres}
case $APP_DB in postgres | sqlite) ;; *) echo "BENCH_DB must be postgres or sqlite" >&2; exit 2 ;; esac
ONLY=${BENCH_ONLY:-all}
DEVHOST=${BENCH_DEVHOST:-$TARGET_DIR/release/devhost}

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------
apt_ready=
need_apt() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (Debian)"
  [ -n "$apt_ready" ] || { apt-get update -qq; apt_ready=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need_apt wrk wrk
need_apt nginx nginx-light
need_apt pgbench postgresql-client
need_apt psql postgresql-client
need_apt curl curl
VENV=$ROOT/bench/.venv
if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
  log "installing matplotlib into bench/.venv (PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q matplotlib
fi
PY=$VENV/bin/python

rm -rf "$ROOT"/bench/tmp/run-*   # the previous run's scratch (logs, state)
TMP=$ROOT/bench/tmp/run-$$
mkdir -p "$TMP"
OUT=$TMP/results.jsonl
: >"$OUT"
trap stop_started EXIT INT TERM   # PIDS and stop_started: scripts/lib/local.sh

record() { printf '%s\n' "$1" >>"$OUT"; }   # one JSON object per line

# wrk with a warm-up, then the measured run; records {"kind":"http",...}.
# run_wrk <host> <scenario> <connections> <url> <lua> [ENV=value ...]
export BENCH_LUA_DIR=$ROOT/bench/lua
run_wrk() {
  local host=$1 name=$2 conns=$3 url=$4 lua=$5
  shift 5
  local threads=$THREADS
  [ "$conns" -ge "$threads" ] || threads=$conns
  log "$host $name: $conns connections, ${WARMUP}s warm-up + ${DURATION}s"
  # Hosts share the bench database: S5's plates carry the host's initial so the second
  # host never meets the first host's plates (they did: 2,319 x 400 on devhost).
  local initial
  initial=$(printf '%s' "${host:0:1}" | tr '[:lower:]' '[:upper:]')
  set -- "$@" BENCH_HOST_TAG="$initial"
  env "$@" BENCH_TAG=W wrk -t"$threads" -c"$conns" -d"${WARMUP}s" --timeout 10s -s "$ROOT/bench/lua/$lua" "$url" >/dev/null
  local line
  line=$(env "$@" BENCH_TAG=M wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/lua/$lua" "$url" \
    | tee -a "$TMP/wrk.log" | sed -n 's/^BENCH //p')
  [ -n "$line" ] || { echo "wrk printed no result for $name" >&2; return 1; }
  record "{\"kind\":\"http\",\"host\":\"$host\",\"scenario\":\"$name\",\"connections\":$conns,${line#\{}"
}

# --- HTTP ceiling: nginx static 200 ------------------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type text/plain; return 200 'ok'; }
  }
}
EOF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_http "http://127.0.0.1:$NGINX_PORT/" 10
record "{\"kind\":\"env\",\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"commit\":\"$(git rev-parse --short HEAD)\",\"cpus\":$(nproc),\"load_before\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"duration_s\":$DURATION,\"warmup_s\":$WARMUP,\"connections\":$CONNS,\"kv\":\"$KV\",\"db\":\"$APP_DB\",\"wrk\":\"$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)\",\"nginx\":\"$(nginx -v 2>&1 | sed 's/.*: //')\",\"postgres\":\"$(psql "$PG/postgres" -Atc 'show server_version' | cut -d' ' -f1)\",\"note\":\"${BENCH_NOTE:-}\"}"
run_wrk nginx HTTP "$CONNS" "http://127.0.0.1:$NGINX_PORT/" get.lua

if [ "$ONLY" = ceilings ]; then
  log "BENCH_ONLY=ceilings: stopping after the HTTP ceiling"
  "$PY" bench/report.py "$OUT" --dry-run
  exit 0
fi

# --- database: fresh, migrated ---------------------------------------------------------
log "database $DB: drop, create, migrate"
psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
"$TARGET_DIR/release/migrator" up --database-url "$DB_URL" >"$TMP/migrator.log" 2>&1

# --- the bench component and Argon2 natively -----------------------------------------
log "building bench/static-component (wasm32-wasip2, profile wasm)"
cargo build -q --target wasm32-wasip2 --profile wasm -p bench-static
log "building bench/argon2-native (release)"
(cd bench/argon2-native && CARGO_TARGET_DIR=$ROOT/bench/tmp/argon2-target cargo build -q --release)
native=$("$ROOT/bench/tmp/argon2-target/release/argon2-native")
record "{\"kind\":\"argon2_native\",${native#\{}"
for w in health auth cars bench_static; do
  record "{\"kind\":\"wasm\",\"component\":\"$w\",\"bytes\":$(stat -c %s "$TARGET_DIR/wasm32-wasip2/wasm/$w.wasm")}"
done

# --- runtime config and variables ----------------------------------------------------
runtime_config() { # dir → path of a runtime config with its state in dir
  mkdir -p "$1"
  if [ "$KV" = redis ]; then
    # Database 15 keeps the bench's counters away from everybody else's.
    printf '[key_value_store.default]\ntype = "redis"\nurl = "redis://127.0.0.1:6379/15"\n' >"$1/runtime-config.toml"
    redis-cli -n 15 FLUSHDB >/dev/null
  else
    printf '[key_value_store.default]\ntype = "spin"\npath = "%s/kv.db"\n' "$1" >"$1/runtime-config.toml"
  fi
  printf '[key_value_store.metrics]\ntype = "spin"\n' >>"$1/runtime-config.toml"
  printf '[sqlite_database.default]\ntype = "spin"\npath = "%s/sqlite.db"\n' "$1" >>"$1/runtime-config.toml"
  echo "$1/runtime-config.toml"
}
export SPIN_VARIABLE_DATABASE_URL=$DB_URL
SPIN_VARIABLE_JWT_SECRET_KEY=$(head -c 48 /dev/urandom | base64 | tr -d '\n=+/')
export SPIN_VARIABLE_JWT_SECRET_KEY
export SPIN_VARIABLE_JWT_EXPIRATION_MINUTES=240
export SPIN_VARIABLE_LOG_LEVEL=info

# sed the static manifest's relative source onto this build's target directory
sed "s#\"../target/#\"$TARGET_DIR/#" bench/static.toml >"$TMP/static.toml"

HOST_PID=
# Hosts run as production runs them: without RUST_BACKTRACE, which many shells set and
# which makes Spin 4.0.2 capture a backtrace for an error it builds and drops on every
# request (75,000 instructions, 13 % of S0, counted with callgrind).
start_host() { # host manifest port statedir logname
  local host=$1 manifest=$2 port=$3 dir=$4 name=$5 rc
  rc=$(runtime_config "$dir")
  if [ "$host" = spin ]; then
    env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE spin up --from "$manifest" --listen "127.0.0.1:$port" --runtime-config-file "$rc" \
      --state-dir "$dir/state" >"$TMP/$name.log" 2>&1 &
  else
    env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$DEVHOST" up --from "$manifest" --listen "127.0.0.1:$port" \
      --runtime-config-file "$rc" --state-dir "$dir/state" >"$TMP/$name.log" 2>&1 &
  fi
  HOST_PID=$!
  PIDS+=("$HOST_PID")
}
stop_host() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

metric() { # base-url name → value of an unlabelled or summed metric
  curl -fsS "$1/metrics" | awk -v m="$2" '$1 ~ "^"m"([{]|$)" { s += $NF } END { printf "%d", s }'
}

# pgbench: each endpoint's statements as one pgbench transaction, prepared, 32 clients.
run_pgbench() { # name script [-D k=v ...]
  local name=$1 script=$2
  shift 2
  log "pgbench $name: $CONNS clients, ${DURATION}s (prepared)"
  pgbench -n -M prepared -c "$CONNS" -j "$THREADS" -T "$WARMUP" -f "bench/sql/$script" -D base=1000000000 "$@" "$DB_URL" >/dev/null 2>&1 || true
  local outp tps lat failed
  outp=$(pgbench -n -M prepared -c "$CONNS" -j "$THREADS" -T "$DURATION" -f "bench/sql/$script" -D base=2000000000 "$@" "$DB_URL" 2>&1) || {
    echo "$outp" >&2
    return 1
  }
  echo "$outp" >>"$TMP/pgbench.log"
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$outp")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$outp")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$outp")
  record "{\"kind\":\"db\",\"scenario\":\"$name\",\"tps\":${tps:-0},\"latency_ms\":${lat:-0},\"failed\":${failed:-0}}"
}

HOSTS=${BENCH_HOSTS:-devhost$(command -v spin >/dev/null 2>&1 && echo ' spin' || true)}
for host in $HOSTS; do
  # --- S0 and the host-call probes through this host ----------------------------------
  port=$(free_port)
  start_host "$host" "$TMP/static.toml" "$port" "$TMP/$host-static" "$host-static"
  static_pid=$HOST_PID
  S="http://127.0.0.1:$port"
  wait_http "$S/" 60
  curl -fsS "$S/pg?n=1" >/dev/null
  curl -fsS "$S/kv?n=1" >/dev/null
  run_wrk "$host" S0 "$CONNS" "$S/" get.lua
  run_wrk "$host" "probe vars n=10" "$CONNS" "$S/vars?n=10" get.lua
  run_wrk "$host" "probe kv n=4" "$CONNS" "$S/kv?n=4" get.lua
  run_wrk "$host" "probe pg n=1" "$CONNS" "$S/pg?n=1" get.lua
  run_wrk "$host" "probe pg n=3" "$CONNS" "$S/pg?n=3" get.lua
  stop_host "$static_pid"

  # --- the app ------------------------------------------------------------------------
  port=$(free_port)
  app_db_url=$DB_URL
  if [ "$APP_DB" = sqlite ]; then
    # The runtime config's sqlite_database.default is <state>/sqlite.db: migrate it first.
    mkdir -p "$TMP/$host-app"
    "$TARGET_DIR/release/migrator" up --database-url "sqlite://$TMP/$host-app/sqlite.db" >>"$TMP/migrator.log" 2>&1
    app_db_url=sqlite://default
  fi
  SPIN_VARIABLE_DATABASE_URL=$app_db_url start_host "$host" "$ROOT/spin.toml" "$port" "$TMP/$host-app" "$host-app"
  app_pid=$HOST_PID
  A="http://127.0.0.1:$port"
  wait_http "$A/health_check" 120
  if [ "$host" = "${HOSTS%% *}" ] || [ "$APP_DB" = sqlite ]; then
    log "seeding through the API: 1 user, 1 brand, 1,000 cars"
    seed=$(python3 bench/seed.py "127.0.0.1:$port" 1000)
  else
    # the data is there already: a token for this host's run
    seed=$(python3 - "127.0.0.1:$port" "$seed" <<'EOF'
import http.client, json, sys
s = json.loads(sys.argv[2]); c = http.client.HTTPConnection(sys.argv[1])
c.request("POST", "/api/v1/auth/token", json.dumps({"email": s["email"], "password": s["password"]}))
s["token"] = json.loads(c.getresponse().read())["access_token"]; print(json.dumps(s))
EOF
)
  fi
  j() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$seed" "$1"; }
  TOKEN=$(j token); CAR_MIN=$(j car_min); CAR_MAX=$(j car_max); BRAND=$(j brand_id)
  USER_ID=$(j user_id); EMAIL=$(j email); PASSWORD=$(j password)

  scenario() { # name conns path lua env...
    local name=$1 conns=$2 path=$3 lua=$4 q0 r0
    shift 4
    q0=$(metric "$A" database_queries_total); r0=$(metric "$A" http_requests_total)
    run_wrk "$host" "$name" "$conns" "$A$path" "$lua" "$@"
    sleep 1 # requests still in flight when wrk stopped finish their metrics
    record "{\"kind\":\"per_request\",\"host\":\"$host\",\"scenario\":\"$name\",\"queries\":$(($(metric "$A" database_queries_total) - q0)),\"requests\":$(($(metric "$A" http_requests_total) - r0 - 2))}"
  }
  scenario S1 "$CONNS" /health_check get.lua
  scenario S2 "$CONNS" /api/v1/cars/1 car_get.lua BENCH_TOKEN="$TOKEN" BENCH_CAR_MIN="$CAR_MIN" BENCH_CAR_MAX="$CAR_MAX"
  scenario S3 "$CONNS" "/api/v1/cars/?limit=20&fuel_type=flex" get.lua BENCH_TOKEN="$TOKEN"
  scenario S4 4 /api/v1/auth/token login.lua BENCH_EMAIL="$EMAIL" BENCH_PASSWORD="$PASSWORD"
  scenario S5 "$CONNS" /api/v1/cars/ car_create.lua BENCH_TOKEN="$TOKEN" BENCH_BRAND_ID="$BRAND"
  # One connection: latency without queueing (S4 there is ~ one Argon2id verification).
  # (bash keeps assignments in front of a function call local to that call)
  DURATION=5 WARMUP=1 run_wrk "$host" "S1 c=1" 1 "$A/health_check" get.lua
  DURATION=5 WARMUP=1 run_wrk "$host" "S4 c=1" 1 "$A/api/v1/auth/token" login.lua BENCH_EMAIL="$EMAIL" BENCH_PASSWORD="$PASSWORD"
  record "{\"kind\":\"log\",\"host\":\"$host\",\"app_log_lines\":$(wc -l <"$TMP/$host-app.log"),\"app_log_bytes\":$(stat -c %s "$TMP/$host-app.log")}"
  stop_host "$app_pid"
done

# --- DB ceilings: the same statements, prepared, same data ----------------------------
TS=$(date -u +%Y-%m-%dT%H:%M:%S)
if [ "$APP_DB" = postgres ]; then
run_pgbench S2 S2.sql -D uid="$USER_ID" -D car_min="$CAR_MIN" -D car_max="$CAR_MAX"
run_pgbench S3 S3.sql -D uid="$USER_ID" -D fuel=flex -D lim=20 -D off=0
run_pgbench S4 S4.sql -D email="$EMAIL"
run_pgbench S5 S5.sql -D uid="$USER_ID" -D brand="$BRAND" -D car_id=0 -D ts="$TS"
fi

record "{\"kind\":\"env_end\",\"load_after\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
cp "$OUT" "$ROOT/bench/results/$(date -u +%Y-%m-%d).jsonl"
"$PY" bench/report.py "$OUT"
psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
