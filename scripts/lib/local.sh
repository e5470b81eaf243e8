# Helpers for the scripts that run the app on this machine (fuzz, soak, bench); sourced.
# shellcheck shell=bash

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS [PID]: returns once URL answers 2xx; fails when SECONDS pass
# first, or when process PID (the server being waited for) exits.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "process $pid exited before $url answered" >&2
      return 1
    fi
    [ $SECONDS -lt "$deadline" ] || { echo "no answer from $url after $2 s" >&2; return 1; }
    sleep 0.2
  done
}

# Background processes a script started (append their PIDs to PIDS); `stop_started`
# kills and reaps them all. Install with: trap stop_started EXIT INT TERM
PIDS=()
stop_started() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
