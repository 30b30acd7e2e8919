"""Pairwise suggestions: the selector learns from comparisons and never offers a compared pair."""
import numpy as np
import pytest

from piaa.personalize.active import ActiveError, ActiveSelector
from piaa.personalize.prior_probe import TastePrior


def _selector(n=12, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    prior = TastePrior(rng.normal(size=(d, 2)).astype(np.float32), np.zeros(d, np.float32), np.ones(d, np.float32),
                       float(d), 2.0)
    return ActiveSelector(X, prior, generic=X[:, 0])


def test_a_compared_pair_is_never_offered_again_until_none_is_left():
    sel = _selector(n=5)
    pairs, seen = [], set()
    for _ in range(10):                       # 5 photos: 10 pairs, each offered once
        a, b = sel.select_pair(pairs=pairs)
        assert a != b and frozenset((a, b)) not in seen
        seen.add(frozenset((a, b)))
        pairs.append((a, b))
    with pytest.raises(ActiveError, match="compared"):
        sel.select_pair(pairs=pairs)


def test_the_pair_moves_on_after_an_answer():
    """Regression: the page showed the same pair forever, since the selector was never told the comparisons."""
    sel = _selector()
    first = sel.select_pair()
    second = sel.select_pair(pairs=[first])
    assert set(second) != set(first)


def test_comparisons_update_the_posterior_like_ratings():
    sel = _selector()
    _, _, post0 = sel._state([], None, None)
    _, _, post1 = sel._state([], None, None, pairs=[(0, 1)])
    d = sel.lib.phi[0] - sel.lib.phi[1]
    assert d @ post1.cov @ d < d @ post0.cov @ d          # the difference is known better after comparing it
    mean = sel._posterior_mean(np.zeros(0, int), None, post1, [(0, 1)])
    assert mean[0] > mean[1]                               # the one preferred is expected to score higher


def test_stars_and_comparisons_together_and_bad_pairs():
    sel = _selector()
    a, b = sel.select_pair([2, 3], [5.0, 1.0], pairs=[(4, 5)])
    assert {a, b}.isdisjoint({2, 3}) and frozenset((a, b)) != frozenset((4, 5))
    with pytest.raises(ActiveError, match="not a pair"):
        sel.select_pair(pairs=[(0, 99)])


def test_a_skipped_pair_is_avoided_without_being_learned_from():
    sel = _selector()
    first = sel.select_pair()
    assert set(sel.select_pair(avoid=[first])) != set(first)
    _, _, post = sel._state([], None, None)
    _, _, post_pairs = sel._state([], None, None, pairs=[])
    assert np.allclose(post.cov, post_pairs.cov)
