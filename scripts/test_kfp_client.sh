#!/usr/bin/env bash
# Runs the kfp SDK client suite (tests/kfp_client) against a freshly built `weir server`.
# Usage: scripts/test_kfp_client.sh [PYTEST_ARGS...]
# WEIR_KFP_CLIENT_TIMEOUT bounds the pytest run in seconds (default 300).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --locked -p weir-cli
VENV=$(scripts/python_env.sh)
if ! "$VENV/bin/python" -c "import pytest" 2>/dev/null; then
  echo "error: pytest is not installed in $VENV; add it to requirements.txt" >&2
  exit 2
fi
export WEIR_BIN=${WEIR_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/weir}
export PYTHONDONTWRITEBYTECODE=1
LIMIT=${WEIR_KFP_CLIENT_TIMEOUT:-300}
status=0
timeout --kill-after=10 "$LIMIT" "$VENV/bin/python" -m pytest tests/kfp_client "$@" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "error: the kfp client suite did not finish within $LIMIT s" >&2
fi
exit "$status"
