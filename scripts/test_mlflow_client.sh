#!/usr/bin/env bash
# Runs the mlflow client suite (tests/mlflow_client) against a freshly built `weir server`.
# Usage: scripts/test_mlflow_client.sh [PYTEST_ARGS...]
# WEIR_MLFLOW_CLIENT_TIMEOUT bounds the pytest run in seconds (default 300).
# MLFLOW_SUITE_URL=http://127.0.0.1:PORT runs the suite against the server at that address
# instead, such as a real `mlflow server`, and skips the build and the Weir-only tests.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ -z "${MLFLOW_SUITE_URL:-}" ]; then
  cargo build --locked -p weir-cli
fi
VENV=$(scripts/python_env.sh)
if ! "$VENV/bin/python" -c "import pytest" 2>/dev/null; then
  echo "error: pytest is not installed in $VENV; add it to requirements.txt" >&2
  exit 2
fi
export WEIR_BIN=${WEIR_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/weir}
export PYTHONDONTWRITEBYTECODE=1
LIMIT=${WEIR_MLFLOW_CLIENT_TIMEOUT:-300}
status=0
timeout --kill-after=10 "$LIMIT" "$VENV/bin/python" -m pytest tests/mlflow_client "$@" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "error: the mlflow client suite did not finish within $LIMIT s" >&2
fi
exit "$status"
