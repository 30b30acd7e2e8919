#!/usr/bin/env bash
# Creates .venv in the repository root and installs piaa with the CPU build of PyTorch.
# torch==2.13.0 is installed explicitly first: a bare "torch" requirement would pull a multi-GB CUDA build.
# A CPU wheel found locally (pip's find-links, as on the project's build machines) is used when present;
# otherwise the wheel comes from PyTorch's CPU-only index.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet)
if "${PIP[@]}" --no-deps --no-index "torch==2.13.0" 2>/dev/null; then
    "${PIP[@]}" "torch==2.13.0"            # its pure-Python dependencies from the package registry
else
    "${PIP[@]}" "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
fi
"${PIP[@]}" -e ".[test]"
echo "piaa installed in .venv: try  .venv/bin/piaa --help"
