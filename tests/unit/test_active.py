"""The active selector: the posterior update against a direct computation, batches, cold start, strategies, pairs."""
import numpy as np
import pandas as pd
import pytest

from piaa.personalize.active import (STRATEGIES, ActiveError, ActiveSelector, _Posterior, embed_library,
                                     select_next, select_pair, sequential_order)
from piaa.personalize.prior_probe import PriorProbePersonalizer, TastePrior

D, N = 30, 150


@pytest.fixture(scope="module")
def world():
    """A population whose taste differs along one feature direction, and a library of photos."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)) * rng.uniform(0.5, 2.0, size=D)
    Z = (X - X.mean(0)) / X.std(0)
    axis = Z[:, 3]
    quality = Z[:, 0]
    rows = []
    for p in range(50):
        imgs = rng.choice(N, 60, replace=False)
        s = 4 + quality[imgs] + rng.normal(scale=1.5) * axis[imgs] + rng.normal(scale=0.3, size=60)
        rows += [(f"p{p}", int(i), float(v)) for i, v in zip(imgs, s)]
    prior = TastePrior.fit(X, pd.DataFrame(rows, columns=["user", "image", "score"]))
    return X, prior, quality, axis


def test_posterior_update_matches_the_closed_form(world):
    X, prior, quality, _ = world
    lib = embed_library(X, prior, generic=quality)
    post = _Posterior(lib, noise=0.7)
    idx = [3, 17, 40, 41]
    for i in idx:
        post.observe(i)
    P = lib.phi[idx]
    direct = np.linalg.inv(np.diag(1 / lib.prior_var) + P.T @ P / 0.7)
    np.testing.assert_allclose(post.cov, direct, rtol=1e-6, atol=1e-9)


def test_every_strategy_returns_distinct_unrated_valid_rows(world):
    X, prior, quality, _ = world
    X = X.copy()
    X[5] = np.nan                      # an unreadable photo is never suggested
    rated = [0, 1, 2]
    for name in STRATEGIES:
        got = select_next(X, rated, [3.0, 4.0, 5.0], prior, n=12, generic=quality, strategy=name, exclude=[7])
        assert len(got) == 12 and len(set(got.tolist())) == 12, name
        assert not set(got.tolist()) & {0, 1, 2, 5, 7}, name


def test_batch_is_not_near_duplicates(world):
    X, prior, quality, _ = world
    Xd = np.vstack([X, np.repeat(X[:1], 20, axis=0)])     # 20 copies of photo 0
    got = select_next(Xd, [], None, prior, n=8, generic=np.r_[quality, np.repeat(quality[:1], 20)],
                      strategy="variance")
    dup = set(range(N, N + 20)) | {0}
    assert len(set(got.tolist()) & dup) <= 2     # a cluster of 21 identical photos earns at most a repeat


def test_cold_start_covers_the_prior_taste_direction(world):
    X, prior, quality, axis = world
    got = select_next(X, n=10, prior=prior, generic=quality)
    # the prior says people differ along `axis`: a good first batch spans it much more than a random batch
    rng = np.random.default_rng(1)
    rand = np.mean([np.std(axis[rng.choice(N, 10, replace=False)]) for _ in range(200)])
    assert np.std(axis[got]) > rand


def test_active_support_teaches_the_probe_at_least_as_well_as_random(world):
    X, prior, quality, axis = world
    rng = np.random.default_rng(3)
    wins = []
    for _person in range(10):
        truth = 4 + quality + rng.choice([-1.5, 1.5]) * axis
        y = truth + rng.normal(scale=0.3, size=N)
        sel = ActiveSelector(X, prior, quality)
        order = sequential_order(sel, y, 10, batch=5)
        rnd = rng.choice(N, 10, replace=False)
        err = []
        for s in (order, rnd):
            est = PriorProbePersonalizer(prior=prior).fit(X[s], y[s], offset=quality[s])
            err.append(np.corrcoef(est.predict(X, offset=quality), truth)[0, 1])
        wins.append(err[0] - err[1])
    assert np.mean(wins) > -0.01


def test_sequential_order_only_sees_asked_ratings(world):
    X, prior, quality, _ = world
    y = np.arange(N, dtype=float)
    seen = []

    class Spy(ActiveSelector):
        def select(self, rated=(), scores=None, n=10, exclude=None):
            seen.append((list(rated), None if scores is None else list(scores)))
            return super().select(rated, scores, n, exclude)

    order = sequential_order(Spy(X, prior, quality), y, 12, batch=5)
    assert len(order) == 12 and len(seen) == 3
    for rated, scores in seen[1:]:
        assert scores == [float(i) for i in rated]


def test_pair_is_two_distinct_unrated_photos(world):
    X, prior, quality, _ = world
    a, b = select_pair(X, [0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0], prior, generic=quality)
    assert a != b and not {a, b} & {0, 1, 2, 3}


def test_bad_input_is_a_clear_error(world):
    X, prior, quality, _ = world
    with pytest.raises(ActiveError, match="unknown strategy"):
        select_next(X, prior=prior, strategy="magic")
    with pytest.raises(ActiveError, match="outside the library"):
        select_next(X, [N + 3], [1.0], prior)
    with pytest.raises(ActiveError, match="do not match"):
        select_next(X[:, :5], prior=prior)
    with pytest.raises(ActiveError, match="scores"):
        select_next(X, [1, 2], [1.0], prior)
    with pytest.raises(ActiveError, match="unknown selector setting"):
        select_next(X, prior=prior, nosie=1.0)


def test_large_library_uses_the_randomized_embedding(world, monkeypatch):
    import piaa.personalize.active as active

    X, prior, quality, _ = world
    exact = embed_library(X, prior, rank=10).emb
    monkeypatch.setattr(active, "EXACT_LIMIT", 50)
    approx = embed_library(X, prior, rank=10).emb
    # same kernel (up to the rotation of the embedding) on the leading directions
    np.testing.assert_allclose(exact @ exact.T, approx @ approx.T, atol=0.05 * np.abs(exact @ exact.T).max())
