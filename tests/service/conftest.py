"""A real `piaa serve` in a subprocess on a free loopback port, over a small synthetic photo library.

The same API suite runs against SQLite (always) and PostgreSQL (when ``PIAA_TEST_POSTGRES_URL`` names a server
where the test may create and drop a database, as ``.ci/run`` sets up). The feature cache and ONNX export live in
a per-session temporary PIAA_HOME shared by every server of the session, so photos are analysed once.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from serve_helpers import N_PHOTOS, Server, make_library, postgres_database


@pytest.fixture(scope="session")
def serve_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serve_home")


@pytest.fixture(scope="session")
def photo_library(tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("photos")
    make_library(lib)
    return lib


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory, photo_library, serve_home):
    drop = None
    url = None
    if request.param == "postgresql":
        url, drop = postgres_database()
    data = tmp_path_factory.mktemp(f"serve_data_{request.param}")
    # the API suite checks each person's own profile and its CLI twin; the library model (which makes everyone
    # start from the others' ratings) has its own suite, tests/service/test_library_model.py
    srv = Server(photo_library, data, serve_home, database_url=url, extra=["--no-community"]).start()
    srv.n_photos = N_PHOTOS
    try:
        yield srv
    finally:
        srv.stop()
        if drop:
            drop()
