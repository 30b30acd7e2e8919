"""The static checks CI runs with the tests: ``ruff`` (rules in pyproject.toml ``[tool.ruff]``) over the code,
tests and benchmark scripts, and ``mypy`` over the modules whose types are complete (``[tool.mypy] files``).

Both are in the ``test`` extra, so a fresh ``scripts/setup.sh`` has them; a missing tool is a failure here, not
a skip, so a CI that forgets them cannot pass quietly. The same commands by hand::

    .venv/bin/ruff check src tests bench
    .venv/bin/mypy
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_passes():
    out = _run("ruff", "check", "--no-cache", "src", "tests", "bench")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_mypy_passes_on_the_typed_modules():
    out = _run("mypy")
    assert out.returncode == 0 and "Success" in out.stdout, out.stdout + out.stderr


def test_mypy_checks_the_listed_modules_strictly():
    """The list in pyproject.toml names files that exist, every one held to "all functions annotated"."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert cfg["disallow_untyped_defs"] and cfg["disallow_incomplete_defs"] and cfg["check_untyped_defs"]
    assert len(cfg["files"]) >= 16 and all((ROOT / f).is_file() for f in cfg["files"])


def test_no_issue_numbers_in_the_code_or_its_help():
    """The code says why in its own words; tracker numbers ("issue 21 §4") mean nothing to a reader or a user."""
    import re

    pattern = re.compile(r"\bissues? ?#?\d+", re.IGNORECASE)
    bad = [f"{p.relative_to(ROOT)}:{i}" for folder in ("src/piaa", "bench") for p in sorted((ROOT / folder).rglob("*"))
           if p.suffix in (".py", ".html", ".toml") for i, line in enumerate(p.read_text().splitlines(), 1)
           if pattern.search(line)]
    assert not bad, "\n".join(bad)
