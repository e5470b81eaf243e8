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
out="$(DATABASE_URL='postgres://app:s3cr3t-db@db:5432/car' JWT_SECRET_KEY="jwt-secret-value-$(random_secret 24)" \
  "$S/deploy.sh" --dry-run --env production --tag 0123abc 2>&1)"
indent "  deploy> " <<<"$out"
assert_contains "pushes the app artifact" "$out" "would run: spin registry push --from $REPO_ROOT/spin.toml ghcr.io/acme/car-api:0123abc"
assert_contains "builds the migrator image" "$out" "docker build -f $REPO_ROOT/migrator/Dockerfile -t ghcr.io/acme/car-api/migrator:0123abc"
assert_contains "renders the production overlay" "$out" "- ../../k8s/overlays/production"
assert_contains "sets the tag" "$out" 'newTag: "0123abc"'
assert_contains "asks the registry for the digest" "$out" "would resolve: the digest of ghcr.io/acme/car-api:0123abc"
assert_contains "sets the namespace for components too" "$out" "| namespace: car-api"
assert_contains "writes the Secret from the environment" "$out" "create secret generic car-api-secrets"
assert_contains "  ... from files, not arguments" "$out" "--from-file=jwt_secret_key=<file>"
assert_not_contains "  ... no --from-literal" "$out" "--from-literal"
assert_not_contains "does not print the database password" "$out" "s3cr3t-db"
assert_not_contains "does not print the JWT secret" "$out" "jwt-secret-value"
assert_contains "namespace car-api for production" "$out" "kubectl --namespace car-api delete job car-api-migrate"
assert_before "push before the migration" "$out" "spin registry push" "apply -k $REPO_ROOT/.deploy/production-0123abc -l app.kubernetes.io/component=migrate"
assert_before "executor applied alone before the migration" "$out" "-l app.kubernetes.io/component=executor" "-l app.kubernetes.io/component=migrate"
assert_before "executor waited for before the SpinApp" "$out" "get spinappexecutor containerd-shim-spin until it exists" "-l app.kubernetes.io/component!=migrate"
assert_before "migration Job waited for before the apply" "$out" "get job car-api-migrate until" "-l app.kubernetes.io/component!=migrate"
assert_before "apply before the rollout wait" "$out" "-l app.kubernetes.io/component!=migrate" "rollout status deployment/car-api"
assert_contains "the main apply is retried while the webhook lags" "$out" "(retried while the webhook reports the executor missing)"
assert_before "rollout before the health check" "$out" "rollout status deployment/car-api" "/health_check"
if [[ ! -e "$REPO_ROOT/.deploy/production-0123abc" ]]; then pass "dry-run wrote no files"; else fail "dry-run wrote .deploy/production-0123abc"; fi

DA="sha256:$(printf 'a%.0s' {1..64})"
DM="sha256:$(printf 'b%.0s' {1..64})"
out="$(APP_DIGEST=$DA MIGRATOR_DIGEST=$DM REGISTRY_USERNAME=bot REGISTRY_PASSWORD=ghp-registry-secret-123 \
  "$S/deploy.sh" --dry-run --skip-push --tag 42 2>&1)"
assert_contains "given digests are used" "$out" "digest: $DA"
assert_contains "the rollout waits for the pinned image" "$out" "until its image is ghcr.io/acme/car-api:42@$DA"
assert_contains "pull credentials become Secret car-api-registry, from a .dockerconfigjson file" "$out" \
  "create secret generic car-api-registry --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=<file>"
assert_contains "  ... for ghcr.io and user bot" "$out" '{"auths":{"ghcr.io":{"auth":base64(bot:***)}}}'
assert_not_contains "does not print the registry password" "$out" "ghp-registry-secret-123"
assert_contains "the private-registry component is added" "$out" "- ../../k8s/components/private-registry"
out="$(APP_DIGEST=sha256:abc "$S/deploy.sh" --dry-run --skip-push --tag 42 2>&1 || true)"
assert_contains "malformed digest rejected" "$out" "APP_DIGEST must be sha256:<64 hex digits>"

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
out="$("$S/rollback.sh" --dry-run --env production "$DA" 2>&1)"
indent "  rollback> " <<<"$out"
assert_contains "patches the SpinApp image by digest" "$out" "patch spinapp car-api --type merge -p {\"spec\":{\"image\":\"ghcr.io/acme/car-api@$DA\"}}"
assert_before "patch before the rollout wait" "$out" "patch spinapp car-api" "rollout status deployment/car-api"
assert_before "rollout before the health check" "$out" "rollout status deployment/car-api" "/health_check"
out="$("$S/rollback.sh" --dry-run --env production 9f8e7d6 2>&1)"
assert_contains "a tag is resolved to its digest" "$out" "would resolve: the digest of ghcr.io/acme/car-api:9f8e7d6"
assert_contains "a tag is deployed pinned" "$out" '"image":"ghcr.io/acme/car-api:9f8e7d6@sha256:'
out="$("$S/rollback.sh" --dry-run --previous 2>&1)"
assert_contains "--previous reads the recorded image" "$out" "car-api\\.deploy/previous-image"
out="$("$S/rollback.sh" --dry-run 2>&1 || true)"
assert_contains "missing target reported" "$out" "the tag or digest to roll back to is required"
out="$("$S/rollback.sh" --dry-run 'bad tag!' 2>&1 || true)"
assert_contains "invalid tag rejected" "$out" "is neither an image tag nor sha256:"
out="$("$S/rollback.sh" --dry-run --previous 9f8e7d6 2>&1 || true)"
assert_contains "--previous with a tag rejected" "$out" "either --previous or a tag/digest"

# ---- the kustomization deploy.sh writes, rendered by the real kustomize
tmp="$(mktemp -d)"
cp -R "$REPO_ROOT/k8s" "$tmp/k8s"
common="$REPO_ROOT/scripts/lib/common.sh"
rendered="$(COMMON="$common" REPO_ROOT="$tmp" DRY_RUN=0 NAMESPACE=car-api \
  IMAGE_REPO=ghcr.io/acme/car-api TAG=0123abc APP_DIGEST="$DA" MIGRATOR_DIGEST="$DM" bash -c '
  source "$COMMON"
  RENDER_COMPONENTS=(private-registry pgbouncer)
  render_overlay "$REPO_ROOT/k8s/overlays/production" production-0123abc
  kubectl kustomize "$RENDER_DIR"' 2>&1)" || fail "kubectl kustomize of the rendered deploy kustomization failed: $rendered"
rm -rf "$tmp"
assert_contains "rendered: the SpinApp pinned by digest" "$rendered" "image: ghcr.io/acme/car-api:0123abc@$DA"
assert_contains "rendered: the migrator pinned by digest" "$rendered" "image: ghcr.io/acme/car-api/migrator:0123abc@$DM"
assert_contains "rendered: pull secret on the SpinApp and the Job" "$rendered" "- name: car-api-registry"
assert_eq "rendered: every object in namespace car-api (components too)" \
  "$(grep -c '^kind:' <<<"$rendered")" "$(grep -c '^  namespace: car-api$' <<<"$rendered")"

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
