#!/usr/bin/env bash
# Roll the Car API back to an artifact that was deployed before, pinned by
# digest: point the SpinApp at it, wait for the rollout, health check.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

usage() {
  cat <<'EOF_USAGE'
Usage: rollback.sh [--env staging|production] [--dry-run] [--help] <tag | sha256:DIGEST | --previous>

Points SpinApp car-api at an artifact pushed by an earlier release, always by
digest, waits until the operator's Deployment has rolled out, then checks
GET /health_check. The target is one of:
  <tag>            e.g. the previous commit SHA: $IMAGE_REPO:<tag>, resolved to
                   its digest now (crane or docker buildx), deployed as
                   $IMAGE_REPO:<tag>@sha256:...; a tag moved since is noticed
                   in the log (the digest is what runs)
  sha256:<digest>  $IMAGE_REPO@sha256:<digest>, exactly that artifact
  --previous       the image deploy.sh (or an earlier rollback) recorded in the
                   SpinApp's annotation car-api.deploy/previous-image

The database schema is NOT rolled back: releases keep migrations backward
compatible (expand, then contract), so the previous artifact runs on the
newer schema. To revert a migration too, run `migrator down <n>` first
(docs/deployment.md, "Rollback").

Options:
  --env ENV     staging (default) or production
  --previous    roll back to the recorded previous image
  --dry-run     print what would run, change nothing
  -h, --help    this text

Environment:
  IMAGE_REPO    e.g. ghcr.io/acme/car-api (default: ghcr.io/$GITHUB_REPOSITORY, lowercased)
  NAMESPACE     default: car-api-staging (staging), car-api (production)
  APP_URL       public base URL for the health check (else a port-forward)
  KUBECTL       kubectl binary (default: kubectl)
  TIMEOUT       seconds to wait for the rollout (default: 600)

Find earlier targets: `git log --format=%H main` (every main commit that passed CI
was pushed as $IMAGE_REPO:<sha>), or the SpinApp's annotations:
kubectl get spinapp car-api -o jsonpath='{.metadata.annotations}'
EOF_USAGE
}

ENVIRONMENT=staging
DRY_RUN=0
TARGET=""
PREVIOUS=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENVIRONMENT="${2:?--env needs a value}"; shift ;;
    --env=*) ENVIRONMENT="${1#*=}" ;;
    --previous) PREVIOUS=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "rollback.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    *) [[ -z "$TARGET" ]] || { echo "rollback.sh: only one target, got '$TARGET' and '$1'" >&2; exit 2; }; TARGET="$1" ;;
  esac
  shift
done

# shellcheck source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"
LOG_PREFIX=rollback
: "$REPO_ROOT"

if [[ $PREVIOUS -eq 1 ]]; then
  [[ -z "$TARGET" ]] || die "give either --previous or a tag/digest, not both"
else
  [[ -n "$TARGET" ]] || { usage >&2; die "the tag or digest to roll back to is required (or --previous)"; }
  [[ "$TARGET" =~ ^sha256:[0-9a-f]{64}$ || "$TARGET" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] \
    || die "'$TARGET' is neither an image tag nor sha256:<64 hex digits>"
fi
case "$ENVIRONMENT" in
  staging) NAMESPACE="${NAMESPACE:-car-api-staging}" ;;
  production) NAMESPACE="${NAMESPACE:-car-api}" ;;
  *) die "--env must be staging or production, got '$ENVIRONMENT'" ;;
esac
if [[ -z "${IMAGE_REPO:-}" ]]; then
  [[ -n "${GITHUB_REPOSITORY:-}" ]] || die "set IMAGE_REPO (e.g. ghcr.io/acme/car-api) or GITHUB_REPOSITORY"
  IMAGE_REPO="ghcr.io/${GITHUB_REPOSITORY,,}"
fi
TIMEOUT="${TIMEOUT:-600}"

need "$KUBECTL" "https://kubernetes.io/docs/tasks/tools/"
need curl "apt-get install curl"

K=("$KUBECTL" --namespace "$NAMESPACE")

current=""
if [[ $DRY_RUN -eq 0 ]]; then
  current="$("${K[@]}" get spinapp car-api -o jsonpath='{.spec.image}')" || die "SpinApp car-api not found in namespace $NAMESPACE"
else
  echo "would run: ${K[*]} get spinapp car-api -o jsonpath={.spec.image}"
fi

# ---- the target, by digest
if [[ $PREVIOUS -eq 1 ]]; then
  if [[ $DRY_RUN -eq 1 ]]; then
    echo "would run: ${K[*]} get spinapp car-api -o jsonpath={.metadata.annotations.car-api\\.deploy/previous-image}"
    IMAGE="<the recorded previous image>"
  else
    IMAGE="$("${K[@]}" get spinapp car-api -o jsonpath='{.metadata.annotations.car-api\.deploy/previous-image}')" || true
    [[ -n "$IMAGE" ]] || die "SpinApp car-api has no annotation car-api.deploy/previous-image: give a tag or digest"
    if [[ "$IMAGE" != *@sha256:* ]]; then
      # Recorded before deploys were pinned: pin it now.
      DIGEST=""
      pin_digest DIGEST "$IMAGE"
      IMAGE="$IMAGE@$DIGEST"
    fi
  fi
elif [[ "$TARGET" == sha256:* ]]; then
  IMAGE="$IMAGE_REPO@$TARGET"
else
  DIGEST=""
  pin_digest DIGEST "$IMAGE_REPO:$TARGET"
  IMAGE="$IMAGE_REPO:$TARGET@$DIGEST"
fi

log "rolling back $ENVIRONMENT (namespace $NAMESPACE) to $IMAGE"
[[ "$current" != "$IMAGE" ]] || log "SpinApp already points at $IMAGE; waiting and checking anyway"

log "step 1/3: point SpinApp car-api at $IMAGE"
run "${K[@]}" annotate spinapp car-api --overwrite "car-api.deploy/previous-image=${current:-<current image>}"
run "${K[@]}" patch spinapp car-api --type merge -p "{\"spec\":{\"image\":\"$IMAGE\"}}"

log "step 2/3: rollout"
wait_for_rollout "${K[@]}" car-api "$IMAGE" "$TIMEOUT"

log "step 3/3: health check"
health_check "${K[@]}" car-api

log "rolled back to $IMAGE (was ${current:-unknown})."
log "note: the next 'kubectl apply' of an overlay sets the image the overlay names; deploy.sh always pins it explicitly."
