#!/usr/bin/env bash
# Reproduces every number in docs/benchmarks.md: kfp.local vs weir on the same compiled
# 21-task ParallelFor and 10-task chain, weir's own overhead per task, and the 10,000-task
# ParallelFor (throughput and peak memory). Results go to bench/results/ (*.jsonl, summary.md).
#
#   bash bench/run.sh                           # about 5 minutes on 2 idle cores
#   REPS=1 REPS_10K=1 bash bench/run.sh         # quick pass, about 1.5 minutes
#   BUILD_FROM=HEAD bash bench/run.sh           # measure a commit, not the working tree
#   LOAD_WAIT=600 MAX_LOAD=1 bash bench/run.sh  # first wait up to 10 min for a quiet machine
#   STAGES=summary bash bench/run.sh            # only rewrite results/summary.md
#
# Environment:
#   REPS          repetitions of the compare and overhead stages (default 5)
#   REPS_10K      repetitions of the 10,000-task stage (default 3)
#   STAGES        comma list of compare,overhead,fanout10k,summary (default: all)
#   BUILD_FROM    git ref to build from a `git archive` export (default: the working tree)
#   LOAD_WAIT     seconds to wait at most for the 1-minute load average to reach MAX_LOAD
#                 (default 0); MAX_LOAD defaults to 1.0
#   MAX_SECONDS   time limit of the measuring step after the wait (default 900); every
#                 process it starts is stopped after 300 s
#   KFP_DIR       folder with the kfp.local scripts (fanout.py, chain.py, common.py) and the
#                 fanout.yaml and chain.yaml they compile (default /work/shared/bench/kfp-local)
#   WEIR_VENV     Python venv that scripts/python_env.sh creates (default .venv)
#   CARGO_TARGET_DIR  default target/ in the checkout
# Needs cargo, rustc, python3 and git.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
KFP_DIR=${KFP_DIR:-/work/shared/bench/kfp-local}

commit=$(git -C "$ROOT" rev-parse --short "${BUILD_FROM:-HEAD}")
if [ -n "${BUILD_FROM:-}" ]; then
  # A clean export of the commit, so uncommitted changes in the checkout are not measured. It
  # has its own target dir: cargo could take a build of another source folder as up to date.
  SRC="$TARGET/bench-export/src"
  if [ "$(cat "$SRC/.bench-commit" 2>/dev/null)" != "$commit" ]; then
    rm -rf "$SRC"
    mkdir -p "$SRC"
    # -m gives every file the current time, so cargo rebuilds whatever changed.
    git -C "$ROOT" archive "$commit" | tar -x -m -C "$SRC"
    echo "$commit" > "$SRC/.bench-commit"
  fi
  BUILD_TARGET="$TARGET/bench-export/target"
  BUILD_DESC="commit $commit (git archive)"
else
  SRC=$ROOT
  BUILD_TARGET=$TARGET
  BUILD_DESC="working tree at $commit"
  if [ -n "$(git -C "$ROOT" status --porcelain -- crates Cargo.toml Cargo.lock)" ]; then
    BUILD_DESC="$BUILD_DESC with uncommitted changes"
  fi
fi
(cd "$SRC" && CARGO_TARGET_DIR=$BUILD_TARGET cargo build --release --quiet -p weir-cli)
rustc -O --edition 2021 "$HERE/spawn_loop.rs" -o "$TARGET/spawn_loop"
VENV=$("$ROOT/scripts/python_env.sh")

# The overhead chains are committed; compile them only if they are missing.
for n in 200 1; do
  [ -f "$HERE/overhead_chain_$n.yaml" ] || (cd "$HERE" && "$VENV/bin/python" overhead_chain.py "$n")
done

exec timeout $((${MAX_SECONDS:-900} + ${LOAD_WAIT:-0})) "$VENV/bin/python" "$HERE/measure.py" \
  --weir "$BUILD_TARGET/release/weir" --build "$BUILD_DESC" --spawn-loop "$TARGET/spawn_loop" \
  --venv "$VENV" --repo "$ROOT" --kfp-dir "$KFP_DIR" \
  --reps "${REPS:-5}" --reps-10k "${REPS_10K:-3}" \
  --stages "${STAGES:-compare,overhead,fanout10k,summary}" \
  --max-load "${MAX_LOAD:-1.0}" --load-wait "${LOAD_WAIT:-0}"
