"""One record per scoring model (``piaa.models.model_cfg.ScorerCfg``): catalogue row + model file together."""
from __future__ import annotations

import numpy as np
import pytest

from piaa.models.model_cfg import ScorerCfg, scorer_cfg
from piaa.models.scorer import DEFAULT_MODEL, QUALITY_MODEL, list_models, model_info


def test_every_shipped_scorer_has_a_complete_record():
    for name in list_models():
        c = scorer_cfg(name)
        assert c.what and c.licence and c.rebuild and c.training_data, name
        assert c.score_range[0] < c.score_range[1] and c.metrics_lines(), name
        assert c.file.is_file() and c.name == name
    assert scorer_cfg().name == DEFAULT_MODEL and scorer_cfg().default
    assert scorer_cfg("quality").name == QUALITY_MODEL and "quality" in scorer_cfg(QUALITY_MODEL).aliases
    assert "beauty" in scorer_cfg(DEFAULT_MODEL).aliases


def test_model_info_is_the_record_as_json():
    info = model_info(DEFAULT_MODEL)
    c = scorer_cfg(DEFAULT_MODEL)
    assert info["what"] == c.what and info["score_range"] == list(c.score_range) and info["default"] is True
    assert info["head_options"] == c.record["head_options"]  # the file's own fields are kept


def test_a_model_file_without_a_catalogue_row(tmp_path):
    from piaa.models.giaa import GenericHead
    from piaa.models.scorer import make_model_state
    from piaa.state import save_state

    rng = np.random.default_rng(0)
    head = GenericHead((0, 1, 5), hidden=(4,), epochs=1, components=None).fit(
        np.abs(rng.standard_normal((12, 6))), rng.dirichlet(np.ones(5), size=12))
    path = tmp_path / "mine.npz"
    save_state(path, make_model_state(head, "mine", "efficientnet_lite0", "multilevel", "my ratings",
                                      description="my club's taste"))
    c = scorer_cfg(str(path))
    assert (c.name, c.what, c.rebuild, c.default, c.aliases) == ("mine", "my club's taste", None, False, ())
    assert c.metrics_lines() == []


@pytest.mark.parametrize("metrics, label, text", [
    ({"srocc": 0.8, "plcc": 0.81, "acc": 0.8, "emd": 0.1}, "4-fold GIAA", "SROCC 0.800  PLCC 0.810  ACC 0.800"),
    ({"srocc": 0.8, "plcc": 0.82, "srocc_folds": [0.8] * 5}, "5-fold CV", "SROCC 0.800  PLCC 0.820"),
    ({"srocc": 0.7, "test": {"a": {"srocc": 0.7, "plcc": 0.75}}}, "held out", "a SROCC 0.700 PLCC 0.750"),
])
def test_metrics_lines_follow_the_protocol(metrics, label, text, tmp_path):
    c = ScorerCfg("m", tmp_path, "beauty", "w", (1.0, 7.0), False, "b", "v", "d", metrics=metrics)
    (got_label, got_text), = c.metrics_lines()
    assert got_label == label and got_text.startswith(text)
