# The rules for secret values, shared by scripts/deploy.sh and deploy/check-secrets.sh
# (compose's check-secrets service mounts this file and placeholder-secrets.txt at the
# same relative paths). Sourced, not executed.
# shellcheck shell=bash

# The values shipped in the repository (one per line; # comments). Not overridable.
PLACEHOLDER_SECRETS_FILE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/placeholder-secrets.txt"

# check_secret NAME VALUE [MIN_BYTES]: returns 0 when VALUE may be used as NAME.
# Otherwise prints why (one line, never the value itself) and returns 1: VALUE is
# empty, contains CHANGE_ME (in any case), equals a value listed in
# $PLACEHOLDER_SECRETS_FILE, or is shorter than MIN_BYTES bytes (default 0).
check_secret() {
  local name="$1" value="$2" min="${3:-0}" listed bytes
  if [[ -z "$value" ]]; then
    echo "$name is empty"
    return 1
  fi
  if [[ "${value^^}" == *CHANGE_ME* ]]; then
    echo "$name is a placeholder (it contains CHANGE_ME): set a real value"
    return 1
  fi
  if [[ ! -r "$PLACEHOLDER_SECRETS_FILE" ]]; then
    echo "cannot read $PLACEHOLDER_SECRETS_FILE (the values shipped in the repository), so $name cannot be checked"
    return 1
  fi
  while IFS= read -r listed || [[ -n "$listed" ]]; do
    [[ -z "$listed" || "$listed" == \#* ]] && continue
    if [[ "$value" == "$listed" ]]; then
      echo "$name is an example value shipped in the repository (scripts/lib/placeholder-secrets.txt): generate a new one, e.g. openssl rand -base64 48"
      return 1
    fi
  done <"$PLACEHOLDER_SECRETS_FILE"
  # Bytes, not characters (the key is used as bytes); printf is a builtin, so
  # the value is on no command line.
  bytes="$(printf '%s' "$value" | wc -c)"
  bytes="${bytes//[^0-9]/}"
  if (( bytes < min )); then
    echo "$name must be at least $min bytes (it has $bytes): generate one, e.g. openssl rand -base64 48"
    return 1
  fi
}
