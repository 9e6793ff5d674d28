#!/usr/bin/env bash
# Runs every test: formatting, lints, and the Rust test suites (which run real pipelines with
# the Python environment from scripts/python_env.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=$(scripts/python_env.sh)
export WEIR_TEST_PYTHON="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The kfp SDK client and CLI against a real `weir server`.
scripts/test_kfp_client.sh
# The mlflow client against a real `weir server`.
scripts/test_mlflow_client.sh
