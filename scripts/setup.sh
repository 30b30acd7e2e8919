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
"${PIP[@]}" -e ".[test,faces,backbones]"     # backbones: transformers, for the hf: backbone tests
# Export and verify the default network for ONNX Runtime once, inside the environment, so a user's first
# `piaa score` starts in about a second instead of tracing the network with torch (10-30 s). Optional.
PIAA_ONNX_CACHE="$PWD/.venv/share/piaa/onnx" PIAA_HOME="$(mktemp -d)" .venv/bin/python -c \
    "from piaa.features.engines import get_engine; e = get_engine('efficientnet_lite0', 'multilevel'); print('default network ready:', e.name)" \
    || echo "warning: could not pre-build the ONNX export; the first piaa score will build it"
echo "piaa installed in .venv: try  .venv/bin/piaa --help"
