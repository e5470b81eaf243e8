#!/usr/bin/env bash
# No secret, key, backup or local database reaches a Docker builder: for every
# build of a tracked Dockerfile (compose, workflows, scripts), the ignore file
# Docker uses excludes deploy/.env and other .env files, .secrets/, *.pem, *.key,
# backups/, *.sql.gz, *.dump, .spin/, and every tracked file the build needs is
# still sent (dockerignore_check.py applies Docker's matching rules). Then broken
# copies must fail: the old root-only `.env` rule, a Dockerfile-specific ignore
# file (which Docker prefers) without the rules, a Dockerfile nothing builds.
# Run: scripts/tests/test-dockerignore.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PYTHON="${PYTHON:-python3}"
CHECK="$REPO_ROOT/scripts/tests/dockerignore_check.py"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== the repository"
if out="$("$PYTHON" "$CHECK" --root "$REPO_ROOT" --cross-check 2>&1)"; then
  pass "every build context keeps secrets, keys and backups out"
else
  fail "a build context lets secrets, keys or backups in"
fi
indent "  check> " <<<"$out"

# copy: the files the check reads, into a fresh folder; echoes its path.
git -C "$REPO_ROOT" ls-files >"$WORK/tracked"
copy() {
  local d
  d="$(mktemp -d "$WORK/copy.XXXXXX")"
  (cd "$REPO_ROOT" && cp --parents .dockerignore deploy/compose.yaml .github/workflows/*.yml scripts/*.sh "$d/")
  while IFS= read -r f; do
    [[ "$f" =~ [Dd]ockerfile ]] && (cd "$REPO_ROOT" && cp --parents "$f" "$d/")
  done <"$WORK/tracked"
  echo "$d"
}
# expect_fail WHAT TEXT DIR [TRACKED]: the check must fail on DIR, saying TEXT.
expect_fail() {
  local out rc=0
  out="$("$PYTHON" "$CHECK" --root "$3" --tracked "${4:-$WORK/tracked}" 2>&1)" || rc=$?
  if [[ $rc -eq 0 ]]; then fail "$1: the check PASSED"
  elif ! grep -qF -- "$2" <<<"$out"; then fail "$1: failed, but without '$2'"; indent "      " <<<"$out"
  else pass "$1: caught ($(grep -F -m1 -- "$2" <<<"$out" | cut -c1-140))"
  fi
}

echo "== broken copies"
d="$(copy)"
if "$PYTHON" "$CHECK" --root "$d" --tracked "$WORK/tracked" >/dev/null 2>&1; then pass "pristine copy passes"; else fail "pristine copy fails"; fi

d="$(copy)"; sed -i 's#^\*\*/\.env\*$#.env#' "$d/.dockerignore"
expect_fail "root-only .env rule (deploy/.env sent)" "deploy/.env would be sent" "$d"
d="$(copy)"; sed -i '/^\*\*\/\*\.pem$/d' "$d/.dockerignore"
expect_fail "no *.pem rule" "certs/server.pem would be sent" "$d"
d="$(copy)"; sed -i '/^\*\*\/\.secrets$/d' "$d/.dockerignore"
expect_fail "no .secrets rule" ".secrets/jwt_secret_key would be sent" "$d"
d="$(copy)"; sed -i '/^\*\*\/backups$/d' "$d/.dockerignore"
expect_fail "no backups rule" "some/where/else/backups/notes.txt would be sent" "$d"
d="$(copy)"; printf 'target/\n' >"$d/migrator/Dockerfile.dockerignore"
expect_fail "a Dockerfile-specific ignore file without the rules (Docker uses it instead)" "deploy/.env would be sent" "$d"
d="$(copy)"; printf '!deploy/.env\n' >>"$d/.dockerignore"
expect_fail "a re-include of deploy/.env" "deploy/.env would be sent" "$d"
d="$(copy)"; printf 'migrations/\n' >>"$d/.dockerignore"
expect_fail "a rule dropping files the build needs" "tracked file migrations/" "$d"
d="$(copy)"; mkdir -p "$d/tools"; cp "$d/migrator/Dockerfile" "$d/tools/Dockerfile"
cp "$WORK/tracked" "$WORK/tracked-plus"; echo tools/Dockerfile >>"$WORK/tracked-plus"
expect_fail "a Dockerfile nothing builds (context unknown)" "tools/Dockerfile: no build of it found" "$d" "$WORK/tracked-plus"

finish
