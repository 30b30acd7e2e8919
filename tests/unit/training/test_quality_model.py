"""Photo-quality pieces: RidgeHead, the CV protocol, multi-model scoring and ``piaa score --quality``."""
import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from piaa.cli.main import main
from piaa.models.giaa import GenericHead
from piaa.models.linear_head import RidgeHead, head_from_state, ridge_path
from piaa.training.quality_model import choose_alpha, cross_validate, stratified_folds
from piaa.models.scorer import load_scorer, make_model_state, register_scoring_model, score_many, SCORING_MODELS
from piaa.state import load_state, save_state

DIM = 3120  # lite0 multilevel


def _linear_data(n=120, d=30, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = np.abs(rng.standard_normal((n, d)))
    w = rng.standard_normal(d)
    z = X @ w
    y = (z - z.min()) / (z.max() - z.min())
    return X, np.clip(y + noise * rng.standard_normal(n), 0, 1)


def test_ridge_head_matches_closed_form_and_round_trips(tmp_path):
    X, y = _linear_data()
    head = RidgeHead((0, 1, 11), alpha=5.0).fit(X, y)
    A = (X - X.mean(0)) / X.std(0)
    coef = np.linalg.solve(A.T @ A + 5.0 * np.eye(A.shape[1]), A.T @ (y - y.mean()))
    assert np.allclose(head.decision(X), A @ coef + y.mean(), atol=1e-8)
    # the dual path gives the same predictions for every strength
    out = ridge_path(A, y, A, [5.0, 50.0])
    assert np.allclose(out[5.0], head.decision(X), atol=1e-6)
    p = head.predict(X)
    assert p.min() >= 0 and p.max() <= 1
    D = head.predict_distribution(X)
    assert D.shape == (len(X), 11) and np.allclose(D.sum(1), 1) and np.allclose(D @ head.bucket_values, p)
    save_state(tmp_path / "h.npz", head.state_dict(dtype="float64"))
    back = head_from_state(load_state(tmp_path / "h.npz"))
    assert isinstance(back, RidgeHead) and np.allclose(back.predict(X), p)
    with pytest.raises(ValueError, match="expected 30 features"):
        back.predict(X[:, :5])
    with pytest.raises(RuntimeError, match="not fitted"):
        RidgeHead().predict(X)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        RidgeHead(alpha=0).fit(X, y)


def test_stratified_folds_balance_every_subset():
    groups = np.array(["ss01"] * 23 + ["ss02"] * 11 + ["ss03"] * 50, dtype=object)
    fold = stratified_folds(groups, 5, seed=0)
    for g in ("ss01", "ss02", "ss03"):
        counts = np.bincount(fold[groups == g], minlength=5)
        assert counts.max() - counts.min() <= 1
    assert (stratified_folds(groups, 5, seed=0) == fold).all() and not (stratified_folds(groups, 5, 1) == fold).all()


def test_cv_learns_a_signal_and_not_noise():
    X, y = _linear_data(n=200, d=20, noise=0.02)
    subsets = np.array(["a", "b"] * 100, dtype=object)
    alphas = (0.1, 10.0, 1000.0)
    rep, pred = cross_validate(X, y, subsets, alphas=alphas, n_folds=5)
    assert rep["srocc"] > 0.9 and len(rep["folds"]) == 5 and set(rep["per_subset"]) == {"a", "b"}
    assert all(f["options"]["alpha"] < 1000 for f in rep["folds"]) and np.isfinite(pred).all()
    assert set(rep["every_alpha_validation_srocc"]) == {"0.1", "10", "1000"}
    rng = np.random.default_rng(1)
    noise_rep, _ = cross_validate(X, rng.uniform(size=200), subsets, alphas=alphas, n_folds=5)
    assert abs(noise_rep["srocc"]) < 0.2


def test_closed_form_leave_one_out_matches_refitting():
    X, y = _linear_data(n=40, d=60, noise=0.1)
    A = (X - X.mean(0)) / X.std(0)
    _, loo = ridge_path(A, y, A[:1], [3.0], loo=True)
    i = 7
    keep = np.arange(40) != i
    ym = y.mean()  # the closed form treats the target mean as known
    c = np.linalg.solve(A[keep] @ A[keep].T + 3.0 * np.eye(39), y[keep] - ym)
    assert loo[3.0][i] == pytest.approx(A[i] @ (A[keep].T @ c) + ym, abs=1e-8)
    alpha, table = choose_alpha(X, y, alphas=(0.01, 3.0, 1e6))
    assert alpha == max(table, key=table.get) and set(table) == {0.01, 3.0, 1e6}


@pytest.fixture(scope="module")
def quality_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((40, DIM)))
    head = RidgeHead((0, 1, 11), alpha=100.0).fit(X, rng.uniform(size=40))
    state = make_model_state(head, "test-quality", "efficientnet_lite0", "multilevel", "random numbers",
                             extra={"criterion": "quality"})
    path = tmp_path_factory.mktemp("qmodel") / "test-quality.npz"
    save_state(path, state)
    return path


@pytest.fixture(scope="module")
def beauty_file(tmp_path_factory):
    rng = np.random.default_rng(1)
    X = np.abs(rng.standard_normal((40, DIM)))
    head = GenericHead((1, 7, 7), hidden=(16,), epochs=3, components=8).fit(X, rng.dirichlet(np.ones(7), 40))
    path = tmp_path_factory.mktemp("bmodel") / "test-beauty.npz"
    save_state(path, make_model_state(head, "test-beauty", "efficientnet_lite0", "multilevel", "random numbers"))
    return path


def _photos(tmp_path, n=3):
    d = tmp_path / "photos"
    d.mkdir()
    rng = np.random.default_rng(3)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(d / f"p{i}.jpg")
    (d / "broken.jpg").write_text("not an image")
    return d


def test_score_many_shares_features_and_labels_by_criterion(quality_file, beauty_file, tmp_path):
    d = _photos(tmp_path)
    q = load_scorer(str(quality_file), engine="torch", cache=None)
    b = load_scorer(str(beauty_file), engine="torch", cache=None)
    assert q.criterion == "quality" and b.criterion == "beauty" and q.score_range == (0.0, 1.0)
    paths = sorted(str(p) for p in d.iterdir())
    recs = score_many([b, q], paths)
    ok = [r for r in recs if "scores" in r]
    assert len(ok) == 3 and [r for r in recs if "error" in r][0]["path"].endswith("broken.jpg")
    single_q, single_b = q.score(paths), b.score(paths)
    for r, rq, rb in zip(recs, single_q, single_b):
        if "scores" in r:
            assert list(r["scores"]) == ["beauty", "quality"]
            assert r["scores"]["quality"] == pytest.approx(rq["score"]) and r["scores"]["beauty"] == pytest.approx(rb["score"])
            assert 0 <= r["scores"]["quality"] <= 1
    with pytest.raises(ValueError, match="listed twice"):
        score_many([q, q], paths)


def test_cli_quality_column_and_model_list(quality_file, beauty_file, tmp_path, capsys):
    d = _photos(tmp_path)
    register_scoring_model("test-quality-cli", quality_file)
    try:
        rc = main(["score", str(d), "--model", f"{beauty_file},test-quality-cli", "--format", "csv", "-q"])
        out = capsys.readouterr()
        assert rc == 0
        rows = list(csv.DictReader(io.StringIO(out.out)))
        assert list(rows[0]) == ["path", "beauty", "quality", "error"] and len(rows) == 4
        good = [r for r in rows if not r["error"]]
        assert len(good) == 3 and all(0 <= float(r["quality"]) <= 1 and 1 <= float(r["beauty"]) <= 7 for r in good)
        assert main(["score", str(d), "--model", f"{beauty_file},test-quality-cli", "--format", "json", "-q"]) == 0
        recs = json.loads(capsys.readouterr().out)
        assert set(recs[0]) in ({"path", "scores"}, {"path", "error"})
        assert main(["score", str(d / "p0.jpg"), "--model", f"{beauty_file},test-quality-cli", "-q"]) == 0
        table = capsys.readouterr().out.splitlines()
        assert "beauty (1-7)" in table[0] and "quality (0-1)" in table[0] and len(table) == 2
        # a single quality model keeps the one-model output (score column on 0-1)
        assert main(["score", str(d / "p0.jpg"), "--model", "test-quality-cli", "--format", "csv", "-q"]) == 0
        row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert 0 <= float(row["score"]) <= 1
    finally:
        SCORING_MODELS.unregister("test-quality-cli")


def test_model_names_from_flags():
    from piaa.cli.cmd_score import model_names

    assert model_names(None, True) == [None, "quality"]
    assert model_names("default,quality", True) == ["default", "quality"]
    assert model_names("beauty, quality ", False) == ["beauty", "quality"]
    assert model_names(None, False) == [None]
