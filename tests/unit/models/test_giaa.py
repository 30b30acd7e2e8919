"""GenericHead: learns an ordering, outputs distributions, round-trips its state, validates input."""
import numpy as np
import pytest

from piaa.data.ratings import RatingsDataset, Scale, make_ratings
from piaa.metrics import srocc
from piaa.models.giaa import GenericHead, distributions_from_ratings, kfold_indices, select_params
from piaa.state import state_from_bytes, state_to_bytes

SCALE = Scale(1.0, 7.0, 7)


def synthetic(n=240, d=40, seed=0):
    """Features whose first direction decides the mean score; distributions are binned noisy ratings."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    latent = X[:, 0] + 0.5 * X[:, 1]
    mean = 4 + 1.2 * latent / latent.std()
    ratings = np.clip(np.rint(mean[:, None] + rng.normal(0, 1.0, (n, 30))), 1, 7)
    D = np.stack([np.bincount(r.astype(int) - 1, minlength=7) for r in ratings]).astype(float)
    return X + 3.0, D / D.sum(1, keepdims=True), mean  # non-negative like ReLU features


FAST = dict(hidden=(32,), dropout=0.1, epochs=40, batch_size=32, lr=3e-3, components=None)


def test_fit_recovers_ordering_and_distributions_sum_to_one():
    X, D, mean = synthetic()
    head = GenericHead(SCALE, **FAST).fit(X[:180], D[:180])
    P = head.predict_distribution(X[180:])
    assert P.shape == (60, 7)
    np.testing.assert_allclose(P.sum(1), 1.0, atol=1e-9)
    assert (P >= 0).all()
    pred = head.predict(X[180:])
    np.testing.assert_allclose(pred, P @ np.arange(1, 8))
    assert ((pred >= 1) & (pred <= 7)).all()
    assert srocc(pred, mean[180:]) > 0.7


def test_fit_is_deterministic_given_seed_and_seed_matters():
    X, D, _ = synthetic(n=120)
    a = GenericHead(SCALE, seed=3, **FAST).fit(X, D).predict(X)
    b = GenericHead(SCALE, seed=3, **FAST).fit(X, D).predict(X)
    c = GenericHead(SCALE, seed=4, **FAST).fit(X, D).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_state_round_trip_gives_identical_predictions():
    X, D, _ = synthetic(n=100)
    head = GenericHead((1, 7, 7), n_models=2, loss="emd", log_features=True, **FAST).fit(X, D)
    blob = state_to_bytes(head.state_dict())
    back = GenericHead.from_state_dict(state_from_bytes(blob))
    np.testing.assert_array_equal(back.predict_distribution(X), head.predict_distribution(X))
    assert back.get_params()["n_models"] == 2 and back.loss == "emd"
    half = GenericHead.from_state_dict(state_from_bytes(state_to_bytes(head.state_dict(dtype="float16"))))
    assert np.max(np.abs(half.predict(X) - head.predict(X))) < 0.05


def test_paper_architecture_defaults_and_other_scales():
    head = GenericHead(Scale(1, 10, 10))
    assert tuple(head.hidden) == (1024, 512) and head.loss == "l2"
    X, D, _ = synthetic(n=60, d=12)
    D10 = np.hstack([D, np.zeros((60, 3))])
    fitted = GenericHead(Scale(1, 10, 10), **{**FAST, "components": None}).fit(X, D10)
    assert fitted.predict_distribution(X).shape == (60, 10)
    assert fitted.components_.shape[1] <= 12


@pytest.mark.parametrize("bad, msg", [
    (lambda X, D: (X[:, :, None], D), "2-D"),
    (lambda X, D: (X, D[:, :5]), "shape"),
    (lambda X, D: (X[:10], D), "distributions"),
    (lambda X, D: (np.where(np.arange(len(X))[:, None] == 2, np.nan, X), D), "row 2"),
    (lambda X, D: (X, np.zeros_like(D)), "sums to zero"),
])
def test_fit_rejects_bad_input_with_clear_errors(bad, msg):
    X, D, _ = synthetic(n=20, d=6)
    with pytest.raises(ValueError, match=msg):
        GenericHead(SCALE, **FAST).fit(*bad(X, D))


def test_predict_before_fit_and_wrong_width():
    X, D, _ = synthetic(n=30, d=6)
    with pytest.raises(RuntimeError, match="not fitted"):
        GenericHead(SCALE).predict(X)
    head = GenericHead(SCALE, **FAST).fit(X, D)
    with pytest.raises(ValueError, match="fitted on 6"):
        head.predict(X[:, :5])
    with pytest.raises(ValueError, match="no parameter"):
        head.set_params(nonsense=1)


def test_distributions_from_ratings_counts_buckets():
    r = make_ratings(["u1", "u2", "u3", "u1"], ["a.jpg", "a.jpg", "a.jpg", "b.jpg"], [1, 1, 7, 4])
    ds = RatingsDataset("t", r, SCALE)
    D = distributions_from_ratings(ds, ["b.jpg", "a.jpg"])
    np.testing.assert_allclose(D[0], np.eye(7)[3])
    np.testing.assert_allclose(D[1], [2 / 3, 0, 0, 0, 0, 0, 1 / 3])
    with pytest.raises(KeyError, match="c.jpg"):
        distributions_from_ratings(ds, ["c.jpg"])


def test_select_params_uses_given_folds_only_and_picks_better_option():
    X, D, _ = synthetic(n=120)
    grid = [{"epochs": 1, "lr": 1e-6}, {"epochs": 40}]
    best, table = select_params(X, D, SCALE, grid=grid, base={**FAST}, groups=np.repeat(["a", "b", "c"], 40))
    assert best["epochs"] == 40
    assert len(table) == 2 and len(table[0]["cv_srocc_folds"]) == 3
    folds = kfold_indices(10, 3, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(10))


def test_float16_state_keeps_tiny_feature_scales():
    X, D, _ = synthetic(n=60, d=8)
    X[:, 3] = 1.0 + np.linspace(0, 1e-6, 60)  # std ~3e-7: zero in float16
    head = GenericHead(SCALE, **FAST).fit(X, D)
    state = head.state_dict(dtype="float16")
    assert state["arrays"]["feature_std"].dtype == np.float32
    assert state["arrays"]["components"].dtype == np.float16
    half = GenericHead.from_state_dict(state)
    assert np.isfinite(half.predict(X)).all()


def test_bench_helpers_metrics_and_head_option_parsing():
    from piaa.cli.cmd_bench import parse_head_options
    from piaa.evaluation.giaa import giaa_fold_metrics

    assert parse_head_options(["n_models=3", "hidden=256,128", "loss=emd", "components=none", "lr=0.01"]) == {
        "n_models": 3, "hidden": (256, 128), "loss": "emd", "components": None, "lr": 0.01}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_head_options(["n_models"])
    true = np.eye(7)[[0, 3, 6]]
    m = giaa_fold_metrics(true.copy(), true, np.arange(1, 8), threshold=4)
    assert m["srocc"] == pytest.approx(1) and m["acc"] == 1 and m["emd"] == 0 and m["n_test"] == 3
    flipped = giaa_fold_metrics(true[::-1].copy(), true, np.arange(1, 8), threshold=4)
    assert flipped["srocc"] == pytest.approx(-1) and flipped["emd"] > 0
