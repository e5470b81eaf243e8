#!/usr/bin/env bash
# Fuzz the API with schemathesis over its own OpenAPI document (/openapi.json): every
# operation, authenticated (a user is registered and logged in first), at least
# FUZZ_MIN_CASES generated cases. Fails on any 5xx or any answer that violates the spec
# (status code, content type, headers, response schema).
#
# The app runs on devhost with embedded SQLite in a temp dir; nothing shared is touched.
# schemathesis is installed into the git-ignored venv .tools/venv on first use.
#
# Environment: FUZZ_MAX_EXAMPLES (per operation, default 150), FUZZ_MIN_CASES (1000),
# FUZZ_WORKERS (1: with 2, hypothesis parsing lambdas on two threads under Python 3.11
# once crashed the run with "AST constructor recursion depth mismatch", a tool error), FUZZ_SEED, FUZZ_CHECKS (default: the spec-conformance checks plus
# not_a_server_error; `all` adds the heuristic ones), FUZZ_REPORT_DIR (default: a temp
# dir, printed), FUZZ_SKIP_BUILD=1 (do not run `make build`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/local.sh
source "$ROOT/scripts/lib/local.sh"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
DEVHOST="${DEVHOST_BIN:-$TARGET/release/devhost}"
MIGRATOR="${MIGRATOR_BIN:-$TARGET/release/migrator}"
VENV="$ROOT/.tools/venv"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-150}"
MIN_CASES="${FUZZ_MIN_CASES:-1000}"
WORKERS="${FUZZ_WORKERS:-1}"
CHECKS="${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}"

die() { echo "fuzz: $*" >&2; exit 2; }

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then make -C "$ROOT" -s build; fi
for f in "$DEVHOST" "$MIGRATOR"; do [ -x "$f" ] || die "$f missing: run make build"; done

if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q schemathesis
fi
ST="$VENV/bin/st"
echo "fuzz: $("$ST" --version)"

WORK="$(mktemp -d /tmp/fuzz.XXXXXX)"
REPORT_DIR="${FUZZ_REPORT_DIR:-$WORK/report}"
DEVHOST_PID=""
cleanup() {
  set +e
  if [ -n "$DEVHOST_PID" ]; then
    kill "$DEVHOST_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$DEVHOST_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$DEVHOST_PID" 2>/dev/null
  fi
  if [ -z "${FUZZ_REPORT_DIR:-}" ] && [ "${FUZZ_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else echo "fuzz: kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(free_port)"
: >"$WORK/app.db"
"$MIGRATOR" up --database-url "sqlite://$WORK/app.db" >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; die "migrate failed"; }
cat >"$WORK/runtime-config.toml" <<EOF
[sqlite_database.default]
type = "spin"
path = "$WORK/app.db"

[key_value_store.default]
type = "spin"
path = "$WORK/kv.db"

[key_value_store.metrics]
type = "spin"
EOF
(
  cd "$WORK"
  for v in $(env | grep -o '^SPIN_VARIABLE_[A-Z_]*' || true); do unset "$v"; done
  SPIN_VARIABLE_DATABASE_URL="sqlite://default" \
  SPIN_VARIABLE_JWT_SECRET_KEY="fuzz-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    exec "$DEVHOST" up --from "$ROOT/spin.toml" --listen "127.0.0.1:$PORT" \
      --runtime-config-file "$WORK/runtime-config.toml" --state-dir "$WORK/.spin" --access-log \
      >"$WORK/devhost.log" 2>&1
) &
DEVHOST_PID=$!
BASE="http://127.0.0.1:$PORT"
wait_http "$BASE/health_check" 60 "$DEVHOST_PID" || { cat "$WORK/devhost.log"; die "devhost not ready"; }

curl -fsS -o /dev/null -X POST "$BASE/api/v1/users/" \
  -d '{"username":"fuzzer","email":"fuzzer@example.com","password":"fuzz-pass-1"}' || die "register failed"
TOKEN="$(curl -fsS -X POST "$BASE/api/v1/auth/token" -d '{"email":"fuzzer@example.com","password":"fuzz-pass-1"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
# Something for the path ids to find.
curl -fsS -o /dev/null -X POST "$BASE/api/v1/brands/" -H "Authorization: Bearer $TOKEN" -d '{"name":"Fuzz"}'

ARGS=(run "$BASE/openapi.json" --url "$BASE"
  -H "Authorization: Bearer $TOKEN"
  --checks "$CHECKS"
  --max-examples "$MAX_EXAMPLES"
  --workers "$WORKERS"
  --request-timeout 10
  --suppress-health-check all
  --report "junit,ndjson" --report-dir "$REPORT_DIR")
[ -n "${FUZZ_SEED:-}" ] && ARGS+=(--seed "$FUZZ_SEED")

echo "fuzz: st ${ARGS[*]/$TOKEN/<token>}"
set +e
(cd "$WORK" && timeout 1500 "$ST" "${ARGS[@]}") 2>&1 | tee "$WORK/st.out"
st_rc=${PIPESTATUS[0]}
set -e

# How many cases were generated: from the summary line ("Test cases: N generated, …").
cases="$(grep -Eo '[0-9]+ generated' "$WORK/st.out" | tail -1 | grep -Eo '^[0-9]+' || echo 0)"
fivexx="$(grep -cE '^[A-Z]+ /[^ ]* 5[0-9]{2} ' "$WORK/devhost.log" || true)"
# The 5xx count reads devhost's access lines (`--access-log`): none at all would make it
# vacuous, so their absence is a failure too.
logged="$(grep -cE '^[A-Z]+ /[^ ]* [0-9]{3} ' "$WORK/devhost.log" || true)"
echo
echo "== fuzz figures =="
echo "schemathesis exit code $st_rc; generated cases: $cases (minimum $MIN_CASES); requests in devhost's access log: $logged, 5xx among them: $fivexx"
echo "reports: $REPORT_DIR"
[ "$cases" -ge "$MIN_CASES" ] || { echo "FUZZ FAILED: fewer than $MIN_CASES cases"; exit 1; }
[ "$logged" -ge "$MIN_CASES" ] || { echo "FUZZ FAILED: devhost logged $logged requests (is --access-log on?)"; exit 1; }
[ "$fivexx" = 0 ] || { echo "FUZZ FAILED: the app answered 5xx:"; grep -E '^[A-Z]+ /[^ ]* 5[0-9]{2} ' "$WORK/devhost.log" | head -20; exit 1; }
[ "$st_rc" = 0 ] || { echo "FUZZ FAILED: schemathesis found failures (above)"; exit 1; }
echo "FUZZ PASSED"
