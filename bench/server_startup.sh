#!/usr/bin/env bash
# Measures `weir server`: time from process start to the first successful health check, and resident
# memory once idle. Usage: bench/server_startup.sh [WEIR_BINARY] [REPS]
# The binary defaults to the release build (cargo build --release -p weir-cli).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEIR=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/weir}
REPS=${2:-5}
[ -x "$WEIR" ] || { echo "error: $WEIR is not built; run cargo build --release -p weir-cli" >&2; exit 2; }
for rep in $(seq 1 "$REPS"); do
  data=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  start=$(date +%s%N)
  "$WEIR" --data-dir "$data" server --bind "127.0.0.1:$port" 2>/dev/null &
  pid=$!
  healthy=""
  for _ in $(seq 1 400); do
    if curl -sf "http://127.0.0.1:$port/apis/v2beta1/healthz" >/dev/null 2>&1; then
      healthy=$(date +%s%N); break
    fi
    sleep 0.005
  done
  sleep 2
  rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  if [ -z "$healthy" ]; then echo "rep $rep: not healthy within 2 s" >&2; exit 1; fi
  echo "{\"rep\": $rep, \"start_to_healthy_ms\": $(( (healthy - start) / 1000000 )), \"idle_rss_mb\": $(awk "BEGIN {printf \"%.1f\", $rss_kb/1024}")}"
done
