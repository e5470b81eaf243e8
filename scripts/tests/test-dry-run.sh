#!/usr/bin/env bash
# The --dry-run output and argument handling of deploy.sh, rollback.sh,
# migrate.sh and backup.sh: the right commands, in the right order, no secret
# values printed, clear errors for missing arguments. Needs no cluster.
# Run: scripts/tests/test-dry-run.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
S="$REPO_ROOT/scripts"

for script in deploy.sh rollback.sh migrate.sh backup.sh check-deploy.sh; do
  if out="$("$S/$script" --help 2>&1)"; then pass "$script --help exits 0"; else fail "$script --help failed"; fi
  assert_contains "$script --help shows usage" "$out" "Usage:"
  if "$S/$script" --no-such-option >/dev/null 2>&1; then fail "$script accepts an unknown option"; else pass "$script rejects an unknown option"; fi
done

# ---- deploy.sh
unset GITHUB_REPOSITORY
export IMAGE_REPO=ghcr.io/acme/car-api
out="$(DATABASE_URL='postgres://app:s3cr3t-db@db:5432/car' JWT_SECRET_KEY='jwt-secret-value-0123456789-0123456789' \
  "$S/deploy.sh" --dry-run --env production --tag 0123abc 2>&1)"
indent "  deploy> " <<<"$out"
assert_contains "pushes the app artifact" "$out" "would run: spin registry push --from $REPO_ROOT/spin.toml ghcr.io/acme/car-api:0123abc"
assert_contains "builds the migrator image" "$out" "docker build -f $REPO_ROOT/migrator/Dockerfile -t ghcr.io/acme/car-api/migrator:0123abc"
assert_contains "renders the production overlay" "$out" "- ../../k8s/overlays/production"
assert_contains "sets the tag" "$out" 'newTag: "0123abc"'
assert_contains "writes the Secret from the environment" "$out" "create secret generic car-api-secrets"
assert_not_contains "does not print the database password" "$out" "s3cr3t-db"
assert_not_contains "does not print the JWT secret" "$out" "jwt-secret-value"
assert_contains "namespace car-api for production" "$out" "kubectl --namespace car-api delete job car-api-migrate"
assert_before "push before the migration" "$out" "spin registry push" "apply -k $REPO_ROOT/.deploy/production-0123abc -l app.kubernetes.io/component=migrate"
assert_before "migration Job waited for before the apply" "$out" "get job car-api-migrate until" "-l app.kubernetes.io/component!=migrate"
assert_before "apply before the rollout wait" "$out" "-l app.kubernetes.io/component!=migrate" "rollout status deployment/car-api"
assert_before "rollout before the health check" "$out" "rollout status deployment/car-api" "/health_check"
if [[ ! -e "$REPO_ROOT/.deploy/production-0123abc" ]]; then pass "dry-run wrote no files"; else fail "dry-run wrote .deploy/production-0123abc"; fi

out="$(APP_URL=https://staging-api.example.com "$S/deploy.sh" --dry-run --skip-push --tag 42 2>&1)"
assert_contains "staging is the default" "$out" "kubectl --namespace car-api-staging"
assert_not_contains "--skip-push pushes nothing" "$out" "spin registry push"
assert_contains "health check through APP_URL" "$out" "curl -fsS --retry 10 --retry-delay 3 --retry-all-errors https://staging-api.example.com/health_check"
assert_contains "uses the existing Secret when none is given" "$out" "get secret car-api-secrets"

out="$("$S/deploy.sh" --dry-run --env qa --tag 1 2>&1 || true)"
assert_contains "unknown environment rejected" "$out" "--env must be staging or production"
out="$(env -u IMAGE_REPO "$S/deploy.sh" --dry-run --tag 1 2>&1 || true)"
assert_contains "missing IMAGE_REPO reported" "$out" "set IMAGE_REPO"
out="$(env -u IMAGE_REPO GITHUB_REPOSITORY=Acme/Car-API "$S/deploy.sh" --dry-run --skip-push --tag 1 2>&1)"
assert_contains "GITHUB_REPOSITORY is lowercased into the image name" "$out" "newName: ghcr.io/acme/car-api"
out="$(JWT_SECRET_KEY=short DATABASE_URL=postgres://x "$S/deploy.sh" --dry-run --skip-push --tag 1 2>&1 || true)"
assert_contains "short JWT secret rejected" "$out" "JWT_SECRET_KEY must be at least 32 bytes"

# ---- rollback.sh
out="$("$S/rollback.sh" --dry-run --env production 9f8e7d6 2>&1)"
indent "  rollback> " <<<"$out"
assert_contains "patches the SpinApp image" "$out" "patch spinapp car-api --type merge -p {\"spec\":{\"image\":\"ghcr.io/acme/car-api:9f8e7d6\"}}"
assert_before "patch before the rollout wait" "$out" "patch spinapp car-api" "rollout status deployment/car-api"
assert_before "rollout before the health check" "$out" "rollout status deployment/car-api" "/health_check"
out="$("$S/rollback.sh" --dry-run 2>&1 || true)"
assert_contains "missing tag reported" "$out" "the tag to roll back to is required"
out="$("$S/rollback.sh" --dry-run 'bad tag!' 2>&1 || true)"
assert_contains "invalid tag rejected" "$out" "is not a valid image tag"

# ---- migrate.sh and backup.sh
out="$(DATABASE_URL='postgres://app:pw-123@db:5432/car' MIGRATOR=/bin/true "$S/migrate.sh" --dry-run 2>&1)"
indent "  migrate> " <<<"$out"
assert_before "backup before up" "$out" "would run: $S/backup.sh" "would run: /bin/true up"
assert_before "up before status" "$out" "would run: /bin/true up" "would run: /bin/true status"
assert_not_contains "password redacted" "$out" "pw-123"
out="$(DATABASE_URL=postgres://x@db/car AWS_S3_BUCKET=my-bucket "$S/backup.sh" --dry-run 2>&1)"
assert_contains "upload planned when AWS_S3_BUCKET is set" "$out" "s3://my-bucket/car-api/car-api_"
assert_contains "retention of 7 days" "$out" "-mmin +10080 -delete"

finish
