#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind inside the host process:
# the measurement that a shared, noisy machine cannot disturb (wall-clock figures on
# these 2-core machines moved 5x between days; instruction counts repeat within 0.3 %).
#
#   bash bench/instructions.sh [spin|devhost] [requests]     (make build first)
#
# Scenarios, each on a fresh host process under callgrind, counters zeroed after a
# warm-up of 100 requests, then `requests` requests on one keep-alive connection:
#   S0  the static component (bench/static-component), GET /
#   S1  GET /health_check
#   S2  GET /api/v1/cars/{id}, cars of the caller in turn, on PostgreSQL
# and splits each count into the guest's compiled code (code with no file: the JIT),
# the host binary, and the C library. The data is seeded through the API by devhost
# running natively (seeding under callgrind would take minutes for no information).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/lib/local.sh
source "$ROOT/scripts/lib/local.sh"
HOST=${1:-spin}
N=${2:-1000}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
DEVHOST=$TARGET_DIR/release/devhost
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=car_api_instructions
DB_URL="$PG/$DB?sslmode=disable"

command -v valgrind >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
}
case $HOST in
  spin) command -v spin >/dev/null || { echo "spin is not on PATH" >&2; exit 2; } ;;
  devhost) ;;
  *) echo "host must be spin or devhost" >&2; exit 2 ;;
esac
for f in "$DEVHOST" "$TARGET_DIR/release/migrator" "$TARGET_DIR/wasm32-wasip2/wasm/health.wasm"; do
  [ -e "$f" ] || { echo "missing $f: run make build" >&2; exit 2; }
done
cargo build -q --target wasm32-wasip2 --profile wasm -p bench-static

TMP=$ROOT/bench/tmp/instructions-$$
mkdir -p "$TMP"
trap stop_started EXIT INT TERM   # PIDS and stop_started: scripts/lib/local.sh

# Hosts run as production runs them (see run.sh).
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
export SPIN_VARIABLE_DATABASE_URL=$DB_URL SPIN_VARIABLE_LOG_LEVEL=info SPIN_VARIABLE_JWT_EXPIRATION_MINUTES=240
SPIN_VARIABLE_JWT_SECRET_KEY=$(head -c 48 /dev/urandom | base64 | tr -d '\n=+/')
export SPIN_VARIABLE_JWT_SECRET_KEY
printf '[key_value_store.default]\ntype = "spin"\npath = "%s/kv.db"\n[key_value_store.metrics]\ntype = "spin"\n' "$TMP" >"$TMP/runtime-config.toml"
sed "s#\"../target/#\"$TARGET_DIR/#" bench/static.toml >"$TMP/static.toml"

psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >/dev/null
"$TARGET_DIR/release/migrator" up --database-url "$DB_URL" >"$TMP/migrator.log" 2>&1
port=$(free_port)
"$DEVHOST" up --from spin.toml --listen "127.0.0.1:$port" --runtime-config-file "$TMP/runtime-config.toml" \
  --state-dir "$TMP/seed-state" >"$TMP/seed.log" 2>&1 &
seed_pid=$!
PIDS+=("$seed_pid")
wait_http "http://127.0.0.1:$port/health_check" 120 "$seed_pid"
SEED=$(python3 bench/seed.py "127.0.0.1:$port" 200)
kill "$seed_pid"; wait "$seed_pid" 2>/dev/null || true

# count <name> <manifest> <path> → prints "instructions guest host libc"
count() {
  local name=$1 manifest=$2 path=$3 port pid vpid out
  port=$(free_port)
  out=$TMP/$name.callgrind
  # --trace-children: `spin up` serves from a child process (`spin trigger http`).
  valgrind --tool=callgrind --trace-children=yes --smc-check=all-non-file \
    --callgrind-out-file="$out.%p" \
    "$(if [ "$HOST" = spin ]; then command -v spin; else echo "$DEVHOST"; fi)" up --from "$manifest" \
    --listen "127.0.0.1:$port" --runtime-config-file "$TMP/runtime-config.toml" \
    --state-dir "$TMP/$name-state" >"$TMP/$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/health_check" 900 "$pid" 2>/dev/null ||
    wait_http "http://127.0.0.1:$port/" 60 "$pid"
  # The process that listens is the one to count (spin's child, or devhost itself).
  vpid=$(pgrep -f -n "^valgrind.bin.*--listen 127.0.0.1:$port") || vpid=$(pgrep -f -n "callgrind.*--listen 127.0.0.1:$port")
  python3 bench/instructions_client.py "127.0.0.1:$port" "$path" 100 "$SEED" >/dev/null
  callgrind_control -z "$vpid" >/dev/null
  python3 bench/instructions_client.py "127.0.0.1:$port" "$path" "$N" "$SEED" >"$TMP/$name.client"
  callgrind_control -d "$vpid" >/dev/null
  sleep 1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  python3 - "$out.$vpid".1 "$N" <<'EOF'
import re, sys
from collections import Counter
path, n = sys.argv[1], int(sys.argv[2])
objects, fn_object, cost = {}, {}, Counter()
current_ob, current_fn, in_call = None, None, False
for line in open(path):
    m = re.match(r"^(c?)ob=\((\d+)\)(?: (.*))?", line)
    if m:
        # an object's name comes with its first mention, which may be a callee's (cob=)
        if m.group(3):
            objects[m.group(2)] = m.group(3)
        if not m.group(1):
            current_ob = m.group(2)
        continue
    if line.startswith(("fn=", "cfn=", "cfi=", "cfl=", "fl=", "fi=", "fe=")):
        continue
    if line.startswith("calls="):
        in_call = True  # the next cost line is inclusive: skip it
        continue
    parts = line.split()
    if len(parts) >= 2 and (parts[0][0].isdigit() or parts[0][0] in "+-*"):
        if in_call:
            in_call = False
            continue
        cost[objects.get(current_ob, "???")] += int(parts[1])
total = sum(cost.values())
guest = sum(v for k, v in cost.items() if k == "???")
libc = sum(v for k, v in cost.items() if "/libc" in k or "libgcc" in k or "/ld-linux" in k or "libm" in k)
print(total // n, guest // n, (total - guest - libc) // n, libc // n)
EOF
}

S0=$(count S0 "$TMP/static.toml" /)
S1=$(count S1 spin.toml /health_check)
S2=$(count S2 spin.toml /api/v1/cars/)
for s in S1 S2; do
  grep -q "non2xx 0" "$TMP/$s.client" || { echo "$s: non-2xx answers: $(cat "$TMP/$s.client")" >&2; exit 1; }
done
psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true

report=$ROOT/bench/results/$(date -u +%Y-%m-%d)-instructions-$HOST.md
{
  echo "# Instructions per request on $HOST — $(date -u +%Y-%m-%dT%H:%M:%SZ), commit \`$(git rev-parse --short HEAD)\`"
  echo
  echo "callgrind, $N requests per scenario on one keep-alive connection after 100 warm-up requests;"
  echo "PostgreSQL database, throttling in a key-value file, metrics in memory; \`log_level=info\`."
  echo
  python3 - "$S0" "$S1" "$S2" <<'EOF'
import sys
rows = [list(map(int, a.split())) for a in sys.argv[1:]]
s0 = rows[0][0]
print("| scenario | instructions | % of S0 | guest code (JIT) | host binary | C library |")
print("|---|---:|---:|---:|---:|---:|")
for name, (total, guest, host, libc) in zip(("S0", "S1", "S2"), rows):
    print(f"| {name} | {total:,} | {100 * s0 / total:.1f} % | {guest:,} | {host:,} | {libc:,} |")
EOF
  echo
  echo "\"% of S0\" is S0's count over the scenario's: the share of S0's throughput the scenario"
  echo "would reach if time followed instructions (the targets' ratio)."
} | tee "$report"
echo "wrote $report" >&2
