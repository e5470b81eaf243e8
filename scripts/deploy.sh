#!/usr/bin/env bash
# Deploy the Car API to a SpinKube cluster:
#   push (spin registry push + migrator image) -> pin (digests) -> secrets ->
#   executor (alone, first) -> migrate (Job) -> apply (the overlay with the
#   pinned images) -> wait (rollout) -> health check.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: deploy.sh [--env staging|production] [--tag TAG] [--skip-push] [--dry-run] [--help]

Steps:
  1. push     spin build; spin registry push $IMAGE_REPO:$TAG;
              docker build/push of the migrator image $IMAGE_REPO/migrator:$TAG
              (skipped with --skip-push, e.g. when CI pushed already)
  2. pin      the digests of both images (APP_DIGEST / MIGRATOR_DIGEST, else
              asked from the registry): the cluster runs exactly what was
              pushed, as $IMAGE_REPO:$TAG@sha256:..., even if the tag moves
  3. secrets  when DATABASE_URL and JWT_SECRET_KEY are set, create or update
              Secret car-api-secrets from them; otherwise it must exist, and its
              values are checked like those from the environment. When
              REGISTRY_USERNAME and REGISTRY_PASSWORD are set, Secret
              car-api-registry too, and k8s/components/private-registry is added.
              The values go to kubectl as --from-file files (mode 600, in a
              private temporary folder removed on exit), never on a command line
  4. executor apply the SpinAppExecutor alone and wait for it: spin-operator's
              webhook refuses a SpinApp whose executor does not exist yet
  5. migrate  delete the previous migration Job, apply the new one alone, wait
              until it completes (migrator up, then status); stop on failure
  6. apply    kubectl apply -k of k8s/overlays/$ENV with the pinned images
  7. wait     until the operator's Deployment runs the new image and
              kubectl rollout status succeeds
  8. check    GET /health_check answers 200 (APP_URL, or a port-forward)

Before step 1, secrets are refused (nothing runs): a JWT_SECRET_KEY shorter than
32 bytes, and a JWT_SECRET_KEY, DATABASE_URL, MIGRATE_DATABASE_URL or
REGISTRY_PASSWORD that contains CHANGE_ME (any case) or equals a value shipped in
the repository (scripts/lib/placeholder-secrets.txt).

Options:
  --env ENV     staging (default) or production: k8s/overlays/ENV
  --tag TAG     artifact tag (default: git rev-parse HEAD)
  --skip-push   do not build or push; the images must exist
  --dry-run     print what would run, change nothing
  -h, --help    this text

Environment:
  IMAGE_REPO            e.g. ghcr.io/acme/car-api (default: ghcr.io/$GITHUB_REPOSITORY, lowercased)
  APP_DIGEST            optional: sha256:... of $IMAGE_REPO:$TAG (default: asked with crane or docker buildx)
  MIGRATOR_DIGEST       optional: sha256:... of $IMAGE_REPO/migrator:$TAG (same)
  NAMESPACE             default: car-api-staging (staging), car-api (production)
  APP_URL               public base URL for the health check, e.g. https://api.example.com
  DATABASE_URL          optional: app database URL, written to the Secret
  MIGRATE_DATABASE_URL  optional: direct URL for migrations/backups (default: DATABASE_URL)
  JWT_SECRET_KEY        optional: written to the Secret (32+ random bytes: openssl rand -base64 48)
  REGISTRY_USERNAME     optional, with REGISTRY_PASSWORD: pull credentials for a
  REGISTRY_PASSWORD     private registry (a token that may read the packages)
  KUBECTL               kubectl binary (default: kubectl)
  TIMEOUT               seconds to wait for the migration and the rollout (default: 600)
EOF
}

ENVIRONMENT=staging
TAG=""
SKIP_PUSH=0
DRY_RUN=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) ENVIRONMENT="${2:?--env needs a value}"; shift ;;
    --env=*) ENVIRONMENT="${1#*=}" ;;
    --tag) TAG="${2:?--tag needs a value}"; shift ;;
    --tag=*) TAG="${1#*=}" ;;
    --skip-push) SKIP_PUSH=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "deploy.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"
# shellcheck source=lib/secrets.sh
source "$SCRIPT_DIR/lib/secrets.sh"
LOG_PREFIX=deploy

case "$ENVIRONMENT" in
  staging) NAMESPACE="${NAMESPACE:-car-api-staging}" ;;
  production) NAMESPACE="${NAMESPACE:-car-api}" ;;
  *) die "--env must be staging or production, got '$ENVIRONMENT'" ;;
esac
OVERLAY="$REPO_ROOT/k8s/overlays/$ENVIRONMENT"
[[ -f "$OVERLAY/kustomization.yaml" ]] || die "no overlay at $OVERLAY"

if [[ -z "$TAG" ]]; then
  TAG="$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null)" || die "--tag not given and no git commit to default to"
fi
if [[ -z "${IMAGE_REPO:-}" ]]; then
  [[ -n "${GITHUB_REPOSITORY:-}" ]] || die "set IMAGE_REPO (e.g. ghcr.io/acme/car-api) or GITHUB_REPOSITORY"
  IMAGE_REPO="ghcr.io/${GITHUB_REPOSITORY,,}"
fi
APP_IMAGE="$IMAGE_REPO:$TAG"
MIGRATOR_IMAGE="$IMAGE_REPO/migrator:$TAG"
APP_DIGEST="${APP_DIGEST:-}"
MIGRATOR_DIGEST="${MIGRATOR_DIGEST:-}"
TIMEOUT="${TIMEOUT:-600}"
EXECUTOR=containerd-shim-spin

# ---- secrets: placeholders and shipped values refused before anything runs -------
# refuse_secret NAME VALUE [MIN_BYTES]: dies when check_secret (lib/secrets.sh) refuses.
refuse_secret() {
  local reason
  reason="$(check_secret "$@")" || die "$reason"
}
[[ -z "${JWT_SECRET_KEY:-}" ]] || refuse_secret JWT_SECRET_KEY "$JWT_SECRET_KEY" 32
for var in DATABASE_URL MIGRATE_DATABASE_URL REGISTRY_PASSWORD; do
  [[ -z "${!var:-}" ]] || refuse_secret "$var" "${!var}"
done

# Secret values reach kubectl as files (--from-file), never as arguments: a
# private folder (mode 700, files 600), removed on exit.
SECRET_TMP=""
remove_secret_files() { [[ -z "$SECRET_TMP" ]] || rm -rf "$SECRET_TMP"; SECRET_TMP=""; }
trap remove_secret_files EXIT
# secret_file NAME VALUE: writes VALUE (printf is a builtin: on no command line)
# to $SECRET_TMP/NAME, mode 600.
secret_file() {
  [[ -n "$SECRET_TMP" ]] || SECRET_TMP="$(umask 077 && mktemp -d)"
  (umask 077 && printf '%s' "$2" >"$SECRET_TMP/$1")
}

need "$KUBECTL" "https://kubernetes.io/docs/tasks/tools/"
need curl "apt-get install curl"
if [[ $SKIP_PUSH -eq 0 ]]; then
  need spin "https://spinframework.dev/install (or fermyon/actions/spin/setup in CI)"
  need docker "Docker with buildx, to build the migrator image"
fi

log "deploying $APP_IMAGE to $ENVIRONMENT (namespace $NAMESPACE)"

# ---- 1. push ----------------------------------------------------------------
if [[ $SKIP_PUSH -eq 0 ]]; then
  log "step 1/8: build and push"
  run_sh "cd '$REPO_ROOT' && spin build"
  run spin registry push --from "$REPO_ROOT/spin.toml" "$APP_IMAGE"
  run docker build -f "$REPO_ROOT/migrator/Dockerfile" -t "$MIGRATOR_IMAGE" "$REPO_ROOT"
  run docker push "$MIGRATOR_IMAGE"
else
  log "step 1/8: push skipped (--skip-push); expecting $APP_IMAGE and $MIGRATOR_IMAGE to exist"
fi

# ---- 2. pin -----------------------------------------------------------------
log "step 2/8: pin both images by digest"
pin_digest APP_DIGEST "$APP_IMAGE"
pin_digest MIGRATOR_DIGEST "$MIGRATOR_IMAGE"
APP_REF="$APP_IMAGE@$APP_DIGEST"

# ---- 3. secrets ---------------------------------------------------------------
K=("$KUBECTL" --namespace "$NAMESPACE")
RENDER_COMPONENTS=()
run_sh "$KUBECTL create namespace $NAMESPACE --dry-run=client -o yaml | $KUBECTL apply -f -"
if [[ -n "${DATABASE_URL:-}" && -n "${JWT_SECRET_KEY:-}" ]]; then
  log "step 3/8: Secret car-api-secrets from DATABASE_URL, MIGRATE_DATABASE_URL, JWT_SECRET_KEY"
  from_files="--from-file=database_url=<file> --from-file=migrate_database_url=<file> --from-file=jwt_secret_key=<file>"
  if [[ $DRY_RUN -eq 1 ]]; then
    echo "would run: ${K[*]} create secret generic car-api-secrets $from_files --dry-run=client -o yaml | ${K[*]} apply -f -  (each <file> mode 600 in a private temporary folder)"
  else
    secret_file database_url "$DATABASE_URL"
    secret_file migrate_database_url "${MIGRATE_DATABASE_URL:-$DATABASE_URL}"
    secret_file jwt_secret_key "$JWT_SECRET_KEY"
    "${K[@]}" create secret generic car-api-secrets \
      --from-file=database_url="$SECRET_TMP/database_url" \
      --from-file=migrate_database_url="$SECRET_TMP/migrate_database_url" \
      --from-file=jwt_secret_key="$SECRET_TMP/jwt_secret_key" \
      --dry-run=client -o yaml | "${K[@]}" apply -f -
    remove_secret_files
  fi
else
  log "step 3/8: using the existing Secret car-api-secrets (DATABASE_URL/JWT_SECRET_KEY not set); checking its values"
  if [[ $DRY_RUN -eq 1 ]]; then
    echo "would run: ${K[*]} get secret car-api-secrets -o jsonpath={.data.KEY} for KEY jwt_secret_key, database_url, migrate_database_url, and refuse a CHANGE_ME or shipped value (or a jwt_secret_key under 32 bytes)"
  else
    # existing_value KEY: the Secret's value, decoded (through a pipe, not argv).
    existing_value() {
      local b64
      b64="$("${K[@]}" get secret car-api-secrets -o "jsonpath={.data.$1}")" \
        || die "Secret car-api-secrets is not readable in namespace $NAMESPACE: set DATABASE_URL and JWT_SECRET_KEY, or create it (docs/deployment.md §1.2)"
      base64 -d <<<"$b64"
    }
    for key in jwt_secret_key database_url migrate_database_url; do
      value="$(existing_value "$key")"
      if [[ $key == jwt_secret_key ]]; then
        refuse_secret "$key of Secret car-api-secrets" "$value" 32
      else
        refuse_secret "$key of Secret car-api-secrets" "$value"
      fi
    done
    unset value
  fi
fi
if [[ -n "${REGISTRY_USERNAME:-}" && -n "${REGISTRY_PASSWORD:-}" ]]; then
  registry="${IMAGE_REPO%%/*}"
  log "step 3/8: Secret car-api-registry (pull credentials for $registry), component private-registry"
  # A docker-registry Secret, made from a .dockerconfigjson file: kubectl create
  # secret docker-registry would need the password as an argument.
  if [[ $DRY_RUN -eq 1 ]]; then
    echo "would run: ${K[*]} create secret generic car-api-registry --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=<file> --dry-run=client -o yaml | ${K[*]} apply -f -  (<file>: {\"auths\":{\"$registry\":{\"auth\":base64($REGISTRY_USERNAME:***)}}}, mode 600 in a private temporary folder)"
  else
    auth="$(printf '%s:%s' "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" | base64 | tr -d '\n')"
    secret_file .dockerconfigjson "$(printf '{"auths":{"%s":{"auth":"%s"}}}' "$registry" "$auth")"
    unset auth
    "${K[@]}" create secret generic car-api-registry --type=kubernetes.io/dockerconfigjson \
      --from-file=.dockerconfigjson="$SECRET_TMP/.dockerconfigjson" \
      --dry-run=client -o yaml | "${K[@]}" apply -f -
    remove_secret_files
  fi
  RENDER_COMPONENTS+=(private-registry)
fi

# ---- render: the environment's overlay, pinned images, in $NAMESPACE -----------
render_overlay "$OVERLAY" "$ENVIRONMENT-$TAG"

# ---- 4. executor --------------------------------------------------------------
log "step 4/8: SpinAppExecutor $EXECUTOR first (the webhook checks every SpinApp against it)"
run "${K[@]}" apply -k "$RENDER_DIR" -l app.kubernetes.io/component=executor
wait_for_executor "${K[@]}" "$EXECUTOR"

# ---- 5. migrate ----------------------------------------------------------------
log "step 5/8: migration Job"
run "${K[@]}" delete job car-api-migrate --ignore-not-found --wait=true
run "${K[@]}" apply -k "$RENDER_DIR" -l app.kubernetes.io/component=migrate
wait_for_job "${K[@]}" car-api-migrate "$TIMEOUT"

# ---- 6. apply ------------------------------------------------------------------
log "step 6/8: apply $OVERLAY with $APP_REF"
previous=""
if [[ $DRY_RUN -eq 0 ]]; then
  previous="$("${K[@]}" get spinapp car-api -o jsonpath='{.spec.image}' 2>/dev/null || true)"
fi
apply_retrying "${K[@]}" -- apply -k "$RENDER_DIR" -l 'app.kubernetes.io/component!=migrate'
if [[ -n "$previous" && "$previous" != "$APP_REF" ]]; then
  # What rollback.sh --previous goes back to.
  run "${K[@]}" annotate spinapp car-api --overwrite "car-api.deploy/previous-image=$previous"
fi

# ---- 7. wait -------------------------------------------------------------------
log "step 7/8: rollout"
wait_for_rollout "${K[@]}" car-api "$APP_REF" "$TIMEOUT"

# ---- 8. health check -----------------------------------------------------------
log "step 8/8: health check"
health_check "${K[@]}" car-api

log "deployed $APP_REF to $ENVIRONMENT"
