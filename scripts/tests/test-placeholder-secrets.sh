#!/usr/bin/env bash
# Placeholder secrets are refused, everywhere a deployment starts:
#   - the list: every example JWT secret shipped in deploy/, k8s/, docs/,
#     README.md and the e2e tests is in scripts/lib/placeholder-secrets.txt;
#   - deploy.sh (--dry-run): a JWT_SECRET_KEY containing CHANGE_ME (any case),
#     equal to a listed value, or shorter than 32 bytes is refused before step 1,
#     and so is a CHANGE_ME database URL or registry password; a random one is
#     accepted. Run for real with a stand-in kubectl: an existing Secret
#     car-api-secrets holding a placeholder stops the deployment before step 4;
#   - compose: deploy/check-secrets.sh refuses and accepts the same values, and
#     the service check-secrets, run from `docker-compose config` as its container
#     would (compose_check_secrets.py), gates postgres, migrate and app.
# Run: scripts/tests/test-placeholder-secrets.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
S="$REPO_ROOT/scripts"
PYTHON="${PYTHON:-python3}"
LIST="$REPO_ROOT/scripts/lib/placeholder-secrets.txt"

WORK="$(mktemp -d)"
TAG="test-placeholder-$$"
trap 'rm -rf "$WORK" "$REPO_ROOT/.deploy/staging-$TAG"' EXIT

GOOD="$(random_secret 48)"
SHORT="$(random_secret 48 | head -c 31)"
listed=()
while IFS= read -r line || [[ -n "$line" ]]; do
  [[ -z "$line" || "$line" == \#* ]] || listed+=("$line")
done <"$LIST"

echo "== the list holds every example JWT secret shipped in the repository"
examples=()
v="$(sed -n 's/^JWT_SECRET_KEY=//p' "$REPO_ROOT/deploy/.env.example")"
[[ -n "$v" ]] && examples+=("deploy/.env.example:$v")
v="$("$PYTHON" -c 'import sys,yaml; print(next(d for d in yaml.safe_load_all(open(sys.argv[1])) if d)["stringData"]["jwt_secret_key"])' "$REPO_ROOT/k8s/secret.template.yaml")"
[[ -n "$v" ]] && examples+=("k8s/secret.template.yaml:$v")
# Literal values (not $(...) or "$VAR") after JWT_SECRET_KEY= or jwt_secret_key: / =.
while IFS= read -r hit; do
  examples+=("$hit")
done < <(cd "$REPO_ROOT" && grep -oE "(JWT_SECRET_KEY|jwt_secret_key)(=|: ?)['\"]?[A-Za-z0-9_.+/=-]{8,}" \
  docs/*.md README.md deploy/* k8s/*.yaml 2>/dev/null \
  | sed -E "s/^([^:]+):.*(JWT_SECRET_KEY|jwt_secret_key)(=|: ?)['\"]?/\\1:/" || true)
v="$(sed -nE 's/.*JWT_SECRET: &str = "([^"]+)".*/\1/p' "$REPO_ROOT/tests/e2e/src/lib.rs" 2>/dev/null || true)"
[[ -n "$v" ]] && examples+=("tests/e2e/src/lib.rs:$v")
if [[ ${#examples[@]} -ge 3 ]]; then pass "found ${#examples[@]} example values"; else fail "found only ${#examples[@]} example values: is the extraction broken?"; fi
declare -A seen=()
for e in "${examples[@]}"; do
  [[ -z "${seen[$e]:-}" ]] || continue
  seen[$e]=1
  found=0
  for l in "${listed[@]}"; do [[ "$l" == "${e#*:}" ]] && found=1; done
  if [[ $found -eq 1 ]]; then pass "listed: ${e%%:*}'s ${e#*:}"; else fail "${e%%:*}'s example ${e#*:} is not in scripts/lib/placeholder-secrets.txt"; fi
done

# Refused values: (label, value, expected message).
refused=()
for l in "${listed[@]}"; do refused+=("shipped value $l|$l"); done
refused+=("CHANGE_ME in lower case, 32+ bytes|please-change_me-$(random_secret 24)")
refused+=("CHANGE_ME in mixed case|$(random_secret 24)Change_Me$(random_secret 12)")
refused+=("31 random bytes|$SHORT")

echo "== deploy.sh --dry-run"
export IMAGE_REPO=ghcr.io/acme/car-api
unset GITHUB_REPOSITORY
# deploy_dry JWT [VAR=VALUE...]: deploy.sh --dry-run with DATABASE_URL set; output, then "rc=N".
deploy_dry() {
  local jwt="$1" rc=0 out
  shift
  out="$(env DATABASE_URL='postgres://car_api:a-real-password@db:5432/car_api' JWT_SECRET_KEY="$jwt" "$@" \
    "$S/deploy.sh" --dry-run --skip-push --tag 1 2>&1)" || rc=$?
  printf '%s\nrc=%s\n' "$out" "$rc"
}
for r in "${refused[@]}"; do
  label="${r%%|*}" value="${r#*|}"
  out="$(deploy_dry "$value")"
  if grep -qx 'rc=0' <<<"$out"; then
    fail "deploy.sh accepted JWT_SECRET_KEY = $label"
  else
    pass "deploy.sh refuses JWT_SECRET_KEY = $label ($(grep -m1 ERROR <<<"$out" | cut -c1-120))"
  fi
  assert_not_contains "  ... before step 1" "$out" "step 1/8"
done
out="$(deploy_dry "$SHORT")"
assert_contains "the short secret's message" "$out" "JWT_SECRET_KEY must be at least 32 bytes"
for l in "${listed[@]}"; do
  [[ "${l^^}" == *CHANGE_ME* ]] && continue
  out="$(deploy_dry "$l")"
  assert_contains "the message for a shipped value without CHANGE_ME ($l)" "$out" "shipped in the repository"
done
out="$(deploy_dry "$GOOD")"
assert_contains "deploy.sh accepts a random 48-byte JWT_SECRET_KEY" "$out" "rc=0"
assert_contains "  ... and would create the Secret from files" "$out" "create secret generic car-api-secrets --from-file=database_url="
out="$(deploy_dry "$GOOD" DATABASE_URL='postgres://CHANGE_ME_USER:CHANGE_ME_PASSWORD@CHANGE_ME_HOST:5432/CHANGE_ME_DB?sslmode=require')"
assert_contains "deploy.sh refuses the template's database_url" "$out" "DATABASE_URL is a placeholder"
out="$(deploy_dry "$GOOD" MIGRATE_DATABASE_URL='postgres://u:change_me@db/car')"
assert_contains "deploy.sh refuses a CHANGE_ME MIGRATE_DATABASE_URL" "$out" "MIGRATE_DATABASE_URL is a placeholder"
out="$(deploy_dry "$GOOD" REGISTRY_USERNAME=bot REGISTRY_PASSWORD=CHANGE_ME)"
assert_contains "deploy.sh refuses a CHANGE_ME REGISTRY_PASSWORD" "$out" "REGISTRY_PASSWORD is a placeholder"
for r in "${refused[@]}"; do
  assert_not_contains "no secret value printed (${r%%|*})" "$(deploy_dry "${r#*|}")" "${r#*|}"
done

echo "== deploy.sh with a stand-in kubectl: the existing Secret is checked too"
K="$WORK/kubectl"
fake_kubectl "$K"
b64() { printf '%s' "$1" | base64 | tr -d '\n'; }
DA="sha256:$(printf 'a%.0s' {1..64})"
# deploy_existing JWT DB_URL: deploy.sh (no secrets in the environment) against a
# Secret holding these; output, then "rc=N".
deploy_existing() {
  local rc=0 out
  : >"$K/calls"
  out="$(env -u JWT_SECRET_KEY -u DATABASE_URL -u MIGRATE_DATABASE_URL KUBECTL="$K/bin/kubectl" APP_DIGEST="$DA" MIGRATOR_DIGEST="$DA" \
    FAKE_SECRET_jwt_secret_key="$(b64 "$1")" FAKE_SECRET_database_url="$(b64 "$2")" FAKE_SECRET_migrate_database_url="$(b64 "$2")" \
    "$S/deploy.sh" --skip-push --tag "$TAG" 2>&1)" || rc=$?
  printf '%s\nrc=%s\n' "$out" "$rc"
}
db='postgres://car_api:a-real-password@db:5432/car_api'
for r in "${refused[@]}"; do
  out="$(deploy_existing "${r#*|}" "$db")"
  if grep -q "apply -k" "$K/calls"; then
    fail "deploy.sh went on with a Secret whose jwt_secret_key is a ${r%%|*}"
  else
    pass "deploy.sh stops on a Secret whose jwt_secret_key is a ${r%%|*} ($(grep -m1 ERROR <<<"$out" | cut -c1-110))"
  fi
done
out="$(deploy_existing "$GOOD" 'postgres://CHANGE_ME_USER:CHANGE_ME_PASSWORD@CHANGE_ME_HOST:5432/CHANGE_ME_DB')"
assert_contains "deploy.sh stops on a Secret with the template's database_url" "$out" "database_url of Secret car-api-secrets is a placeholder"
out="$(deploy_existing "$GOOD" "$db")"
assert_contains "deploy.sh goes on with a good Secret (to the stand-in's stop at step 4)" "$out" "rc=42"
out="$(FAKE_NO_SECRET=1 deploy_existing "$GOOD" "$db")"
assert_contains "deploy.sh stops when there is no Secret" "$out" "Secret car-api-secrets is not readable"

echo "== deploy/check-secrets.sh"
# check JWT [POSTGRES_PASSWORD]: the script's status.
check() { local rc=0; env -i PATH="$PATH" JWT_SECRET_KEY="$1" POSTGRES_PASSWORD="${2:-pg-$GOOD}" bash "$REPO_ROOT/deploy/check-secrets.sh" >/dev/null 2>&1 || rc=$?; echo "$rc"; }
for r in "${refused[@]}"; do
  assert_eq "check-secrets.sh refuses JWT_SECRET_KEY = ${r%%|*}" 1 "$(check "${r#*|}")"
done
assert_eq "check-secrets.sh accepts a random 48-byte JWT_SECRET_KEY" 0 "$(check "$GOOD")"
assert_eq "check-secrets.sh refuses the example POSTGRES_PASSWORD" 1 \
  "$(check "$GOOD" "$(sed -n 's/^POSTGRES_PASSWORD=//p' "$REPO_ROOT/deploy/.env.example")")"

echo "== compose: the service check-secrets, as its container runs it"
if command -v docker-compose >/dev/null 2>&1; then COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
else
  [[ $FAILURES -eq 0 ]] || finish
  skip "neither docker-compose nor docker compose is installed (apt-get install docker-compose): the compose half did not run"
fi
# compose_check ENV_FILE: runs the resolved service check-secrets; its output, then "rc=N".
n=0
compose_check() {
  local rc=0 out
  n=$((n + 1))
  out="$("${COMPOSE[@]}" -f "$REPO_ROOT/deploy/compose.yaml" --env-file "$1" config 2>&1 \
    | "$PYTHON" "$REPO_ROOT/scripts/tests/compose_check_secrets.py" "$WORK/root$n" 2>&1)" || rc=$?
  printf '%s\nrc=%s\n' "$out" "$rc"
}
# env_file JWT [POSTGRES_PASSWORD]: deploy/.env.example with these values; prints its path.
env_file() {
  local f="$WORK/env.$RANDOM$RANDOM"
  sed -e '/^JWT_SECRET_KEY=/d' -e '/^POSTGRES_PASSWORD=/d' "$REPO_ROOT/deploy/.env.example" >"$f"
  printf 'JWT_SECRET_KEY=%s\nPOSTGRES_PASSWORD=%s\n' "$1" "${2:-pg-$GOOD}" >>"$f"
  echo "$f"
}
out="$(compose_check "$REPO_ROOT/deploy/.env.example")"
indent "  compose> " <<<"$out"
assert_contains "compose with deploy/.env.example as it ships: refused" "$out" "rc=1"
assert_contains "  ... for its JWT_SECRET_KEY" "$out" "JWT_SECRET_KEY is a placeholder"
assert_contains "  ... and its POSTGRES_PASSWORD" "$out" "POSTGRES_PASSWORD is a placeholder"
for r in "${refused[@]}"; do
  out="$(compose_check "$(env_file "${r#*|}")")"
  assert_contains "compose refuses JWT_SECRET_KEY = ${r%%|*}" "$out" "rc=1"
done
out="$(compose_check "$(env_file "$GOOD")")"
indent "  compose> " <<<"$out"
assert_contains "compose accepts a random 48-byte JWT_SECRET_KEY" "$out" "rc=0"

# The gate is wired: without it, or with a service not waiting for it, the helper says so.
mkdir -p "$WORK/deploy-copy"
cp -R "$REPO_ROOT/deploy/." "$WORK/deploy-copy/"
"$PYTHON" - "$WORK/deploy-copy/compose.yaml" <<'PY'
import sys, yaml
p = sys.argv[1]
d = yaml.safe_load(open(p))
del d["services"]["app"]["depends_on"]["check-secrets"]
open(p, "w").write(yaml.safe_dump(d, sort_keys=False))
PY
out="$("${COMPOSE[@]}" -f "$WORK/deploy-copy/compose.yaml" --env-file "$(env_file "$GOOD")" config 2>&1 \
  | "$PYTHON" "$REPO_ROOT/scripts/tests/compose_check_secrets.py" "$WORK/root-unwired" 2>&1)" && rc=0 || rc=$?
assert_eq "an app that does not wait for check-secrets is caught" 2 "$rc"

finish
