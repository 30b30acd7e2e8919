"""ProbePersonalizer (residual ridge, LOO alpha) and the baseline helpers."""
import numpy as np
import pytest

from piaa.data.ratings import Scale
from piaa.evaluation.methods.baselines import rescale, soft_distributions
from piaa.personalize.probe import ProbePersonalizer
from piaa.personalize.registry import get_personalizer_class, make_personalizer
from piaa.state import state_from_bytes, state_to_bytes


def _data(n=60, d=40, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.zeros(d)
    w[:3] = [1.0, -0.5, 0.25]
    off = rng.normal(size=n)
    y = off + X @ w + 2.0 + noise * rng.normal(size=n)
    return X, y, off, w


def test_registered_as_probe():
    assert get_personalizer_class("probe") is ProbePersonalizer
    assert isinstance(make_personalizer("probe"), ProbePersonalizer)


def test_fits_the_residual_of_the_offset():
    X, y, off, w = _data()
    est = ProbePersonalizer(feature_mean=np.zeros(40), feature_scale=np.ones(40)).fit(X[:50], y[:50], offset=off[:50])
    pred = est.predict(X[50:], offset=off[50:])
    assert np.corrcoef(pred, y[50:])[0, 1] > 0.95
    assert est.coef_[0] > 0.5 and est.coef_[1] < -0.2
    # without the offset the same features explain much less
    plain = ProbePersonalizer().fit(X[:50], y[:50]).predict(X[50:])
    assert np.corrcoef(plain, y[50:])[0, 1] < np.corrcoef(pred, y[50:])[0, 1]


def test_alpha_by_leave_one_out_follows_the_noise():
    X, y, off, _ = _data(noise=0.01)
    quiet = ProbePersonalizer().fit(X[:40], y[:40], offset=off[:40])
    rng = np.random.default_rng(3)
    noisy = ProbePersonalizer().fit(X[:40], rng.normal(size=40), offset=np.zeros(40))
    assert noisy.alpha_ > quiet.alpha_


def test_loo_matches_brute_force():
    X, y, off, _ = _data(n=15, d=8, noise=0.5)
    est = ProbePersonalizer(alphas=(0.3,), feature_mean=np.zeros(8), feature_scale=np.ones(8)).fit(X, y)
    errs = []
    for i in range(15):
        m = np.arange(15) != i
        one = ProbePersonalizer(alphas=(0.3,), feature_mean=np.zeros(8), feature_scale=np.ones(8))
        # same absolute alpha: the grid is relative to the mean squared singular value of the fit's data
        Xc = X[m] - X[m].mean(0)
        base = (np.linalg.svd(Xc, compute_uv=False) ** 2).mean()
        Xall = X - X.mean(0)
        base_all = (np.linalg.svd(Xall, compute_uv=False) ** 2).mean()
        one.alphas = (0.3 * base_all / base,)
        one.fit(X[m], y[m])
        errs.append((one.predict(X[i:i + 1])[0] - y[i]) ** 2)
    assert est.loo_mse_ == pytest.approx(np.mean(errs), rel=1e-6)


def test_state_round_trip_and_nan_rows():
    X, y, off, _ = _data()
    X[3] = np.nan
    est = ProbePersonalizer().fit(X[:30], y[:30], offset=off[:30])
    state = state_from_bytes(state_to_bytes(est.state_dict()))
    back = ProbePersonalizer.from_state_dict(state)
    np.testing.assert_allclose(back.predict(X[30:], offset=off[30:]), est.predict(X[30:], offset=off[30:]))
    assert back.alpha_ == est.alpha_ and back.get_params()["variant"] == "multilevel"


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        ProbePersonalizer().predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        ProbePersonalizer().fit(np.zeros((1, 3)), [1.0])
    est = ProbePersonalizer().fit(np.random.default_rng(0).normal(size=(5, 3)), [1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="3"):
        est.predict(np.zeros((2, 4)))


def test_soft_distributions_keep_the_mean():
    sc = Scale(1, 7, 7)
    d = soft_distributions(np.array([1.0, 3.25, 7.0, 9.0]), sc)
    np.testing.assert_allclose(d.sum(1), 1)
    np.testing.assert_allclose(d @ sc.values, [1.0, 3.25, 7.0, 7.0])
    assert (d > 0).sum(1).tolist() == [1, 2, 1, 1]


def test_rescale_maps_scales_linearly():
    np.testing.assert_allclose(rescale([1, 4, 7], Scale(1, 7, 7), Scale(1, 5, 5)), [1, 3, 5])


@pytest.mark.parametrize("n, d", [(12, 50), (50, 12)])
def test_matches_closed_form_ridge(n, d):
    rng = np.random.default_rng(n)
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    est = ProbePersonalizer(alphas=(0.5,), feature_mean=np.zeros(d), feature_scale=np.ones(d)).fit(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    coef = np.linalg.solve(Xc.T @ Xc + est.alpha_ * np.eye(d), Xc.T @ yc)
    np.testing.assert_allclose(est.coef_, coef, atol=1e-8)
    np.testing.assert_allclose(est.predict(X[:3]), X[:3] @ coef + y.mean() - X.mean(0) @ coef, atol=1e-8)
