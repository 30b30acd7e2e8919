"""Where piaa keeps things: the shared research data (for tests/benchmarks), caches and the user data dir."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository (override with ``PIAA_SHARED_DATA``)."""
    env = os.environ.get("PIAA_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def user_data_dir() -> Path:
    """Profiles and the default feature cache live here (override with ``PIAA_HOME``)."""
    env = os.environ.get("PIAA_HOME")
    if env:
        return Path(env)
    from platformdirs import user_data_dir as _udd

    return Path(_udd("piaa", appauthor=False))


def default_cache_path() -> Path:
    env = os.environ.get("PIAA_CACHE")
    return Path(env) if env else user_data_dir() / "features.sqlite"


def assets_dir() -> Path:
    """The package's shipped models (installed with the package, never downloaded)."""
    return Path(__file__).resolve().parent / "assets"
