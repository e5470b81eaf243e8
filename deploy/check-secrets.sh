#!/usr/bin/env bash
# Run by compose's one-shot service check-secrets before the stack starts
# (postgres, migrate and app wait until it exits 0): refuses a JWT_SECRET_KEY that
# contains CHANGE_ME, equals a value shipped in the repository, or is shorter than
# 32 bytes, and a POSTGRES_PASSWORD that contains CHANGE_ME or is shipped. Same
# rules as scripts/deploy.sh (scripts/lib/secrets.sh). Prints no secret.
# Try it on the host: JWT_SECRET_KEY=… POSTGRES_PASSWORD=… deploy/check-secrets.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../scripts/lib/secrets.sh
source "$here/../scripts/lib/secrets.sh"

status=0
if ! reason="$(check_secret JWT_SECRET_KEY "${JWT_SECRET_KEY:-}" 32)"; then
  echo "check-secrets: refusing to start (deploy/.env): $reason" >&2
  status=1
fi
if ! reason="$(check_secret POSTGRES_PASSWORD "${POSTGRES_PASSWORD:-}")"; then
  echo "check-secrets: refusing to start (deploy/.env): $reason" >&2
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "check-secrets: JWT_SECRET_KEY and POSTGRES_PASSWORD are neither placeholders nor shipped values"
fi
exit "$status"
