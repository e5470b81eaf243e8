#!/usr/bin/env bash
# Safe schema migration: backup first (scripts/backup.sh, pg_dump), then
# `migrator up`, then `migrator status` (exit 0 only when nothing is pending).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: migrate.sh [--dry-run] [--skip-backup] [--help]

1. backs the database up with scripts/backup.sh (pg_dump | gzip),
2. applies pending migrations: migrator up,
3. checks that nothing is pending: migrator status.
If step 2 fails, each migration that failed was rolled back in its own
transaction, and the backup from step 1 is printed with the restore command.

Environment:
  DATABASE_URL   postgres://user:pass@host:port/db  (required; direct to
                 PostgreSQL, not through PgBouncer's transaction pooling)
  MIGRATOR       migrator binary (default: target/release/migrator if built,
                 else `migrator` on PATH; build: cargo build --release -p migrator)
  BACKUP_DIR, BACKUP_RETENTION_DAYS, AWS_S3_BUCKET   passed to backup.sh

Options:
  --dry-run      print what would run, change nothing
  --skip-backup  no backup (only for throwaway databases)
  -h, --help     this text
EOF
}

DRY_RUN=0
SKIP_BACKUP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --skip-backup) SKIP_BACKUP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "migrate.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[migrate] %s\n' "$*" >&2; }
die() { printf '[migrate] ERROR: %s\n' "$*" >&2; exit 1; }

: "${DATABASE_URL:?DATABASE_URL is not set (postgres://user:pass@host:port/db); see --help}"
export DATABASE_URL

if [[ -z "${MIGRATOR:-}" ]]; then
  if [[ -x "$REPO_ROOT/target/release/migrator" ]]; then
    MIGRATOR="$REPO_ROOT/target/release/migrator"
  else
    MIGRATOR=migrator
  fi
fi
if ! command -v "$MIGRATOR" >/dev/null 2>&1; then
  if [[ $DRY_RUN -eq 1 ]]; then
    log "warning: migrator not found ($MIGRATOR); build it with: cargo build --release -p migrator"
  else
    die "migrator not found ($MIGRATOR); build it with: cargo build --release -p migrator, or set MIGRATOR"
  fi
fi

if [[ $DRY_RUN -eq 1 ]]; then
  if [[ $SKIP_BACKUP -eq 1 ]]; then
    echo "would skip the backup (--skip-backup)"
  else
    echo "would run: $SCRIPT_DIR/backup.sh"
    "$SCRIPT_DIR/backup.sh" --dry-run | sed 's/^/  /'
  fi
  echo "would run: $MIGRATOR up"
  echo "would run: $MIGRATOR status"
  exit 0
fi

backup=""
if [[ $SKIP_BACKUP -eq 0 ]]; then
  log "step 1/3: backup"
  backup="$("$SCRIPT_DIR/backup.sh" | tail -n 1)"
  [[ -s "$backup" ]] || die "backup.sh did not produce a backup file; not migrating"
  log "backup: $backup"
else
  log "step 1/3: backup skipped (--skip-backup)"
fi

log "step 2/3: $MIGRATOR up"
if ! "$MIGRATOR" up; then
  log "migration FAILED. The failed migration was rolled back; earlier ones in this run stay applied."
  if [[ -n "$backup" ]]; then
    log "to return to the state before this run, restore the backup into an empty database:"
    log "  gunzip -c '$backup' | psql -v ON_ERROR_STOP=1 --single-transaction -d <empty database url>"
  fi
  exit 1
fi

log "step 3/3: $MIGRATOR status"
if ! "$MIGRATOR" status; then
  die "migrations are still pending after 'up'"
fi
log "schema is current"
