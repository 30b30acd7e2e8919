"""The guarded selector: uncertainty sampling only while the pool and the person's answers fit the
model it trusts; random choice otherwise."""
import numpy as np

from piaa.personalize.active import ActiveSelector, model_fits
from piaa.personalize.prior_probe import TastePrior

D = 8


def _prior(rng):
    F = np.zeros((D, 2), np.float32)
    F[0, 0] = F[1, 1] = 1.0                       # people's tastes differ along features 0 and 1
    return TastePrior(F, np.zeros(D, np.float32), np.ones(D, np.float32), float(D), 2.0)


def test_a_pool_that_does_not_vary_along_the_taste_directions_is_sampled_at_random():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, D))
    home = ActiveSelector(X, _prior(rng), generic=X[:, 2])
    X_shift = X.copy()
    X_shift[:, :2] *= 0.3                          # the taste directions hardly vary in this pool
    away = ActiveSelector(X_shift, _prior(rng), generic=X[:, 2])
    assert home.lib.spread > 0.8 > away.lib.spread
    away.select([], None, 5)
    home.select([], None, 5)
    assert away.last_strategy == "random" and home.last_strategy == "guarded"


def test_answers_the_generic_score_cannot_order_send_it_to_random():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, D))
    sel = ActiveSelector(X, _prior(rng), generic=X[:, 2])
    rated = np.arange(12)
    assert model_fits(sel.lib, rated[:5], -X[:5, 2], sel.settings)       # too few answers to judge
    assert not model_fits(sel.lib, rated, -X[:12, 2], sel.settings)      # reversed: the model does not fit
    assert model_fits(sel.lib, rated, X[:12, 2] + 0.1 * rng.normal(size=12), sel.settings)
    sel.select(rated, -X[:12, 2], 5)
    assert sel.last_strategy == "random"


def test_random_choices_differ_between_pools():
    """Regression: random picks were seeded by (seed, asked, n) only, so in an evaluation every person of a trial
    got the same row positions — nearly the same photos of a shared library — one design per trial."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, D))
    a = ActiveSelector(X[:60], _prior(rng), strategy="random").select([], None, 10)
    b = ActiveSelector(X[20:], _prior(rng), strategy="random").select([], None, 10)
    again = ActiveSelector(X[:60], _prior(rng), strategy="random").select([], None, 10)
    assert list(a) != list(b) and list(a) == list(again)
