#!/usr/bin/env bash
# backup.sh against a real PostgreSQL: a scratch database with rows (the real
# migrations plus extra tables) is backed up, restored into a fresh database,
# and both are compared table by table (row counts and content hashes).
# Also: retention (older than 7 days removed), failure leaves no backup file.
# Both databases are dropped afterwards. Run: scripts/tests/test-backup.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_postgres
suffix="$$_$RANDOM"
SRC="car_api_backup_src_$suffix"
DST="car_api_backup_dst_$suffix"
WORK="$(mktemp -d)"
cleanup() { drop_scratch_dbs; rm -rf "$WORK"; }
trap cleanup EXIT

create_db "$SRC"
for f in "$REPO_ROOT"/migrations/postgres/*.up.sql; do
  psql "$(db_url "$SRC")" -Xq -v ON_ERROR_STOP=1 -f "$f" >/dev/null
done
psql "$(db_url "$SRC")" -Xq -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO users (username, email, password_hash)
  SELECT 'user' || i, 'user' || i || '@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'
  FROM generate_series(1, 25) i;
INSERT INTO brands (name, description, is_active) VALUES
  ('Fiat', 'Italian; "quotes" and a
newline', true), ('Volkswagen', NULL, true), ('Gurgel', 'inactive brand', false);
INSERT INTO cars (model, factory_year, model_year, color, plate, fuel_type, transmission, price, description, brand_id, owner_id)
  SELECT 'Model ' || i, 2020, 2021, 'Blue', 'ABC' || lpad(i::text, 4, '0'), 'flex', 'manual', 12345.67 + i, NULL,
         1 + (i % 3), 1 + (i % 25)
  FROM generate_series(1, 120) i;
CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamp NOT NULL DEFAULT now(), payload jsonb);
INSERT INTO audit_log (payload) SELECT jsonb_build_object('n', i, 'tag', 'ção') FROM generate_series(1, 1000) i;
SQL

export DATABASE_URL BACKUP_DIR="$WORK/backups"
DATABASE_URL="$(db_url "$SRC")"

# --dry-run writes nothing.
out="$("$REPO_ROOT/scripts/backup.sh" --dry-run)"
assert_contains "dry-run shows pg_dump" "$out" "pg_dump --no-owner --no-privileges"
if [[ ! -e "$BACKUP_DIR" ]]; then pass "dry-run created nothing"; else fail "dry-run created $BACKUP_DIR"; fi

# A backup older than the retention, and one inside it.
mkdir -p "$BACKUP_DIR"
touch -d '8 days ago' "$BACKUP_DIR/car-api_20000101T000000Z.sql.gz"
touch -d '6 days ago' "$BACKUP_DIR/car-api_20000102T000000Z.sql.gz"
touch -d '30 days ago' "$BACKUP_DIR/unrelated-file.txt"

file="$("$REPO_ROOT/scripts/backup.sh" | tail -n 1)"
if [[ "$(basename "$file")" =~ ^car-api_[0-9]{8}T[0-9]{6}Z\.sql\.gz$ ]]; then pass "timestamped name: $(basename "$file")"; else fail "unexpected backup name: $file"; fi
if gzip -t "$file"; then pass "backup is valid gzip"; else fail "backup is not valid gzip"; fi
if [[ ! -e "$BACKUP_DIR/car-api_20000101T000000Z.sql.gz" ]]; then pass "backup older than 7 days removed"; else fail "8-day-old backup kept"; fi
if [[ -e "$BACKUP_DIR/car-api_20000102T000000Z.sql.gz" ]]; then pass "backup of 6 days ago kept"; else fail "6-day-old backup removed"; fi
if [[ -e "$BACKUP_DIR/unrelated-file.txt" ]]; then pass "unrelated files untouched"; else fail "unrelated file removed"; fi
if ls "$BACKUP_DIR"/*.partial >/dev/null 2>&1; then fail "a .partial file was left behind"; else pass "no partial files"; fi
assert_eq "backup file is mode 600" 600 "$(stat -c %a "$file")"
assert_eq "backup folder is mode 700" 700 "$(stat -c %a "$BACKUP_DIR")"

# Restore into a fresh database and compare.
create_db "$DST"
gunzip -c "$file" | psql "$(db_url "$DST")" -Xq -v ON_ERROR_STOP=1 --single-transaction >/dev/null
src_fp="$(table_fingerprint "$SRC")"
dst_fp="$(table_fingerprint "$DST")"
echo "source:   $(tr '\n' ';' <<<"$src_fp")"
echo "restored: $(tr '\n' ';' <<<"$dst_fp")"
assert_eq "restored tables, row counts and contents identical" "$src_fp" "$dst_fp"
assert_eq "row count of cars" "120" "$(q "$DST" 'select count(*) from cars')"
assert_eq "row count of audit_log" "1000" "$(q "$DST" 'select count(*) from audit_log')"
assert_eq "identity continues after restore" "121" "$(q "$DST" "insert into cars (model, factory_year, model_year, color, plate, fuel_type, transmission, price, brand_id, owner_id) values ('New', 2020, 2020, 'Red', 'ZZZ9999', 'flex', 'cvt', 1, 1, 1) returning id")"

# A failing dump exits non-zero and leaves no backup file.
before="$(find "$BACKUP_DIR" -name 'car-api_*.sql.gz' | wc -l)"
if DATABASE_URL="$(db_url "car_api_missing_$suffix")" "$REPO_ROOT/scripts/backup.sh" >"$WORK/err.log" 2>&1; then
  fail "backup of a missing database succeeded"
else
  pass "backup of a missing database fails"
fi
assert_eq "no new backup file after a failure" "$before" "$(find "$BACKUP_DIR" -name 'car-api_*.sql.gz' | wc -l)"

# Missing DATABASE_URL: a clear error.
out="$(env -u DATABASE_URL "$REPO_ROOT/scripts/backup.sh" 2>&1 || true)"
assert_contains "missing DATABASE_URL is reported" "$out" "DATABASE_URL is not set"

finish
