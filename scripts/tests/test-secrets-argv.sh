#!/usr/bin/env bash
# No secret on a command line (where `ps` shows it to every user), and backups
# private on disk:
#   backup.sh   run with a stand-in pg_dump first on PATH that records its
#               arguments and environment: the password is in neither, PGPASSFILE
#               names a mode-600 file (in a 700 folder, removed afterwards) that
#               holds it; the backup is 0600 in a 0700 folder. Then the real
#               pg_dump (libpq) against a stand-in server that asks for a
#               password (fake_pg_server.py): it sends exactly the URL's password,
#               special characters and all, read from that file.
#   deploy.sh   run for real with a stand-in kubectl: the Secrets are made with
#               --from-file (mode-600 files in a 700 folder, removed on exit),
#               and no secret value is among kubectl's arguments.
# Needs no cluster and no database. Run: scripts/tests/test-secrets-argv.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
S="$REPO_ROOT/scripts"
PYTHON="${PYTHON:-python3}"

WORK="$(mktemp -d)"
SERVER_PID=""
TAG="test-argv-$$"
cleanup() {
  [[ -z "$SERVER_PID" ]] || kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK" "$REPO_ROOT/.deploy/staging-$TAG"
}
trap cleanup EXIT

# contains_bytes FILE TEXT: FILE holds TEXT somewhere (binary-safe).
contains_bytes() { grep -aqF -- "$2" "$1"; }

# A password with every character that needs care: @ : / % \ and a non-ASCII one.
PASSWORD='s3cr3t-P@ss:w0rd\x/%é'
PASSWORD_URL='s3cr3t-P%40ss%3Aw0rd%5Cx%2F%25%C3%A9'

echo "== backup.sh with a stand-in pg_dump"
mkdir -p "$WORK/pgbin" "$WORK/pgrec"
cat >"$WORK/pgbin/pg_dump" <<'SH'
#!/usr/bin/env bash
# Records its arguments (NUL-separated), its environment, and PGPASSFILE's mode,
# folder mode and content; prints a tiny dump.
set -euo pipefail
rec="$FAKE_PG_RECORD"
printf '%s\0' "$0" "$@" >"$rec/argv"
env -0 >"$rec/env"
if [[ -n "${PGPASSFILE:-}" ]]; then
  printf '%s' "$PGPASSFILE" >"$rec/pgpassfile"
  stat -c %a "$PGPASSFILE" >"$rec/pgpass_mode"
  stat -c %a "$(dirname "$PGPASSFILE")" >"$rec/pgpass_dir_mode"
  cat "$PGPASSFILE" >"$rec/pgpass"
fi
printf -- '-- stand-in dump\nSELECT 1;\n'
SH
chmod +x "$WORK/pgbin/pg_dump"

export FAKE_PG_RECORD="$WORK/pgrec"
url="postgres://car_api:$PASSWORD_URL@db.internal:5432/car_api?sslmode=require"
backups="$WORK/backups"
mkdir -m 755 "$backups" # an existing folder, readable by all: made 0700
rc=0
file="$(PATH="$WORK/pgbin:$PATH" DATABASE_URL="$url" BACKUP_DIR="$backups" "$S/backup.sh" 2>"$WORK/backup.err" | tail -n 1)" || rc=$?
indent "  backup> " <"$WORK/backup.err"
assert_eq "backup.sh with the stand-in pg_dump succeeds" 0 "$rc"
argv="$(tr '\0' ' ' <"$WORK/pgrec/argv")"
echo "  pg_dump argv: $argv"
for secret in "$PASSWORD" "$PASSWORD_URL" "s3cr3t"; do
  if contains_bytes "$WORK/pgrec/argv" "$secret"; then fail "pg_dump's arguments hold the password ($secret)"; else pass "pg_dump's arguments lack the password ($secret)"; fi
  if contains_bytes "$WORK/pgrec/env" "$secret"; then fail "pg_dump's environment holds the password ($secret)"; else pass "pg_dump's environment lacks the password ($secret)"; fi
done
assert_contains "pg_dump gets the URL without its password" "$argv" "--dbname=postgres://car_api@db.internal:5432/car_api?sslmode=require"
assert_contains "pg_dump never prompts" "$argv" "--no-password"
if [[ -s "$WORK/pgrec/pgpassfile" ]]; then
  pass "PGPASSFILE is set for pg_dump: $(cat "$WORK/pgrec/pgpassfile")"
  assert_eq "PGPASSFILE is mode 600" 600 "$(cat "$WORK/pgrec/pgpass_mode")"
  assert_eq "PGPASSFILE's folder is mode 700" 700 "$(cat "$WORK/pgrec/pgpass_dir_mode")"
  assert_eq "PGPASSFILE holds the decoded password, : and \\ escaped" "*:*:*:*:s3cr3t-P@ss\\:w0rd\\\\x/%é" "$(cat "$WORK/pgrec/pgpass")"
  if [[ ! -e "$(cat "$WORK/pgrec/pgpassfile")" ]]; then pass "PGPASSFILE removed after the backup"; else fail "PGPASSFILE left behind: $(cat "$WORK/pgrec/pgpassfile")"; fi
else
  fail "PGPASSFILE was not set for pg_dump"
fi
if [[ -f "$file" ]]; then
  assert_eq "backup file is mode 600" 600 "$(stat -c %a "$file")"
else
  fail "no backup file: '$file'"
fi
assert_eq "existing backup folder made mode 700" 700 "$(stat -c %a "$backups")"
if gunzip -c "$file" 2>/dev/null | grep -q 'stand-in dump'; then pass "backup holds pg_dump's output"; else fail "backup does not hold pg_dump's output"; fi

# A folder the script creates: 0700, its parents too (umask 077).
rm -rf "$WORK/pgrec"/*
file="$(PATH="$WORK/pgbin:$PATH" DATABASE_URL="$url" BACKUP_DIR="$WORK/new/backups" "$S/backup.sh" 2>/dev/null | tail -n 1)"
assert_eq "new backup folder is mode 700" 700 "$(stat -c %a "$WORK/new/backups")"
assert_eq "its new parent folder is mode 700" 700 "$(stat -c %a "$WORK/new")"
assert_eq "backup file in it is mode 600" 600 "$(stat -c %a "$file")"

# A password given as a query parameter is taken out of the URL too.
rm -rf "$WORK/pgrec"/*
PATH="$WORK/pgbin:$PATH" DATABASE_URL="postgres://car_api@db.internal/car_api?password=$PASSWORD_URL&sslmode=require" \
  BACKUP_DIR="$WORK/backups" "$S/backup.sh" >/dev/null 2>&1
if contains_bytes "$WORK/pgrec/argv" "s3cr3t"; then fail "password=... query parameter on pg_dump's command line"; else pass "password=... query parameter not on pg_dump's command line"; fi
assert_contains "the other query parameters stay" "$(tr '\0' ' ' <"$WORK/pgrec/argv")" "--dbname=postgres://car_api@db.internal/car_api?sslmode=require"
assert_eq "PGPASSFILE holds the query parameter's password" "*:*:*:*:s3cr3t-P@ss\\:w0rd\\\\x/%é" "$(cat "$WORK/pgrec/pgpass" 2>/dev/null)"

# A URL without a password: no PGPASSFILE of ours, the caller's environment rules.
rm -rf "$WORK/pgrec"/*
PATH="$WORK/pgbin:$PATH" DATABASE_URL="postgres://car_api@db.internal/car_api" BACKUP_DIR="$WORK/backups" "$S/backup.sh" >/dev/null 2>&1
if [[ ! -e "$WORK/pgrec/pgpassfile" ]]; then pass "no PGPASSFILE for a URL without a password"; else fail "PGPASSFILE set for a URL without a password"; fi

echo "== deploy.sh with a stand-in kubectl: Secrets from files, not arguments"
K="$WORK/kubectl"
fake_kubectl "$K"
JWT="$(random_secret 48)"
DB_PASSWORD="db-$(random_secret 18)"
DB_URL="postgres://car_api:$DB_PASSWORD@db.example.com:5432/car_api?sslmode=require"
MIGRATE_URL="postgres://car_api:$DB_PASSWORD@db-direct.example.com:5432/car_api?sslmode=require"
REG_PASSWORD="ghp_$(random_secret 24)"
DA="sha256:$(printf 'a%.0s' {1..64})"
DM="sha256:$(printf 'b%.0s' {1..64})"
mkdir -p "$WORK/tmpdir"
rc=0
env -u GITHUB_REPOSITORY KUBECTL="$K/bin/kubectl" IMAGE_REPO=ghcr.io/acme/car-api APP_DIGEST="$DA" MIGRATOR_DIGEST="$DM" \
  DATABASE_URL="$DB_URL" MIGRATE_DATABASE_URL="$MIGRATE_URL" JWT_SECRET_KEY="$JWT" \
  REGISTRY_USERNAME=bot REGISTRY_PASSWORD="$REG_PASSWORD" TMPDIR="$WORK/tmpdir" \
  "$S/deploy.sh" --skip-push --tag "$TAG" >"$WORK/deploy.out" 2>&1 || rc=$?
indent "  deploy> " <"$WORK/deploy.out"
assert_eq "deploy.sh ran up to the stand-in's stop at step 4" 42 "$rc"
indent "  kubectl> " <"$K/calls"
calls="$(cat "$K/calls")"
reg_auth="$(printf '%s:%s' bot "$REG_PASSWORD" | base64 | tr -d '\n')"
for what in "JWT secret:$JWT" "database password:$DB_PASSWORD" "registry password:$REG_PASSWORD" "registry auth:$reg_auth"; do
  assert_not_contains "kubectl's arguments lack the ${what%%:*}" "$calls" "${what#*:}"
done
assert_not_contains "no --from-literal" "$calls" "--from-literal"
assert_not_contains "no --docker-password" "$calls" "--docker-password"
for key in database_url migrate_database_url jwt_secret_key; do
  assert_contains "Secret car-api-secrets: --from-file=$key" "$calls" "--from-file=$key="
done
assert_contains "Secret car-api-registry: a dockerconfigjson from a file" "$calls" \
  "create secret generic car-api-registry --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson="
assert_eq "file database_url holds DATABASE_URL" "$DB_URL" "$(cat "$K/content/database_url")"
assert_eq "file migrate_database_url holds MIGRATE_DATABASE_URL" "$MIGRATE_URL" "$(cat "$K/content/migrate_database_url")"
assert_eq "file jwt_secret_key holds JWT_SECRET_KEY" "$JWT" "$(cat "$K/content/jwt_secret_key")"
assert_eq "the dockerconfigjson's auth is base64(user:password) for ghcr.io" "bot:$REG_PASSWORD" \
  "$("$PYTHON" -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["auths"]["ghcr.io"]["auth"]).decode())' "$K/content/.dockerconfigjson")"
n=0
while IFS=$'\t' read -r key mode dirmode path; do
  n=$((n + 1))
  assert_eq "file $key is mode 600" 600 "$mode"
  assert_eq "folder of $key is mode 700" 700 "$dirmode"
  if [[ ! -e "$path" ]]; then pass "file $key removed"; else fail "file $key left behind: $path"; fi
done <"$K/from-file"
assert_eq "four secret files handed to kubectl" 4 "$n"
if [[ -z "$(ls -A "$WORK/tmpdir")" ]]; then pass "no temporary folder left behind"; else fail "left behind in TMPDIR: $(ls -A "$WORK/tmpdir")"; fi

echo "== backup.sh with the real pg_dump: the password libpq reads from PGPASSFILE"
if command -v pg_dump >/dev/null 2>&1; then
  "$PYTHON" "$REPO_ROOT/scripts/tests/fake_pg_server.py" "$WORK/port" "$WORK/logins" 60 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do [[ -s "$WORK/port" ]] && break; sleep 0.1; done
  port="$(cat "$WORK/port")"
  rc=0
  DATABASE_URL="postgres://app%20user:$PASSWORD_URL@127.0.0.1:$port/car_db?sslmode=disable" BACKUP_DIR="$WORK/real" \
    "$S/backup.sh" >"$WORK/real.out" 2>&1 || rc=$?
  indent "  backup> " <"$WORK/real.out"
  if [[ $rc -ne 0 ]]; then pass "backup fails when the server refuses the login"; else fail "backup succeeded against a server that refuses every login"; fi
  login="$(head -n 1 "$WORK/logins" 2>/dev/null || true)"
  [[ -n "$login" ]] || login='{}'
  echo "  the server saw: $login"
  assert_eq "libpq sent the URL's password, decoded" "$PASSWORD" \
    "$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["password"])' "$login" 2>/dev/null || true)"
  assert_eq "libpq sent the URL's user, decoded" "app user" \
    "$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["user"])' "$login" 2>/dev/null || true)"
  assert_eq "no backup file after the refused login" "" "$(find "$WORK/real" -name 'car-api_*' 2>/dev/null)"
  kill "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
else
  [[ $FAILURES -eq 0 ]] || finish
  skip "pg_dump is not installed (apt-get install postgresql-client): the libpq half of this test did not run"
fi

finish
