"""One catalogue of shipped assets: every file under src/piaa/assets has a row, every row's file exists."""
from __future__ import annotations

from pathlib import Path

import pytest

import piaa
from piaa.catalogue import (ASSETS, DEFAULT_BACKBONE, DEFAULT_VARIANT, KINDS, Asset, asset_path, default_asset,
                            list_assets, register_asset)
from piaa.errors import AssetMissingError, UnknownNameError

ASSET_ROOT = Path(piaa.__file__).resolve().parent / "assets"
NOT_ASSETS = {".md", ".json"}  # model cards and benchmark reports sit beside the files they describe


def _shipped_files():
    out = set()
    for p in ASSET_ROOT.rglob("*"):
        if p.is_file() and p.suffix not in NOT_ASSETS:
            out.add(p)
    return out


def test_every_shipped_file_has_one_row_and_every_row_a_file():
    rows = list_assets()
    covered = set()
    for a in rows:
        assert a.kind in KINDS and a.backbone and a.variant and a.training_data and a.licence, a.name
        assert a.rebuild.startswith("piaa ") and "--output" in a.rebuild, a.name  # a command of the CLI
        assert a.path.exists(), f"{a.name}: {a.path} missing"
        covered |= {a.path} if a.path.is_file() else {p for p in a.path.rglob("*") if p.is_file()}
    missing = sorted(str(p.relative_to(ASSET_ROOT)) for p in _shipped_files() - covered)
    assert not missing, f"shipped files without a catalogue row in piaa/catalogue.py: {missing}"
    for kind in {a.kind for a in rows}:
        assert sum(a.default for a in rows if a.kind == kind) == 1, f"exactly one default {kind}"


def test_resolver_names_the_rebuild_command_when_a_file_is_missing(tmp_path):
    a = Asset("arch-test-missing", "scorer", "models/nowhere.npz", DEFAULT_BACKBONE, DEFAULT_VARIANT, "none",
              "none", "piaa train default --output src/piaa/assets/models/nowhere.npz")
    register_asset(a)
    try:
        with pytest.raises(AssetMissingError, match="rebuild it with `piaa train default --output") as info:
            asset_path("arch-test-missing")
        assert isinstance(info.value, FileNotFoundError)  # old except-clauses still match
    finally:
        ASSETS.unregister("arch-test-missing")
    with pytest.raises(UnknownNameError, match="did you mean 'oasis-beauty-lite0'"):
        asset_path("oasis-beauty-lite")


def test_the_defaults_are_the_ones_code_uses():
    from piaa.models.pa_iaa.default import DEFAULT_NAME
    from piaa.models.scorer import DEFAULT_MODEL, list_models
    from piaa.personalize.default_prior import DEFAULT_PRIOR

    assert DEFAULT_MODEL == default_asset("scorer").name == list_models()[0]
    assert DEFAULT_NAME == default_asset("pa-iaa-network").name
    assert DEFAULT_PRIOR == default_asset("taste-prior").name
    assert set(list_models()) == {a.name for a in list_assets("scorer")}
