#!/usr/bin/env bash
# Runs the whole test suite with the repository's .venv (integration tests skip when ../shared/data is absent).
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q "$@"
rc=$?
# pytest exits 5 when it collected no test; that is not a failure of the code under test.
if [ "$rc" -eq 5 ]; then echo "no tests collected"; exit 0; fi
exit "$rc"
