"""The shipped photo-quality model on real BIQ2021 photos, through `piaa score` (the path the held-back test uses)."""
import csv
import io
import json

import numpy as np
import pytest

from piaa.cli.main import main
from piaa.metrics import srocc

@pytest.mark.shared_data
def test_score_model_quality_on_biq2021_photos(shared_data, capsys, tmp_path):
    rows = list(csv.DictReader(open(shared_data / "biq2021" / "train.csv")))
    rows = sorted(rows, key=lambda r: float(r["mos"]))[::100]  # 40 training photos spanning the MOS range
    folder = tmp_path / "photos"
    folder.mkdir()
    for r in rows:  # links, not copies: the images stay in ../shared
        (folder / r["image"]).symlink_to(shared_data / "biq2021" / "images" / r["image"])
    assert main(["score", str(folder), "--model", "quality", "--format", "csv", "-q"]) == 0
    out = {io_row["path"].rsplit("/", 1)[-1]: float(io_row["score"])
           for io_row in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert len(out) == len(rows) and all(0.0 <= v <= 1.0 for v in out.values())
    pred = np.array([out[r["image"]] for r in rows])
    mos = np.array([float(r["mos"]) for r in rows])
    assert srocc(pred, mos) > 0.7  # training photos: a sanity check of model + features, not an accuracy claim
    # beauty and quality side by side, one feature extraction
    assert main(["score", str(folder), "--quality", "--format", "json", "-q"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert all(set(r["scores"]) == {"beauty", "quality"} for r in recs)
    q = {r["path"].rsplit("/", 1)[-1]: r["scores"]["quality"] for r in recs}
    assert all(q[k] == pytest.approx(v, abs=1e-4) for k, v in out.items())


def test_quality_model_is_listed_and_loadable_by_name(capsys):
    import piaa

    s = piaa.load_scorer("quality")
    assert s.criterion == "quality" and s.score_range == (0.0, 1.0) and not s.lower_better
    assert s.name == "piaa-quality-v3-lite0" and s.info["metrics"]["srocc"] > 0.7 and s.native
    assert s.info["metrics"]["srocc_agiqa3k"] > 0.7  # photos and generated images, one model
    assert main(["models", "--format", "json"]) == 0
    names = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert names["biq2021-quality-lite0"]["criterion"] == "quality"
