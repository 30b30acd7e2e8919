"""`piaa train beauty`: a group's own beauty model from several people's ratings, usable with
`piaa score --model FILE` and `piaa profile create --base FILE`; synthetic photos whose taste is brightness."""
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

N = 30


@pytest.fixture(scope="module")
def club(tmp_path_factory):
    d = tmp_path_factory.mktemp("club")
    rng = np.random.default_rng(0)
    light = {}
    yy, xx = np.mgrid[0:96, 0:128]
    for i in range(N):
        level = 20 + 215 * i / (N - 1)
        wave = np.sin(xx / (2 + i % 7) + yy / (3 + i % 4))[..., None] * 25
        img = np.clip(level + wave + rng.normal(0, 6, (96, 128, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(d / f"p{i:02d}.jpg", quality=90)
        light[f"p{i:02d}.jpg"] = level
    rows = []
    for u in range(6):
        for im, lv in light.items():
            stars = int(np.clip(np.round(1 + 4 * lv / 235 + rng.normal(scale=0.6)), 1, 5))
            rows.append((f"m{u}", im, stars))
    pd.DataFrame(rows, columns=["user", "image", "rating"]).to_csv(d / "club.csv", index=False)
    mine = [(im, int(np.clip(np.round(1 + 4 * lv / 235), 1, 5))) for im, lv in list(light.items())[::2]]
    pd.DataFrame(mine, columns=["image", "rating"]).to_csv(d / "mine.csv", index=False)
    return d, light


def test_train_score_and_profile_on_the_group_model(club, capsys):
    from scipy.stats import spearmanr

    from piaa.cli.main import main

    d, light = club
    model = d / "club.npz"
    assert main(["train", "beauty", "--ratings", str(d / "club.csv"), "--images", str(d), "--output", str(model),
                 "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["people"] == 6 and out["photos"] == N and out["taste_prior"] is True and out["scale"] == [1, 5]
    assert main(["score", str(d), "--model", str(model), "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    recs = recs if isinstance(recs, list) else recs["results"]
    got = {r["path"].split("/")[-1]: r.get("score", (r.get("scores") or {}).get(out["name"])) for r in recs}
    assert all(1.0 <= s <= 5.0 for s in got.values())
    assert spearmanr([got[k] for k in light], [light[k] for k in light])[0] > 0.7   # it learned the group's taste
    store = str(d / "profiles.sqlite")
    assert main(["profile", "create", "ann", "--ratings", str(d / "mine.csv"), "--images", str(d), "--scale", "1",
                 "5", "--base", str(model), "--store", store, "--no-assess", "--format", "json"]) == 0
    capsys.readouterr()
    from piaa.profiles.profile import Profile

    prof = Profile.load("ann", store=store)
    assert prof.method == "probe-prior" and prof.estimator.prior_ref_ == f"file:{model.resolve()}"
    assert prof.meta["generic_model"] == str(model.resolve())        # loads the group's model again
    assert prof.scorer.name == out["name"]                          # (not the default model)


def test_bad_inputs_are_one_line_errors(club, tmp_path, capsys):
    from piaa.cli.main import main

    d, _ = club
    (tmp_path / "few.csv").write_text("user,image,rating\na,p00.jpg,3\nb,p01.jpg,4\n")
    assert main(["train", "beauty", "--ratings", str(tmp_path / "few.csv"), "--images", str(d), "--output",
                 str(tmp_path / "m.npz")]) == 1
    assert "at least 20" in capsys.readouterr().err
    assert main(["train", "beauty", "--ratings", str(tmp_path / "none.csv"), "--output",
                 str(tmp_path / "m.npz")]) == 1
    assert main(["profile", "create", "x", "--ratings", str(d / "mine.csv"), "--images", str(d),
                 "--base", str(tmp_path / "missing.npz"), "--store", str(tmp_path / "s.sqlite")]) == 1
    assert "base model not found" in capsys.readouterr().err
