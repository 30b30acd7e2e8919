"""docs/architecture.md's worked example is real: its code block registers a personalizer that passes the
contract test and learns a profile (the newcomer's path, followed from the doc alone)."""
from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np
import pytest

from tiny_backbone import register_tiny, one_torch_thread  # noqa: F401

from piaa.personalize.registry import PERSONALIZERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


@pytest.fixture
def toy():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 5. Worked example"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    mod = types.ModuleType("piaa_doc_example")
    exec(compile(code, str(DOC), "exec"), mod.__dict__)
    try:
        yield mod.ToyRidge
    finally:
        PERSONALIZERS.unregister("toy-ridge")


def test_the_doc_example_passes_the_contract(toy):
    import test_personalizer_contract as contract

    assert PERSONALIZERS.get("toy-ridge") is toy and toy.method_name == "toy-ridge"
    contract.test_class_contract("toy-ridge")
    contract.test_fit_predict_params_and_state_round_trip("toy-ridge")
    contract.test_state_checks_method_and_version("toy-ridge")


def test_the_doc_example_learns_a_profile(toy, tmp_path):
    from test_profiles_support import FakeScorer, make_photos

    from piaa.profiles.profile import Profile

    register_tiny("tiny_doc", tmp_path, seed=1)
    paths, ratings = make_photos(tmp_path / "photos", 20)
    prof = Profile.create("newcomer", ratings=dict(zip(map(str, paths), ratings)), method="toy-ridge",
                          params={"backbone": "tiny_doc", "variant": "pooled", "alpha": 0.1},
                          store=tmp_path / "profiles.sqlite", scorer=FakeScorer(), folds=3)
    again = Profile.load("newcomer", store=tmp_path / "profiles.sqlite", scorer=FakeScorer())
    assert isinstance(again.estimator, toy) and again.uses_offset
    np.testing.assert_allclose(again.score(paths), prof.score(paths))
