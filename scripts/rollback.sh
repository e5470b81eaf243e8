#!/usr/bin/env bash
# Roll the Car API back to an artifact that was deployed before:
# point the SpinApp at IMAGE_REPO:<tag>, wait for the rollout, health check.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

usage() {
  cat <<'EOF_USAGE'
Usage: rollback.sh [--env staging|production] [--dry-run] [--help] <tag>

Points SpinApp car-api at $IMAGE_REPO:<tag> (an artifact pushed by an earlier
release, e.g. the previous commit SHA), waits until the operator's Deployment
has rolled out, then checks GET /health_check.

The database schema is NOT rolled back: releases keep migrations backward
compatible (expand, then contract), so the previous artifact runs on the
newer schema. To revert a migration too, run `migrator down <n>` first
(docs/deployment.md, "Rollback").

Options:
  --env ENV     staging (default) or production
  --dry-run     print what would run, change nothing
  -h, --help    this text

Environment:
  IMAGE_REPO    e.g. ghcr.io/acme/car-api (default: ghcr.io/$GITHUB_REPOSITORY, lowercased)
  NAMESPACE     default: car-api-staging (staging), car-api (production)
  APP_URL       public base URL for the health check (else a port-forward)
  KUBECTL       kubectl binary (default: kubectl)
  TIMEOUT       seconds to wait for the rollout (default: 600)

Find earlier tags: `git log --format=%H main` (every main commit was pushed as
$IMAGE_REPO:<sha>), or the annotation car-api.deploy/previous-image on the
SpinApp: kubectl get spinapp car-api -o jsonpath='{.metadata.annotations}'
EOF_USAGE
}

ENVIRONMENT=staging
DRY_RUN=0
TAG=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENVIRONMENT="${2:?--env needs a value}"; shift ;;
    --env=*) ENVIRONMENT="${1#*=}" ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "rollback.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    *) [[ -z "$TAG" ]] || { echo "rollback.sh: only one tag, got '$TAG' and '$1'" >&2; exit 2; }; TAG="$1" ;;
  esac
  shift
done

# shellcheck source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"
LOG_PREFIX=rollback
: "$REPO_ROOT"

[[ -n "$TAG" ]] || { usage >&2; die "the tag to roll back to is required"; }
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "'$TAG' is not a valid image tag"
case "$ENVIRONMENT" in
  staging) NAMESPACE="${NAMESPACE:-car-api-staging}" ;;
  production) NAMESPACE="${NAMESPACE:-car-api}" ;;
  *) die "--env must be staging or production, got '$ENVIRONMENT'" ;;
esac
if [[ -z "${IMAGE_REPO:-}" ]]; then
  [[ -n "${GITHUB_REPOSITORY:-}" ]] || die "set IMAGE_REPO (e.g. ghcr.io/acme/car-api) or GITHUB_REPOSITORY"
  IMAGE_REPO="ghcr.io/${GITHUB_REPOSITORY,,}"
fi
IMAGE="$IMAGE_REPO:$TAG"
TIMEOUT="${TIMEOUT:-600}"

need "$KUBECTL" "https://kubernetes.io/docs/tasks/tools/"
need curl "apt-get install curl"

K=("$KUBECTL" --namespace "$NAMESPACE")
log "rolling back $ENVIRONMENT (namespace $NAMESPACE) to $IMAGE"

current=""
if [[ $DRY_RUN -eq 0 ]]; then
  current="$("${K[@]}" get spinapp car-api -o jsonpath='{.spec.image}')" || die "SpinApp car-api not found in namespace $NAMESPACE"
  [[ "$current" != "$IMAGE" ]] || log "SpinApp already points at $IMAGE; waiting and checking anyway"
else
  echo "would run: ${K[*]} get spinapp car-api -o jsonpath={.spec.image}"
fi

log "step 1/3: point SpinApp car-api at $IMAGE"
run "${K[@]}" annotate spinapp car-api --overwrite "car-api.deploy/previous-image=${current:-<current image>}"
run "${K[@]}" patch spinapp car-api --type merge -p "{\"spec\":{\"image\":\"$IMAGE\"}}"

log "step 2/3: rollout"
wait_for_rollout "${K[@]}" car-api "$IMAGE" "$TIMEOUT"

log "step 3/3: health check"
health_check "${K[@]}" car-api

log "rolled back to $IMAGE (was ${current:-unknown})."
log "note: the next 'kubectl apply' of an overlay sets the image the overlay names; deploy.sh always sets it explicitly."
