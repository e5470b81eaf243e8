# Helpers for the script tests (sourced). Exit status 77 = skipped.
# shellcheck shell=bash

# shellcheck disable=SC2034 # used by the tests that source this file
TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # used by the tests that source this file
REPO_ROOT="$(cd "$TESTS_DIR/../.." && pwd)"
FAILURES=0

# indent PREFIX: stdin with PREFIX before every line.
indent() { local l; while IFS= read -r l; do printf '%s%s\n' "$1" "$l"; done; }

pass() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; FAILURES=$((FAILURES + 1)); }

# skip REASON: loud; a failure when CI=true.
skip() {
  if [[ "${CI:-}" == "true" ]]; then
    printf 'FAIL  (CI=true, cannot skip) %s\n' "$*"
    exit 1
  fi
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  printf '!!! SKIP %s\n' "$*"
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  exit 77
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
  if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# assert_contains WHAT HAYSTACK NEEDLE
assert_contains() {
  if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: output lacks '$3'"; fi
}

assert_not_contains() {
  if grep -qF -- "$3" <<<"$2"; then fail "$1: output contains '$3'"; else pass "$1"; fi
}

# assert_before WHAT HAYSTACK FIRST SECOND: FIRST appears on an earlier line than SECOND.
assert_before() {
  local a b
  a="$(grep -nF -- "$3" <<<"$2" | head -1 | cut -d: -f1)"
  b="$(grep -nF -- "$4" <<<"$2" | head -1 | cut -d: -f1)"
  if [[ -n "$a" && -n "$b" && "$a" -lt "$b" ]]; then pass "$1"; else fail "$1: '$3' (line ${a:-none}) not before '$4' (line ${b:-none})"; fi
}

finish() {
  if [[ $FAILURES -gt 0 ]]; then
    echo "$FAILURES assertion(s) failed"
    exit 1
  fi
  echo "all assertions passed"
}

# ---- PostgreSQL
ADMIN_URL="${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"

# db_url NAME: ADMIN_URL with its database replaced by NAME.
db_url() {
  local base="${ADMIN_URL%%\?*}" query=""
  [[ "$ADMIN_URL" == *\?* ]] && query="?${ADMIN_URL#*\?}"
  echo "${base%/*}/$1$query"
}

require_postgres() {
  command -v psql >/dev/null 2>&1 || skip "psql is not installed (apt-get install postgresql-client)"
  command -v pg_dump >/dev/null 2>&1 || skip "pg_dump is not installed"
  psql "$ADMIN_URL" -XAtqc 'select 1' >/dev/null 2>&1 || skip "no PostgreSQL at $(sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$ADMIN_URL") (set TEST_DATABASE_URL)"
}

SCRATCH_DBS=()
create_db() {
  psql "$ADMIN_URL" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$1\"" >/dev/null
  SCRATCH_DBS+=("$1")
}

drop_scratch_dbs() {
  local db
  for db in "${SCRATCH_DBS[@]}"; do
    psql "$ADMIN_URL" -XAtq -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
}

# q DB SQL: one value.
q() { psql "$(db_url "$1")" -XAtq -v ON_ERROR_STOP=1 -c "$2"; }

# table_fingerprint DB: "table rows md5" for every table in public, sorted.
table_fingerprint() {
  local db="$1" t
  for t in $(q "$db" "select tablename from pg_tables where schemaname = 'public' order by 1"); do
    printf '%s %s %s\n' "$t" "$(q "$db" "select count(*) from \"$t\"")" \
      "$(q "$db" "select coalesce(md5(string_agg(x::text, '|' order by x::text)), '-') from \"$t\" x")"
  done
}

# ---- stand-ins for tools (first on PATH)

# fake_kubectl DIR: writes DIR/bin/kubectl, which records every call into DIR:
#   calls          each call's arguments on one line (what `ps` would show)
#   from-file      for each --from-file=KEY=PATH: KEY, the file's mode, its
#                  folder's mode, PATH (tab-separated); the content in content/KEY
#   applied        what `apply -f -` read
# It answers `get secret car-api-secrets -o jsonpath={.data.KEY}` with the
# environment variable FAKE_SECRET_<KEY> (base64), fails it when FAKE_NO_SECRET=1,
# prints a stub for `create ... -o yaml`, and stops a deployment at its first
# `apply -k` (exit 42).
fake_kubectl() {
  local dir="$1"
  mkdir -p "$dir/bin" "$dir/content"
  cat >"$dir/bin/kubectl" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
dir="$(cd "$(dirname "$0")/.." && pwd)"
printf '%s\n' "$*" >>"$dir/calls"
for a in "$@"; do
  if [[ "$a" == --from-file=*=* ]]; then
    spec="${a#--from-file=}"; key="${spec%%=*}"; path="${spec#*=}"
    printf '%s\t%s\t%s\t%s\n' "$key" "$(stat -c %a "$path")" "$(stat -c %a "$(dirname "$path")")" "$path" >>"$dir/from-file"
    cat "$path" >"$dir/content/$key"
  fi
done
args=" $* "
case "$args" in
  *" get secret car-api-secrets "*jsonpath=*)
    [[ "${FAKE_NO_SECRET:-0}" != 1 ]] || { echo 'Error from server (NotFound): secrets "car-api-secrets" not found' >&2; exit 1; }
    key="${args##*jsonpath=\{.data.}"; key="${key%%\}*}"
    var="FAKE_SECRET_$key"
    printf '%s' "${!var:-}" ;;
  *" create "*" -o yaml "*) printf 'apiVersion: v1\nkind: Secret\n' ;;
  *" apply -f - "*) cat >>"$dir/applied" ;;
  *" apply -k "*) echo "fake kubectl: the test stops the deployment here" >&2; exit 42 ;;
esac
exit 0
SH
  chmod +x "$dir/bin/kubectl"
}

# random_secret BYTES: that many random bytes, base64 (no newline).
random_secret() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }
