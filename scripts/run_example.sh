#!/usr/bin/env bash
# The main job: builds weir, prepares the Python environment, compiles the example training
# pipeline with the kfp SDK and runs it end to end on the embedded defaults.
# Extra arguments go to `weir run`, e.g. scripts/run_example.sh --param epochs=50
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --locked --bin weir
VENV=$(scripts/python_env.sh)
export PATH="$VENV/bin:$PATH"
python pipelines/train_pipeline.py
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
exec "$TARGET/release/weir" run pipelines/train_pipeline.yaml "$@"
