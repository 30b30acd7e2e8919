"""The unit tests mirror the packages (``tests/unit/<package>/``). Test helpers are imported by module name from
any folder (``from tiny_backbone import register_tiny``, ``from test_profiles_support import FakeScorer``,
``from test_score_cli import model_file``), so every folder of ``tests/unit`` is put on ``sys.path`` here,
before collection; file names therefore stay unique across the folders (``test_lint`` checks it)."""
from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _folder in [_HERE, *sorted(p for p in _HERE.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))]:
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
