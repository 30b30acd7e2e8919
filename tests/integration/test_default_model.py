"""The embedded default model on real OASIS photos: published range, agreement with the mean beauty."""
import json

import numpy as np
import pytest

from piaa.metrics import srocc

pytestmark = pytest.mark.shared_data


def _sample(shared_data, n=24):
    from piaa.data import load_dataset

    ds = load_dataset("oasis-beauty", shared_data / "oasis-beauty")
    means = ds.image_means().sort_values()
    # spread over the whole range of mean beauty, plus the RGBA PNG that is named .jpg
    picks = list(means.index[np.linspace(0, len(means) - 1, n - 1).astype(int)]) + ["Monkey 3.jpg"]
    return ds, [shared_data / "oasis" / "images" / p for p in picks], means.reindex(picks).to_numpy()


def test_default_model_scores_oasis_in_range_and_tracks_mean_beauty(shared_data):
    import piaa

    assert "oasis-beauty-lite0" in piaa.list_models()
    scorer = piaa.load_scorer()
    assert scorer.score_range == (1.0, 7.0) and scorer.lower_better is False
    _, paths, truth = _sample(shared_data)
    recs = scorer.score(paths)
    assert all("error" not in r for r in recs), [r for r in recs if "error" in r]
    scores = np.array([r["score"] for r in recs])
    assert ((scores >= 1) & (scores <= 7)).all()
    # the model was trained on these images: this checks the shipped file and the pipeline, not accuracy
    # (held-out accuracy is `piaa bench giaa`)
    assert srocc(scores, truth) > 0.5
    info = scorer.info
    assert info["metrics"]["srocc"] > 0.7 and "OASIS" in info["training_data"]


def test_cli_scores_oasis_files_as_json(shared_data, capsys):
    from piaa.cli.main import main

    _, paths, _ = _sample(shared_data, n=6)
    assert main(["score", *map(str, paths), "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == len(paths) and all(1 <= r["score"] <= 7 for r in recs)
