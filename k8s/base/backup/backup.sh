#!/usr/bin/env bash
# Logical backup of the Car API database: pg_dump | gzip into a timestamped
# file, backups older than the retention removed, optional upload to S3.
# The nightly CronJob (k8s/base/backup-cronjob.yaml) runs this very file: it lives
# here because kustomize only reads files under its own root, and scripts/backup.sh
# is a symbolic link to it.
# The dumps hold password hashes and personal data: every file this script
# creates is 0600, in a folder it makes 0700. The database password never goes
# on pg_dump's command line (visible in ps): it goes in a private PGPASSFILE.
set -euo pipefail
umask 077

usage() {
  cat <<'EOF'
Usage: backup.sh [--dry-run] [--help]

Dumps the database at DATABASE_URL with pg_dump (plain SQL, no owners or
privileges, so it restores into any fresh database) and gzips it to
  $BACKUP_DIR/car-api_<UTC timestamp>.sql.gz
then deletes backups older than BACKUP_RETENTION_DAYS, and uploads the new
file when AWS_S3_BUCKET is set. The last line on stdout is the backup's path.
Backups are written mode 0600; BACKUP_DIR is created (or set) mode 0700. The
URL's password is handed to pg_dump in a temporary PGPASSFILE (mode 0600, removed
on exit), never as an argument.

Environment:
  DATABASE_URL           postgres://user:pass@host:port/db  (required)
  BACKUP_DIR             where backups go (default: ./backups)
  BACKUP_RETENTION_DAYS  keep this many days of backups (default: 7)
  AWS_S3_BUCKET          optional: upload with `aws s3 cp` to s3://$AWS_S3_BUCKET/$AWS_S3_PREFIX
  AWS_S3_PREFIX          key prefix for uploads (default: car-api/)

Options:
  --dry-run   print what would run, change nothing
  -h, --help  this text

Restore into an empty database:
  gunzip -c car-api_<timestamp>.sql.gz | psql -v ON_ERROR_STOP=1 --single-transaction -d <new database url>
EOF
}

DRY_RUN=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "backup.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[backup] %s\n' "$*" >&2; }
die() { printf '[backup] ERROR: %s\n' "$*" >&2; exit 1; }

: "${DATABASE_URL:?DATABASE_URL is not set (postgres://user:pass@host:port/db); see --help}"
BACKUP_DIR="${BACKUP_DIR:-./backups}"
BACKUP_RETENTION_DAYS="${BACKUP_RETENTION_DAYS:-7}"
AWS_S3_PREFIX="${AWS_S3_PREFIX:-car-api/}"
[[ "$BACKUP_RETENTION_DAYS" =~ ^[0-9]+$ ]] || die "BACKUP_RETENTION_DAYS must be a whole number of days, got '$BACKUP_RETENTION_DAYS'"

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $DRY_RUN -eq 1 ]]; then log "warning: $1 is not installed ($2)"; else die "$1 is not installed ($2)"; fi
}
# split_database_url URL: sets DUMP_URL (URL without its password: safe on a
# command line) and DUMP_PASSWORD (percent-decoded, "" when there is none). The
# user info ends at the first @ or /, the password starts after its first :
# (libpq's reading); a password=... query parameter counts too and is removed.
split_database_url() {
  local url="$1" scheme rest userinfo user="" pass="" query="" kept="" param
  [[ "$url" =~ ^(postgres|postgresql):// ]] || die "DATABASE_URL must be a postgres:// or postgresql:// URL"
  scheme="${url%%://*}://"
  rest="${url#*://}"
  if [[ "${rest%%/*}" == *@* ]]; then
    userinfo="${rest%%@*}"
    rest="${rest#*@}"
    user="${userinfo%%:*}"
    [[ "$userinfo" == *:* ]] && pass="${userinfo#*:}"
  fi
  if [[ "$rest" == *\?* ]]; then
    query="${rest#*\?}"
    rest="${rest%%\?*}"
  fi
  if [[ -n "$query" ]]; then
    local -a params
    IFS='&' read -r -a params <<<"$query"
    for param in "${params[@]}"; do
      if [[ "$param" == password=* ]]; then
        pass="${param#password=}"
      elif [[ -n "$param" ]]; then
        kept+="${kept:+&}$param"
      fi
    done
  fi
  DUMP_URL="$scheme${user:+$user@}$rest${kept:+?$kept}"
  percent_decode "$pass"
  DUMP_PASSWORD="$DECODED"
  DECODED=""
}

# percent_decode TEXT: sets DECODED to TEXT with its %XX sequences as bytes.
percent_decode() {
  local s="$1" out="" byte
  while [[ -n "$s" ]]; do
    if [[ "$s" =~ ^%([0-9A-Fa-f]{2}) ]]; then
      printf -v byte '%b' "\\x${BASH_REMATCH[1]}"
      out+="$byte"
      s="${s:3}"
    else
      out+="${s:0:1}"
      s="${s:1}"
    fi
  done
  DECODED="$out"
}

need pg_dump "PostgreSQL client tools, e.g. apt-get install postgresql-client"
need gzip "apt-get install gzip"
if [[ -n "${AWS_S3_BUCKET:-}" ]]; then
  need aws "AWS CLI, needed because AWS_S3_BUCKET is set"
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
file="$BACKUP_DIR/car-api_${stamp}.sql.gz"
retention_minutes=$((BACKUP_RETENTION_DAYS * 24 * 60))

split_database_url "$DATABASE_URL"

if [[ $DRY_RUN -eq 1 ]]; then
  echo "would run: umask 077; mkdir -p $BACKUP_DIR; chmod 700 $BACKUP_DIR"
  if [[ -n "$DUMP_PASSWORD" ]]; then
    echo "would write: the password into a temporary PGPASSFILE (mode 600, removed on exit)"
  fi
  echo "would run: pg_dump --no-owner --no-privileges --no-password --dbname=$DUMP_URL | gzip -9 > $file"
  echo "would run: find $BACKUP_DIR -name 'car-api_*.sql.gz' -mmin +$retention_minutes -delete"
  if [[ -n "${AWS_S3_BUCKET:-}" ]]; then
    echo "would run: aws s3 cp $file s3://$AWS_S3_BUCKET/$AWS_S3_PREFIX$(basename "$file")"
  else
    echo "would skip the upload (AWS_S3_BUCKET is not set)"
  fi
  exit 0
fi

mkdir -p "$BACKUP_DIR"
# An existing folder too (a volume's mount point may not be ours to change).
chmod 700 "$BACKUP_DIR" 2>/dev/null \
  || log "warning: cannot chmod 700 $BACKUP_DIR (not its owner); the backups in it are 0600 all the same"
# Two backups within one second get distinct names.
n=1
while [[ -e "$file" ]]; do
  n=$((n + 1))
  file="$BACKUP_DIR/car-api_${stamp}_${n}.sql.gz"
done
partial="$file.partial"
pass_dir=""
trap 'rm -f "$partial"; [[ -z "$pass_dir" ]] || rm -rf "$pass_dir"' EXIT

if [[ -n "$DUMP_PASSWORD" ]]; then
  [[ "$DUMP_PASSWORD" != *$'\n'* ]] || die "the password in DATABASE_URL contains a line break, which a password file cannot hold"
  pass_dir="$(mktemp -d)"
  # host:port:database:user:password, : and \ escaped; this file serves this one
  # pg_dump, so any host, port, database and user.
  escaped="${DUMP_PASSWORD//\\/\\\\}"
  printf '*:*:*:*:%s\n' "${escaped//:/\\:}" >"$pass_dir/pgpass"
  unset escaped
  export PGPASSFILE="$pass_dir/pgpass"
  unset PGPASSWORD # it would win over the file; the URL's password is the one meant
fi
unset DUMP_PASSWORD

log "dumping $DUMP_URL to $file"
# pipefail makes a pg_dump failure fail the pipeline; the file only gets its
# final name once the dump is complete. pg_dump gets the URL without its
# password, and an environment without DATABASE_URL.
(unset DATABASE_URL; exec pg_dump --no-owner --no-privileges --no-password --dbname="$DUMP_URL") | gzip -9 >"$partial"
gzip -t "$partial" || die "the compressed dump is corrupt"
mv "$partial" "$file"
log "wrote $file ($(wc -c <"$file") bytes)"

log "removing backups older than $BACKUP_RETENTION_DAYS days from $BACKUP_DIR"
find "$BACKUP_DIR" -maxdepth 1 -name 'car-api_*.sql.gz' -mmin +"$retention_minutes" -print -delete >&2

if [[ -n "${AWS_S3_BUCKET:-}" ]]; then
  target="s3://$AWS_S3_BUCKET/$AWS_S3_PREFIX$(basename "$file")"
  log "uploading to $target"
  aws s3 cp --only-show-errors "$file" "$target"
fi

echo "$file"
