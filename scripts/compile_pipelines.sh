#!/usr/bin/env bash
# Regenerate the compiled KFP pipeline YAML next to each pipeline source, so
# the cargo tests need no Python.
#
# Usage: scripts/compile_pipelines.sh [--check] [FILE.py ...]
#   FILE.py   pipeline sources to compile (default: pipelines/*.py and
#             tests/pipelines/*.py). Running one writes FILE.yaml next to it.
#             FILE.yaml is replaced only when it differs from the new output
#             in more than its `#` comment lines.
#   --check   compare only: exit 1 and list the YAML files that differ
#             (ignoring `#` comment lines) from what their source compiles to.
# Environment:
#   WEIR_VENV  virtualenv with the kfp SDK (default: <repo>/.venv). The
#              committed YAML was written by kfp 2.17.3; another version
#              changes at least the `sdkVersion` line.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${WEIR_VENV:-$repo/.venv}
python=$venv/bin/python
expected_kfp=2.17.3

check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi

if [ ! -x "$python" ]; then
    echo "error: no Python interpreter at $python; set WEIR_VENV to a virtualenv with kfp $expected_kfp" >&2
    exit 1
fi
kfp_version=$("$python" -c 'import kfp; print(kfp.__version__)') || {
    echo "error: $python cannot import kfp; install kfp==$expected_kfp in $venv" >&2
    exit 1
}
if [ "$kfp_version" != "$expected_kfp" ]; then
    echo "warning: kfp $kfp_version in $venv, the committed YAML comes from kfp $expected_kfp" >&2
fi

if [ "$#" -gt 0 ]; then
    sources=("$@")
else
    sources=("$repo"/pipelines/*.py "$repo"/tests/pipelines/*.py)
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Prints a YAML file without its `#` comment lines. The SDK's `# Inputs:`
# header lists dict defaults in an order that changes between processes
# (protobuf map order), and engines ignore comments, so comparisons skip them.
strip_comments() {
    grep -v '^#' "$1"
}

failed=0
for source in "${sources[@]}"; do
    source=$(cd "$(dirname "$source")" && pwd)/$(basename "$source")
    target=${source%.py}.yaml
    name=${target#"$repo"/}
    # The sources import nothing local, so a copy compiles the same way.
    copy=$scratch/$(basename "$source")
    cp "$source" "$copy"
    "$python" -W ignore::FutureWarning "$copy"
    compiled=${copy%.py}.yaml

    if [ -f "$target" ] && cmp -s <(strip_comments "$compiled") <(strip_comments "$target"); then
        echo "unchanged $name"
    elif [ "$check" = 1 ]; then
        echo "stale: $name" >&2
        failed=1
    else
        cp "$compiled" "$target"
        echo "compiled $name"
    fi
done

if [ "$failed" = 1 ]; then
    echo "error: compiled YAML differs from its source; run scripts/compile_pipelines.sh" >&2
    exit 1
fi
