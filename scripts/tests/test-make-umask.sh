#!/usr/bin/env bash
# `make migrate` and `make up` keep the local data private: .spin/ (the SQLite
# database, the key-value file: password hashes, personal data) is 0700, made so
# when it already exists, and the migrator and the server run under umask 077, so
# what they create is 0600. Runs the real Makefile in a scratch folder
# (make -C DIR -f Makefile) with stand-ins: CARGO=true (nothing is compiled),
# rustup, and a migrator and devhost that record the umask and .spin's mode and
# create a file the way they would. Needs no Rust. Run: scripts/tests/test-make-umask.sh
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v make >/dev/null 2>&1 || skip "make is not installed"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/target/release" "$WORK/rec"

# rustup: the wasm target is "installed".
printf '#!/bin/sh\necho wasm32-wasip2\n' >"$WORK/bin/rustup"
# migrator / devhost: record the umask, .spin's mode, and create a data file.
for tool in migrator devhost; do
  cat >"$WORK/target/release/$tool" <<SH
#!/usr/bin/env bash
set -euo pipefail
umask >"$WORK/rec/$tool.umask"
stat -c %a .spin >"$WORK/rec/$tool.spin_mode" 2>/dev/null || echo missing >"$WORK/rec/$tool.spin_mode"
mkdir -p .spin
: >".spin/$tool.db"
SH
done
chmod +x "$WORK/bin/rustup" "$WORK/target/release/"*

# mk DIR TARGET: the repository's Makefile, run in DIR.
mk() {
  env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u SPIN_VARIABLE_DATABASE_URL PATH="$WORK/bin:$PATH" APP_RUNNER=devhost \
    make --no-print-directory -C "$1" -f "$REPO_ROOT/Makefile" "$2" CARGO=true TARGET_DIR="$WORK/target"
}

echo "== make migrate, no .spin yet"
mkdir -p "$WORK/fresh"
if out="$(mk "$WORK/fresh" migrate 2>&1)"; then pass "make migrate runs"; else fail "make migrate failed"; indent "  make> " <<<"$out"; fi
assert_eq "the migrator runs under umask 077" 0077 "$(cat "$WORK/rec/migrator.umask" 2>/dev/null)"
assert_eq ".spin exists, mode 700, before the migrator runs" 700 "$(cat "$WORK/rec/migrator.spin_mode" 2>/dev/null)"
assert_eq "a database the migrator creates is mode 600" 600 "$(stat -c %a "$WORK/fresh/.spin/migrator.db" 2>/dev/null)"

echo "== make up, .spin already there and readable by all"
mkdir -p "$WORK/old/.spin"
chmod 755 "$WORK/old/.spin"
rm -f "$WORK/rec/"*
if out="$(mk "$WORK/old" up 2>&1)"; then pass "make up runs (APP_RUNNER=devhost)"; else fail "make up failed"; indent "  make> " <<<"$out"; fi
assert_eq "the migrator runs under umask 077" 0077 "$(cat "$WORK/rec/migrator.umask" 2>/dev/null)"
assert_eq "the server runs under umask 077" 0077 "$(cat "$WORK/rec/devhost.umask" 2>/dev/null)"
assert_eq "an existing .spin is made mode 700" 700 "$(cat "$WORK/rec/devhost.spin_mode" 2>/dev/null)"
assert_eq "a file the server creates is mode 600" 600 "$(stat -c %a "$WORK/old/.spin/devhost.db" 2>/dev/null)"
assert_eq "the local JWT secret is mode 600" 600 "$(stat -c %a "$WORK/old/.secrets/jwt_secret_key" 2>/dev/null)"

finish
