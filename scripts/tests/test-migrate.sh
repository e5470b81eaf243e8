#!/usr/bin/env bash
# migrate.sh against a real PostgreSQL.
#  A. the script's logic with a stand-in migrator: backup first, then up, then
#     status; a failing `up` stops before status and names the backup.
#  B. the real migrator (target/release/migrator; built with
#     `cargo build --release -p migrator` when absent; skipped loudly when it
#     cannot be had, a failure when CI=true): a database with data migrates,
#     `status` is clean, a second run is a no-op; a migration that fails
#     (a conflicting table) leaves the existing data as it was.
# Scratch databases are dropped afterwards. Run: scripts/tests/test-migrate.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_postgres
suffix="$$_$RANDOM"
WORK="$(mktemp -d)"
cleanup() { drop_scratch_dbs; rm -rf "$WORK"; }
trap cleanup EXIT
export BACKUP_DIR="$WORK/backups"

# ------------------------------------------------------------------ A. logic
echo "== A. migrate.sh with a stand-in migrator"
DB_A="car_api_migrate_a_$suffix"
create_db "$DB_A"
q "$DB_A" "create table legacy (id int primary key, note text); insert into legacy select i, 'n' || i from generate_series(1, 5) i" >/dev/null
cat >"$WORK/fake-migrator" <<'FAKE'
#!/usr/bin/env bash
# Records each call with how many backups exist at that moment.
echo "$1 backups=$(find "$BACKUP_DIR" -name 'car-api_*.sql.gz' 2>/dev/null | wc -l)" >>"$FAKE_LOG"
[[ "$1" == up && "${FAKE_FAIL:-0}" == 1 ]] && { echo "error: migration 2 failed" >&2; exit 1; }
exit 0
FAKE
chmod +x "$WORK/fake-migrator"
export FAKE_LOG="$WORK/fake.log"

if DATABASE_URL="$(db_url "$DB_A")" MIGRATOR="$WORK/fake-migrator" "$REPO_ROOT/scripts/migrate.sh" >"$WORK/a1.log" 2>&1; then
  pass "migrate.sh succeeds with a succeeding migrator"
else
  fail "migrate.sh failed"; cat "$WORK/a1.log"
fi
assert_eq "backup taken before 'up', then 'status'" $'up backups=1\nstatus backups=1' "$(cat "$FAKE_LOG")"

: >"$FAKE_LOG"
if DATABASE_URL="$(db_url "$DB_A")" MIGRATOR="$WORK/fake-migrator" FAKE_FAIL=1 "$REPO_ROOT/scripts/migrate.sh" >"$WORK/a2.log" 2>&1; then
  fail "migrate.sh succeeded although 'up' failed"
else
  pass "migrate.sh fails when 'up' fails"
fi
assert_eq "no 'status' after a failed 'up'" "up backups=2" "$(cat "$FAKE_LOG")"
assert_contains "failure names the backup and the restore command" "$(cat "$WORK/a2.log")" "gunzip -c '$BACKUP_DIR/car-api_"

out="$(env -u DATABASE_URL "$REPO_ROOT/scripts/migrate.sh" 2>&1 || true)"
assert_contains "missing DATABASE_URL is reported" "$out" "DATABASE_URL is not set"
out="$(DATABASE_URL=postgres://x@127.0.0.1/x MIGRATOR="$WORK/no-such-migrator" "$REPO_ROOT/scripts/migrate.sh" 2>&1 || true)"
assert_contains "missing migrator is reported with the build command" "$out" "cargo build --release -p migrator"

# ------------------------------------------------------------------ B. real migrator
echo "== B. migrate.sh with the real migrator"
if [[ -z "${MIGRATOR:-}" ]]; then
  MIGRATOR="$REPO_ROOT/target/release/migrator"
  if [[ ! -x "$MIGRATOR" ]]; then
    if command -v cargo >/dev/null 2>&1; then
      echo "building the migrator: cargo build --release -p migrator (log: $WORK/build.log)"
      if ! (cd "$REPO_ROOT" && cargo build --release -p migrator) >"$WORK/build.log" 2>&1; then
        tail -n 30 "$WORK/build.log"
        [[ $FAILURES -eq 0 ]] || finish
        skip "part B: cargo build --release -p migrator failed (part A passed)"
      fi
    else
      [[ $FAILURES -eq 0 ]] || finish
      skip "part B: target/release/migrator is absent and cargo is not installed (part A passed)"
    fi
  fi
fi
export MIGRATOR

DB_B="car_api_migrate_b_$suffix"
create_db "$DB_B"
q "$DB_B" "create table legacy (id int primary key, note text); insert into legacy select i, 'n' || i from generate_series(1, 7) i" >/dev/null
before="$(table_fingerprint "$DB_B")"
if DATABASE_URL="$(db_url "$DB_B")" "$REPO_ROOT/scripts/migrate.sh" >"$WORK/b1.log" 2>&1; then
  pass "migrate.sh (backup, up, status) succeeds on a database with data"
else
  fail "migrate.sh failed on a fresh database"; cat "$WORK/b1.log"
fi
assert_eq "tables users, brands, cars exist" "brands cars users" \
  "$(q "$DB_B" "select string_agg(tablename, ' ' order by tablename) from pg_tables where schemaname = 'public' and tablename in ('users', 'brands', 'cars')")"
assert_eq "existing data untouched by the migration" "$before" "$(table_fingerprint "$DB_B" | grep '^legacy ')"
if DATABASE_URL="$(db_url "$DB_B")" "$MIGRATOR" status >/dev/null 2>&1; then pass "migrator status exits 0 (nothing pending)"; else fail "migrator status reports pending migrations after up"; fi
if DATABASE_URL="$(db_url "$DB_B")" "$REPO_ROOT/scripts/migrate.sh" >"$WORK/b2.log" 2>&1; then
  pass "a second run is a no-op that succeeds"
else
  fail "second run failed"; cat "$WORK/b2.log"
fi

# A migration that cannot apply: `brands` already exists with other data.
DB_C="car_api_migrate_c_$suffix"
create_db "$DB_C"
q "$DB_C" "create table brands (id int primary key, label text); insert into brands select i, 'b' || i from generate_series(1, 3) i" >/dev/null
before="$(table_fingerprint "$DB_C")"
if DATABASE_URL="$(db_url "$DB_C")" "$REPO_ROOT/scripts/migrate.sh" >"$WORK/c.log" 2>&1; then
  fail "migrate.sh succeeded although a migration must fail"
else
  pass "migrate.sh fails when a migration fails"
fi
assert_eq "existing data as it was after the failed migration" "$before" "$(table_fingerprint "$DB_C" | grep '^brands ')"
if DATABASE_URL="$(db_url "$DB_C")" "$MIGRATOR" status >/dev/null 2>&1; then fail "status exits 0 although migrations are pending"; else pass "status exits non-zero while migrations are pending"; fi
if ls "$BACKUP_DIR"/car-api_*.sql.gz >/dev/null; then pass "backups were written before migrating"; else fail "no backups"; fi

finish
