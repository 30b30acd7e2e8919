"""Start-up cost of the command line: printing help or listing models must not import torch (or pandas)."""
import json
import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[3] / "src")

_PROBE = """
import sys, json
from piaa.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in ("torch", "pandas", "onnxruntime", "ray") if m in sys.modules)), file=sys.stderr)
"""


def _heavy_modules(argv):
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv)], capture_output=True, text=True,
                         env=env, timeout=60)
    return json.loads(out.stderr.strip().splitlines()[-1])


def test_help_imports_no_heavy_module():
    assert _heavy_modules(["--help"]) == []


def test_score_help_imports_no_heavy_module():
    assert _heavy_modules(["score", "--help"]) == []


def test_models_lists_without_torch():
    assert _heavy_modules(["models", "--format", "json"]) == []


def test_loading_the_default_scorer_needs_no_pandas_or_torch():
    env = {**os.environ, "PYTHONPATH": SRC}
    code = ("import sys; from piaa.models.scorer import load_scorer; load_scorer(); "
            "print([m for m in ('torch', 'pandas') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
