import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("PIAA_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Never let tests write into the real user data dir."""
    home = tmp_path_factory.getbasetemp() / "piaa_home"
    monkeypatch.setenv("PIAA_HOME", str(home))
    monkeypatch.setenv("PIAA_CACHE", str(home / "features.sqlite"))
