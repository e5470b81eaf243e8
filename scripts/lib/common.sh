# Helpers shared by deploy.sh and rollback.sh (sourced, not executed).
# The caller sets DRY_RUN (0/1), REPO_ROOT and LOG_PREFIX.
# shellcheck shell=bash

KUBECTL="${KUBECTL:-kubectl}"

log() { printf '[%s] %s\n' "${LOG_PREFIX:-ops}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${LOG_PREFIX:-ops}" "$*" >&2; exit 1; }

# need TOOL HINT: a missing tool is an error, or a warning under --dry-run.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    log "warning: $1 is not installed ($2); a real run would stop here"
  else
    die "$1 is not installed ($2)"
  fi
}

# run CMD ARGS...: run it, or print it under --dry-run.
run() {
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would run: $*"
  else
    "$@"
  fi
}

# run_sh 'a | b': a shell pipeline, or print it under --dry-run.
run_sh() {
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would run: $1"
  else
    bash -c "$1"
  fi
}

# render_overlay OVERLAY_DIR NAME: writes a kustomization under .deploy/NAME that
# takes OVERLAY_DIR, sets its namespace ($NAMESPACE, for components too), adds
# the components named in the array RENDER_COMPONENTS (k8s/components/<name>),
# and pins both images to $IMAGE_REPO[/migrator]:$TAG@<digest> ($APP_DIGEST,
# $MIGRATOR_DIGEST). Sets RENDER_DIR.
render_overlay() {
  local overlay="$1" name="$2" base rel c
  RENDER_DIR="$REPO_ROOT/.deploy/$name"
  relpath() { realpath -m --relative-to="$RENDER_DIR" "$1" 2>/dev/null || python3 -c 'import os,sys;print(os.path.relpath(sys.argv[1],sys.argv[2]))' "$1" "$RENDER_DIR"; }
  rel="$(relpath "$overlay")"
  local body line
  body="apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $NAMESPACE
resources:
  - $rel"
  if [[ ${#RENDER_COMPONENTS[@]} -gt 0 ]]; then
    body+=$'\ncomponents:'
    for c in "${RENDER_COMPONENTS[@]}"; do
      base="$REPO_ROOT/k8s/components/$c"
      [[ -f "$base/kustomization.yaml" ]] || die "no component at $base"
      body+=$'\n'"  - $(relpath "$base")"
    done
  fi
  body+="
images:
  - name: ghcr.io/your-org/car-api
    newName: $IMAGE_REPO
    newTag: \"$TAG\"
    digest: $APP_DIGEST
  - name: ghcr.io/your-org/car-api-migrator
    newName: $IMAGE_REPO/migrator
    newTag: \"$TAG\"
    digest: $MIGRATOR_DIGEST"
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would write: $RENDER_DIR/kustomization.yaml"
    while IFS= read -r line; do echo "  | $line"; done <<<"$body"
  else
    mkdir -p "$RENDER_DIR"
    printf '%s\n' "$body" >"$RENDER_DIR/kustomization.yaml"
  fi
}

# resolve_digest REF: prints the digest (sha256:...) the registry holds for REF,
# with crane, or docker buildx imagetools. Exit 2 when neither is installed.
resolve_digest() {
  local ref="$1" out digest=""
  if command -v crane >/dev/null 2>&1; then
    digest="$(crane digest "$ref")" || return 1
  elif command -v docker >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    out="$(docker buildx imagetools inspect "$ref")" || return 1
    digest="$(awk '/^Digest:/ { print $2; exit }' <<<"$out")"
  else
    return 2
  fi
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { log "unexpected digest '$digest' for $ref"; return 1; }
  echo "$digest"
}

# pin_digest VAR REF: VAR (a digest given by the caller, e.g. from CI) is checked;
# when empty it is resolved from the registry. Under --dry-run a placeholder.
pin_digest() {
  local var="$1" ref="$2" value rc=0
  value="${!var:-}"
  if [[ -z "$value" ]]; then
    if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
      echo "would resolve: the digest of $ref (crane digest, or docker buildx imagetools inspect)"
      value="sha256:DIGEST-OF-${ref//[^A-Za-z0-9]/-}"
    else
      value="$(resolve_digest "$ref")" || rc=$?
      [[ $rc -ne 2 ]] || die "cannot pin $ref to a digest: install crane or docker buildx, or set $var (sha256:...)"
      [[ $rc -eq 0 ]] || die "$ref is not in the registry (or not readable: docker login / crane auth login)"
    fi
  elif [[ ! "$value" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    die "$var must be sha256:<64 hex digits>, got '$value'"
  fi
  printf -v "$var" '%s' "$value"
  log "pinned $ref@$value"
}

# wait_for_executor KUBECTL... NAME: until the SpinAppExecutor is readable (the
# operator's webhook looks it up before it admits the SpinApp).
wait_for_executor() {
  local name="${*: -1}"
  local -a k=("${@:1:$#-1}")
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would wait: ${k[*]} get spinappexecutor $name until it exists (timeout 60s)"
    return 0
  fi
  local deadline=$((SECONDS + 60))
  until "${k[@]}" get spinappexecutor "$name" -o name >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "SpinAppExecutor $name did not appear (are SpinKube's CRDs installed?)"
    sleep 2
  done
}

# apply_retrying KUBECTL... -- ARGS...: kubectl ARGS, tried again (up to 5 times, 5 s
# apart) while the operator's webhook has not seen the new executor yet.
apply_retrying() {
  local -a k=() args=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do k+=("$1"); shift; done
  shift
  args=("$@")
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would run: ${k[*]} ${args[*]} (retried while the webhook reports the executor missing)"
    return 0
  fi
  local attempt out rc
  for attempt in 1 2 3 4 5; do
    rc=0
    out="$("${k[@]}" "${args[@]}" 2>&1)" || rc=$?
    printf '%s\n' "$out" >&2
    [[ $rc -eq 0 ]] && return 0
    grep -q "executor does not exist" <<<"$out" || return $rc
    log "the webhook has not seen the executor yet (attempt $attempt); retrying in 5 s"
    sleep 5
  done
  return $rc
}

# wait_for_job KUBECTL... JOB TIMEOUT: until the Job succeeds; fails (with logs) on failure.
wait_for_job() {
  local timeout="${*: -1}" job="${*: -2:1}"
  local -a k=("${@:1:$#-2}")
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would wait: ${k[*]} get job $job until .status.succeeded=1 (fail on .status.failed, timeout ${timeout}s)"
    return 0
  fi
  local deadline=$((SECONDS + timeout)) succeeded failed
  while (( SECONDS < deadline )); do
    succeeded="$("${k[@]}" get job "$job" -o jsonpath='{.status.succeeded}' 2>/dev/null || true)"
    failed="$("${k[@]}" get job "$job" -o jsonpath='{.status.failed}' 2>/dev/null || true)"
    if [[ "${succeeded:-0}" -ge 1 ]]; then
      log "job $job completed"
      "${k[@]}" logs "job/$job" --all-containers=true --tail=50 >&2 || true
      return 0
    fi
    if [[ "${failed:-0}" -ge 1 ]] && [[ -n "$("${k[@]}" get job "$job" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}' 2>/dev/null)" ]]; then
      "${k[@]}" logs "job/$job" --all-containers=true --tail=100 >&2 || true
      die "job $job failed: the rollout is stopped, the running version is untouched"
    fi
    sleep 5
  done
  "${k[@]}" logs "job/$job" --all-containers=true --tail=100 >&2 || true
  die "job $job did not finish within ${timeout}s"
}

# wait_for_rollout KUBECTL... DEPLOYMENT IMAGE TIMEOUT: until the operator's
# Deployment carries IMAGE and its rollout has finished.
wait_for_rollout() {
  local timeout="${*: -1}" image="${*: -2:1}" deploy="${*: -3:1}"
  local -a k=("${@:1:$#-3}")
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would wait: ${k[*]} get deployment $deploy until its image is $image (timeout ${timeout}s)"
    echo "would run: ${k[*]} rollout status deployment/$deploy --timeout=${timeout}s"
    return 0
  fi
  local deadline=$((SECONDS + timeout)) current=""
  while (( SECONDS < deadline )); do
    current="$("${k[@]}" get deployment "$deploy" -o jsonpath='{.spec.template.spec.containers[0].image}' 2>/dev/null || true)"
    [[ "$current" == "$image" ]] && break
    sleep 3
  done
  [[ "$current" == "$image" ]] || die "deployment $deploy still runs '$current', not $image, after ${timeout}s (is the SpinKube operator running?)"
  "${k[@]}" rollout status "deployment/$deploy" --timeout="${timeout}s"
}

# health_check KUBECTL... SERVICE: GET /health_check through APP_URL, or
# through a port-forward to the operator's Service (port 80).
health_check() {
  local svc="${*: -1}"
  local -a k=("${@:1:$#-1}")
  local url pf_pid=""
  if [[ -n "${APP_URL:-}" ]]; then
    url="${APP_URL%/}/health_check"
  else
    url="http://127.0.0.1:${HEALTH_LOCAL_PORT:-18080}/health_check"
    if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
      echo "would run: ${k[*]} port-forward service/$svc ${HEALTH_LOCAL_PORT:-18080}:80 (in the background)"
    else
      "${k[@]}" port-forward "service/$svc" "${HEALTH_LOCAL_PORT:-18080}:80" >/dev/null 2>&1 &
      pf_pid=$!
      sleep 3
    fi
  fi
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would run: curl -fsS --retry 10 --retry-delay 3 --retry-all-errors $url"
    return 0
  fi
  local rc=0
  curl -fsS --retry 10 --retry-delay 3 --retry-all-errors --max-time 10 "$url" >&2 || rc=$?
  echo >&2
  [[ -n "$pf_pid" ]] && kill "$pf_pid" 2>/dev/null || true
  [[ $rc -eq 0 ]] || die "health check of $url failed (curl exit $rc)"
  log "health check ok: $url"
}
