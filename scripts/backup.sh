#!/usr/bin/env bash
# Logical backup of the Car API database: pg_dump | gzip into a timestamped
# file, backups older than the retention removed, optional upload to S3.
# The nightly CronJob (k8s/base/backup-cronjob.yaml) runs this very file
# (k8s/base/backup/backup.sh is kept identical; scripts/check-deploy.sh checks it).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: backup.sh [--dry-run] [--help]

Dumps the database at DATABASE_URL with pg_dump (plain SQL, no owners or
privileges, so it restores into any fresh database) and gzips it to
  $BACKUP_DIR/car-api_<UTC timestamp>.sql.gz
then deletes backups older than BACKUP_RETENTION_DAYS, and uploads the new
file when AWS_S3_BUCKET is set. The last line on stdout is the backup's path.

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

# Hide the password when a URL is printed.
redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

: "${DATABASE_URL:?DATABASE_URL is not set (postgres://user:pass@host:port/db); see --help}"
BACKUP_DIR="${BACKUP_DIR:-./backups}"
BACKUP_RETENTION_DAYS="${BACKUP_RETENTION_DAYS:-7}"
AWS_S3_PREFIX="${AWS_S3_PREFIX:-car-api/}"
[[ "$BACKUP_RETENTION_DAYS" =~ ^[0-9]+$ ]] || die "BACKUP_RETENTION_DAYS must be a whole number of days, got '$BACKUP_RETENTION_DAYS'"

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ $DRY_RUN -eq 1 ]]; then log "warning: $1 is not installed ($2)"; else die "$1 is not installed ($2)"; fi
}
need pg_dump "PostgreSQL client tools, e.g. apt-get install postgresql-client"
need gzip "apt-get install gzip"
if [[ -n "${AWS_S3_BUCKET:-}" ]]; then
  need aws "AWS CLI, needed because AWS_S3_BUCKET is set"
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
file="$BACKUP_DIR/car-api_${stamp}.sql.gz"
retention_minutes=$((BACKUP_RETENTION_DAYS * 24 * 60))

if [[ $DRY_RUN -eq 1 ]]; then
  echo "would run: mkdir -p $BACKUP_DIR"
  echo "would run: pg_dump --no-owner --no-privileges --dbname=$(redact "$DATABASE_URL") | gzip -9 > $file"
  echo "would run: find $BACKUP_DIR -name 'car-api_*.sql.gz' -mmin +$retention_minutes -delete"
  if [[ -n "${AWS_S3_BUCKET:-}" ]]; then
    echo "would run: aws s3 cp $file s3://$AWS_S3_BUCKET/$AWS_S3_PREFIX$(basename "$file")"
  else
    echo "would skip the upload (AWS_S3_BUCKET is not set)"
  fi
  exit 0
fi

mkdir -p "$BACKUP_DIR"
# Two backups within one second get distinct names.
n=1
while [[ -e "$file" ]]; do
  n=$((n + 1))
  file="$BACKUP_DIR/car-api_${stamp}_${n}.sql.gz"
done
partial="$file.partial"
trap 'rm -f "$partial"' EXIT

log "dumping $(redact "$DATABASE_URL") to $file"
# pipefail makes a pg_dump failure fail the pipeline; the file only gets its
# final name once the dump is complete.
pg_dump --no-owner --no-privileges --dbname="$DATABASE_URL" | gzip -9 >"$partial"
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
