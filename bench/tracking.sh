#!/usr/bin/env bash
# Measures weir's MLflow-compatible tracking server with the load script that measured the
# MLflow server (load.py, which speaks only the MLflow REST API), with the same scenarios and
# arguments, and checks that writes the server acknowledged survive `kill -9`. Results go to bench/results/tracking/.
#
#   bash bench/tracking.sh                  # weir: 2 rounds and the durability check (~4 min)
#   WITH_MLFLOW=1 bash bench/tracking.sh    # first the MLflow server, 1 round (~8 min), then weir
#   ROUNDS=1 WRK=0 bash bench/tracking.sh   # quick pass
#
# Environment:
#   TRACKING_BENCH  folder of load.py, probe.py, wrk_log_metric.lua, run_mlflow.sh
#                   (default /work/shared/bench/tracking)
#   ROUNDS          weir rounds, each on a fresh data folder (default 2)
#   MLFLOW_ROUNDS   MLflow rounds with WITH_MLFLOW=1 (default 1)
#   PORT            weir's port (default 5056); MLflow uses 5055 as in the reference
#   SETTLE          seconds between /health answering and the idle samples (default 5)
#   WRK             1 runs the wrk cross-check of log-metric when wrk is installed (default 1)
#   WEIR_VENV       Python venv that scripts/python_env.sh creates (default .venv); load.py
#                   needs aiohttp, which mlflow brings
#   CARGO_TARGET_DIR  default target/ in the checkout
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH=${TRACKING_BENCH:-/work/shared/bench/tracking}
ROUNDS=${ROUNDS:-2}
MLFLOW_ROUNDS=${MLFLOW_ROUNDS:-1}
PORT=${PORT:-5056}
SETTLE=${SETTLE:-5}
WRK=${WRK:-1}
PY=${WEIR_VENV:-$ROOT/.venv}/bin/python
URL="http://127.0.0.1:$PORT"
RESULTS="$HERE/results/tracking"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS/weir-$STAMP.jsonl"
WORK=$(mktemp -d /tmp/weir-tracking-bench.XXXXXX)
SERVER_PID=""
mkdir -p "$RESULTS"

if [ "${WITH_MLFLOW:-0}" = 1 ]; then
  RESULTS="$RESULTS" ROUNDS="$MLFLOW_ROUNDS" EXTRAS=0 WRK="$WRK" bash "$BENCH/run_mlflow.sh"
fi

(cd "$ROOT" && cargo build --release --locked --bin weir)
WEIR="$TARGET/release/weir"

record() {  # record PHASE JSON: appends {"phase": PHASE, ...JSON} to the results file
  python3 - "$1" "$2" "$OUT" <<'PYEOF'
import json, sys
phase, blob, out = sys.argv[1], sys.argv[2], sys.argv[3]
line = json.dumps({"phase": phase, **json.loads(blob)})
print(line)
open(out, "a").write(line + "\n")
PYEOF
}

start_weir() {  # start_weir PHASE DATA_DIR: starts the server and records start-up and idle use
  if curl -s -o /dev/null --max-time 2 "$URL/health"; then
    echo "another server already listens on $URL; choose another PORT" >&2
    exit 1
  fi
  local t0
  t0=$(date +%s.%N)
  "$WEIR" --data-dir "$2" server --bind "127.0.0.1:$PORT" >"$WORK/$1.log" 2>&1 &
  SERVER_PID=$!
  record "$1.startup" "$(python3 "$BENCH/probe.py" wait-health --url "$URL" --t0 "$t0" --timeout 60)"
  sleep "$SETTLE"
  record "$1.idle_rss" "$(python3 "$BENCH/probe.py" rss --pid "$SERVER_PID" --verbose)"
  record "$1.idle_cpu" "$(python3 "$BENCH/probe.py" cpu --pid "$SERVER_PID" --seconds 5)"
}

stop_weir() {
  if [ -n "$SERVER_PID" ]; then
    record "$1.stop" "$(python3 "$BENCH/probe.py" stop --pid "$SERVER_PID")"
    SERVER_PID=""
  fi
}
trap 'stop_weir trap; rm -rf "$WORK"' EXIT

wrk_check() {  # the reference's wrk cross-check: 30 s, at most 2 x 2,500 responses
  command -v wrk >/dev/null || { echo "wrk not installed; skipping" >&2; return; }
  local api="$URL/api/2.0/mlflow" exp run line
  exp=$(curl -s -X POST "$api/experiments/create" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench-wrk-$STAMP-$1\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["experiment_id"])')
  run=$(curl -s -X POST "$api/runs/create" -H 'Content-Type: application/json' \
    -d "{\"experiment_id\":\"$exp\",\"start_time\":$(date +%s000)}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["run"]["info"]["run_id"])')
  line=$(timeout 60 wrk -t2 -c8 -d30s --timeout 30s -s "$BENCH/wrk_log_metric.lua" "$URL" -- "$run" 2500 |
    grep '^{"scenario"')
  record "$1.wrk" "$line"
  # The reference's cap of 2 x 2,500 responses ends a fast server's threads in well under the
  # 30 s that wrk divides by, so its req/s is capped at 166.7. This run has no cap and lasts
  # 10 s, which gives the real rate.
  line=$(timeout 30 wrk -t2 -c8 -d10s --timeout 10s -s "$BENCH/wrk_log_metric.lua" "$URL" -- "$run" 100000000 |
    grep '^{"scenario"')
  record "$1.wrk_uncapped" "$line"
}

record meta "{\"weir_commit\":\"$(git -C "$ROOT" rev-parse --short HEAD)\",\"nproc\":$(nproc),\"server_cmd\":\"weir --data-dir DIR server --bind 127.0.0.1:$PORT\"}"
for r in $(seq 1 "$ROUNDS"); do
  start_weir "round$r" "$WORK/round$r"
  "$PY" "$BENCH/load.py" --url "$URL" --scenario all --label "weir round$r" --out "$OUT" || true
  record "round$r.after_load_rss" "$(python3 "$BENCH/probe.py" rss --pid "$SERVER_PID")"
  if [ "$WRK" = 1 ]; then wrk_check "round$r"; fi
  stop_weir "round$r"
done

# Durability: metrics acknowledged before a kill -9 are all there after a restart.
record durability "$("$PY" "$HERE/tracking_durability.py" --weir "$WEIR" --data-dir "$WORK/durability" --port "$PORT")"

echo "results: $OUT"
python3 "$BENCH/summarize.py" "$OUT"
