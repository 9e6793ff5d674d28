#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment that runs Python components and the
# client test suites, then prints its folder. Usage: scripts/python_env.sh [VENV_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-${WEIR_VENV:-$ROOT/.venv}}
STAMP="$VENV/.weir-requirements"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
fi
if ! cmp -s "$ROOT/requirements.txt" "$STAMP" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements.txt" >&2
  cp "$ROOT/requirements.txt" "$STAMP"
fi
echo "$VENV"
