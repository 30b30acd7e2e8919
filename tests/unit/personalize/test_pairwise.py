"""Probe-prior fitted on ratings and Bradley-Terry comparisons together (piaa.personalize.pairwise)."""
import numpy as np
import pytest

from piaa.personalize.default_prior import load_default_prior
from piaa.personalize.pairwise import fit_prior_probe_pairwise
from piaa.personalize.prior_probe import PriorProbePersonalizer


@pytest.fixture(scope="module")
def taste():
    """Photos whose features carry a taste direction the population prior knows about."""
    prior = load_default_prior()
    rng = np.random.default_rng(0)
    n = 80
    direction = prior.factor64[:, 0] / np.linalg.norm(prior.factor64[:, 0])
    Z = rng.normal(size=(n, prior.dim))
    t = rng.normal(size=n)
    Z += 3.0 * t[:, None] * direction[None, :]
    X = Z * prior.feature_scale + prior.feature_mean
    generic = rng.normal(4.0, 0.3, n)
    return X, generic, t


def test_ratings_only_is_exactly_probe_prior(taste):
    X, g, t = taste
    y = 4 + t[:20]
    a = fit_prior_probe_pairwise(X[:20], g[:20], np.arange(20), y)
    b = PriorProbePersonalizer().fit(X[:20], y, offset=g[:20])
    np.testing.assert_allclose(a.predict(X, offset=g), b.predict(X, offset=g))


def test_comparisons_alone_teach_the_order(taste):
    X, g, t = taste
    train = np.arange(40)
    pairs = [(i, j) if t[i] > t[j] else (j, i) for i, j in zip(train[::2], train[1::2])]
    est = fit_prior_probe_pairwise(X[:40], g[:40], [], [], pairs)
    s = est.predict(X, offset=g)
    held = np.arange(40, 80)
    i, j = np.nonzero(t[held][:, None] > t[held][None, :])
    assert np.mean(s[held][i] > s[held][j]) > 0.75          # unseen photos are ordered by the taste
    assert est.n_comparisons_ == len(pairs)
    state = est.state_dict()                                  # saved and restored like any probe-prior
    again = PriorProbePersonalizer.from_state_dict(state)
    np.testing.assert_allclose(again.predict(X, offset=g), s)


def test_comparisons_add_to_ratings(taste):
    X, g, t = taste
    y = 4 + t[:6] + np.random.default_rng(1).normal(0, 1.5, 6)       # few, noisy ratings
    pairs = [(i, j) if t[i] > t[j] else (j, i) for i, j in zip(range(6, 40, 2), range(7, 40, 2))]
    only = fit_prior_probe_pairwise(X[:40], g[:40], np.arange(6), y).predict(X, offset=g)
    both = fit_prior_probe_pairwise(X[:40], g[:40], np.arange(6), y, pairs).predict(X, offset=g)
    held = np.arange(40, 80)
    i, j = np.nonzero(t[held][:, None] > t[held][None, :])
    acc = lambda s: np.mean(s[held][i] > s[held][j])  # noqa: E731
    assert acc(both) > acc(only)


def test_bad_input():
    prior = load_default_prior()
    X = np.tile(prior.feature_mean, (3, 1))
    with pytest.raises(ValueError, match="two different"):
        fit_prior_probe_pairwise(X, np.zeros(3), [], [], [(1, 1)])
    with pytest.raises(ValueError, match="finite"):
        fit_prior_probe_pairwise(X, np.array([0, np.nan, 0]), [0], [1.0], [(0, 2)])
