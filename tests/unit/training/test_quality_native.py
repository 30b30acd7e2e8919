"""Quality v2: the blend head, and a model with native-resolution evidence scoring through ``piaa score``."""
import json

import numpy as np
import pytest
from PIL import Image
from tiny_backbone import one_torch_thread, register_tiny  # noqa: F401

from piaa.cli.main import main
from piaa.detail.crops import NativeEvidence
from piaa.detail.nss import N_FEATURES
from piaa.errors import InputError
from piaa.features import FeatureExtractor, engines
from piaa.models.blend_head import BlendHead
from piaa.models.giaa import GenericHead
from piaa.models.linear_head import RidgeHead, head_from_state
from piaa.models.scorer import (
    SCORING_MODELS,
    load_scorer,
    make_model_state,
    register_scoring_model,
    score_many,
)
from piaa.state import load_state, save_state


def _blend(d_whole, d_native, seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = np.abs(rng.standard_normal((n, d_whole + d_native)))
    y = np.clip(X[:, -1] / X[:, -1].max(), 0, 1)
    mlp = GenericHead((0, 1, 11), hidden=(16,), epochs=3, components=8).fit(X, np.eye(11)[np.round(y * 10).astype(int)])
    ridge = RidgeHead((0, 1, 11), alpha=10.0).fit(X[:, d_whole:], y)
    return BlendHead([mlp, ridge], [(0, None), (d_whole, None)], [3.0, 1.0]), mlp, ridge, X


def test_blend_is_the_weighted_mean_and_round_trips(tmp_path):
    head, mlp, ridge, X = _blend(20, 10)
    assert np.allclose(head.weights, [0.75, 0.25])
    expect = 0.75 * mlp.predict_distribution(X) + 0.25 * ridge.predict_distribution(X[:, 20:])
    assert np.allclose(head.predict_distribution(X), expect)
    assert np.allclose(head.predict(X), 0.75 * mlp.predict(X) + 0.25 * ridge.predict(X[:, 20:]))
    save_state(tmp_path / "b.npz", head.state_dict(dtype="float32"))
    back = head_from_state(load_state(tmp_path / "b.npz"))
    assert isinstance(back, BlendHead) and np.allclose(back.predict(X), head.predict(X), atol=1e-5)
    with pytest.raises(InputError, match="same buckets"):
        BlendHead([mlp, RidgeHead((1, 7, 7), alpha=1.0)], [(0, None), (0, None)], [1, 1])
    with pytest.raises(InputError, match="weights"):
        BlendHead([mlp], [(0, None)], [0.0])


@pytest.fixture
def tiny_v2(tmp_path):
    register_tiny("tiny_q2", tmp_path, seed=5)
    engines.clear_engines()
    d_whole = FeatureExtractor("tiny_q2", "multilevel", cache=None)._expected_shape()[0]
    native = {"crops": True, "nss": True, "layout": "five", "max_side": 400}
    d_native = NativeEvidence("tiny_q2", "multilevel", cache=None, **native)._expected_shape()[0]
    assert d_native == d_whole + N_FEATURES
    head, *_ = _blend(d_whole, d_native, seed=2)
    state = make_model_state(head, "tiny-quality-v2", "tiny_q2", "multilevel", "random numbers",
                             extra={"criterion": "quality", "native": native})
    path = tmp_path / "tiny-quality-v2.npz"
    save_state(path, state)
    register_scoring_model("tiny-quality-v2", path)
    yield path
    SCORING_MODELS.unregister("tiny-quality-v2")
    engines.clear_engines()


def _photos(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    rng = np.random.default_rng(4)
    for name, (w, h) in {"small.png": (60, 40), "mid.jpg": (500, 330), "big.jpg": (2400, 1600),
                         "icon.png": (12, 9)}.items():
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(d / name)
    (d / "broken.jpg").write_text("not an image")
    return d


def test_v2_model_scores_photos_of_any_size_through_the_cli(tiny_v2, tmp_path, capsys):
    d = _photos(tmp_path)
    assert main(["score", str(d), "--model", "tiny-quality-v2", "--format", "json", "-q"]) == 0
    recs = {r["path"].rsplit("/", 1)[-1]: r for r in json.loads(capsys.readouterr().out)}
    assert set(recs) == {"small.png", "mid.jpg", "big.jpg", "icon.png", "broken.jpg"}
    assert "error" in recs["broken.jpg"]
    scores = [recs[n]["score"] for n in ("small.png", "mid.jpg", "big.jpg", "icon.png")]  # any size is scored
    assert all(0 <= s <= 1 for s in scores)
    s = load_scorer("tiny-quality-v2", engine="torch", cache=None)
    assert s.native["max_side"] == 400 and len(s.extractors) == 2
    X, _ = s.features([d / "mid.jpg"])
    assert X.shape[1] == s.extractors[0]._expected_shape()[0] + s.extractors[1]._expected_shape()[0]
    assert s.score([d / "mid.jpg"])[0]["score"] == pytest.approx(recs["mid.jpg"]["score"], abs=1e-4)


def test_score_many_shares_the_whole_image_block(tiny_v2, tmp_path):
    d = _photos(tmp_path)
    rng = np.random.default_rng(6)
    dim = FeatureExtractor("tiny_q2", "multilevel", cache=None)._expected_shape()[0]
    beauty = GenericHead((1, 7, 7), hidden=(8,), epochs=2, components=4).fit(
        np.abs(rng.standard_normal((30, dim))), rng.dirichlet(np.ones(7), 30))
    bpath = tmp_path / "tiny-beauty.npz"
    save_state(bpath, make_model_state(beauty, "tiny-beauty", "tiny_q2", "multilevel", "random numbers"))
    b = load_scorer(str(bpath), engine="torch", cache=None)
    q = load_scorer(str(tiny_v2), engine="torch", cache=None)
    calls = []
    for fx in b.extractors + q.extractors:
        inner = fx.extract
        fx.extract = lambda items, inner=inner, key=fx.model_key: calls.append(key) or inner(items)
    paths = sorted(d.iterdir())
    recs = score_many([b, q], paths)
    assert len(calls) == 2 and len(set(calls)) == 2  # the whole-image block once, the native block once
    good = [r for r in recs if "scores" in r]
    assert len(good) == 4 and all(set(r["scores"]) == {"beauty", "quality"} for r in good)


def test_train_native_needs_both_databases(capsys):
    assert main(["train", "quality", "--native"]) != 0
    assert "--native needs --databases biq2021,agiqa3k" in capsys.readouterr().err


def test_select_blend_chooses_components_on_val_and_keeps_the_v2_key_format():
    from types import SimpleNamespace

    from piaa.training.quality_native import BLEND_WEIGHTS, RIDGE_ALPHAS, select_blend

    rng = np.random.default_rng(0)
    dbs, Xs, ys = [], [], []
    for name in ("a", "b"):
        X = np.abs(rng.standard_normal((80, 24)))
        y = np.clip(0.5 + 0.1 * (X[:, 0] - X[:, -1]), 0, 1)
        part = np.array(["train"] * 60 + ["val"] * 20, dtype=object)
        dbs.append(SimpleNamespace(database=name, part=part))
        Xs.append(X)
        ys.append(y)
    one = select_blend(Xs, ys, dbs, 16)
    assert one["components"] is None and set(one["val_mean_srocc"]) == {
        f"alpha={a:g} weight={w:g}" for a in RIDGE_ALPHAS for w in BLEND_WEIGHTS}
    two = select_blend(Xs, ys, dbs, 16, components=(4, 8))
    assert len(two["val_mean_srocc"]) == 2 * len(RIDGE_ALPHAS) * len(BLEND_WEIGHTS)
    best = max(two["val_mean_srocc"], key=two["val_mean_srocc"].get)
    assert best.startswith(f"components={two['components']} ") and two["components"] in (4, 8)


@pytest.mark.parametrize("bad", ["12,x", "0", "-3"])
def test_train_components_must_be_positive_numbers(capsys, bad):
    assert main(["train", "quality", "--databases", "biq2021,agiqa3k", "--native", "--components", bad]) != 0
    assert "--components" in capsys.readouterr().err


def test_z_targets_standardise_each_database_on_the_fitted_rows():
    from types import SimpleNamespace

    from piaa.training.quality_native import Z_SCALE, fit_targets

    part = np.array(["train"] * 4 + ["test"], dtype=object)
    dbs = [SimpleNamespace(database="a", part=part), SimpleNamespace(database="b", part=part)]
    ys = [np.array([0.2, 0.4, 0.6, 0.8, 5.0]), np.array([0.1, 0.1, 0.3, 0.3, 0.2])]
    same, stats = fit_targets(ys, dbs, ["train"], "mos")
    assert stats == {} and all(a is b for a, b in zip(same, ys))
    z, stats = fit_targets(ys, dbs, ["train"], "z")
    assert stats["a"][0] == pytest.approx(0.5) and stats["b"] == [pytest.approx(0.2), pytest.approx(0.1)]
    assert np.allclose(z[1], [0.5 - Z_SCALE, 0.5 - Z_SCALE, 0.5 + Z_SCALE, 0.5 + Z_SCALE, 0.5])
    assert z[0][-1] == 1.0  # clipped to the scale; the test row never moved the statistics
    with pytest.raises(InputError):
        fit_targets(ys, dbs, ["train"], "rank")


def test_train_targets_must_be_known_modes(capsys):
    assert main(["train", "quality", "--databases", "biq2021,agiqa3k", "--native", "--targets", "mos,rank"]) != 0
    assert "--targets: choose among mos, z" in capsys.readouterr().err
