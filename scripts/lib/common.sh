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

# render_overlay OVERLAY_DIR NAME IMAGE_REPO TAG: writes a kustomization under
# .deploy/NAME that takes OVERLAY_DIR and sets both images to TAG. Sets RENDER_DIR.
render_overlay() {
  local overlay="$1" name="$2" repo="$3" tag="$4" rel
  RENDER_DIR="$REPO_ROOT/.deploy/$name"
  rel="$(realpath --relative-to="$RENDER_DIR" "$overlay" 2>/dev/null || python3 -c 'import os,sys;print(os.path.relpath(sys.argv[1],sys.argv[2]))' "$overlay" "$RENDER_DIR")"
  local body line
  body="$(cat <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $rel
images:
  - name: ghcr.io/your-org/car-api
    newName: $repo
    newTag: "$tag"
  - name: ghcr.io/your-org/car-api-migrator
    newName: $repo/migrator
    newTag: "$tag"
YAML
)"
  if [[ "${DRY_RUN:-0}" -eq 1 ]]; then
    echo "would write: $RENDER_DIR/kustomization.yaml"
    while IFS= read -r line; do echo "  | $line"; done <<<"$body"
  else
    mkdir -p "$RENDER_DIR"
    printf '%s\n' "$body" >"$RENDER_DIR/kustomization.yaml"
  fi
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
