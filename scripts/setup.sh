#!/usr/bin/env bash
# Creates .venv in the repository root and installs piaa with the CPU build of PyTorch.
# torch==2.13.0 is installed explicitly first: a bare "torch" requirement would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "piaa installed in .venv: try  .venv/bin/piaa --help"
