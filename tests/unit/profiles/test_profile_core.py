"""The one profile core (piaa.profiles.core): the operations the CLI's profiles and `piaa serve` share."""
from __future__ import annotations

import numpy as np
import pytest

from piaa.errors import InputError
from piaa.profiles import core


@pytest.fixture
def taste():
    """Feature rows whose first direction is what a person likes, a small population prior over them."""
    from piaa.personalize.prior_probe import TastePrior

    rng = np.random.default_rng(0)
    d, n = 12, 40
    X = rng.normal(size=(n, d))
    like = X[:, 0] + 0.3 * rng.normal(size=n)
    stars = np.clip(np.round(3 + 1.2 * like), 1, 5)
    prior = TastePrior(rng.normal(size=(d, 3)).astype(np.float32), np.zeros(d, np.float32), np.ones(d, np.float32),
                       float(d), 3.0)
    generic = 4.0 + 0.1 * rng.normal(size=n)
    return X, generic, stars, {"prior": prior}


def test_fit_assess_and_scale(taste):
    X, g, stars, params = taste
    rated = np.arange(30)
    f = core.fit("probe-prior", X, g, rated, stars[rated], scale=(1, 5), model_scale=(1, 7), params=params)
    assert f.method == "probe-prior" and f.uses_offset and f.n_ratings == 30 and f.n_comparisons == 0
    a = f.assessment
    assert a["pairs_compared"] > 0 and a["pairs_right_profile"] > 0.7 > a["pairs_right_generic"]
    assert a["method_pairs"] == a["pairs_right_profile"] and "coin flip: 50" in a["summary"]
    model = core.predict_rows(f.estimator, X, g)
    assert np.allclose(model, core.predict(f.estimator, X, g), atol=1e-4)       # float32 product = predict
    shown = core.to_person_scale(model * 3, (1, 7), (1, 5))                        # far past the ends
    assert np.all((shown >= 1) & (shown <= 5))
    assert np.array_equal(np.argsort(shown), np.argsort(model))                    # order kept


def test_comparisons_and_the_stored_method(taste):
    X, g, stars, params = taste
    pairs = [(i, j) for i, j in zip(range(0, 20), range(20, 40)) if X[i, 0] > X[j, 0]]
    f = core.fit("probe-prior", X, g, np.arange(6), stars[:6], pairs, model_scale=(1, 7), params=params)
    assert f.n_comparisons == len(pairs) and "Bradley-Terry" in f.fit
    with pytest.raises(InputError, match="star ratings only"):
        core.fit_estimator("probe", X, g, np.arange(6), stars[:6], pairs)
    p = core.fit("probe", X, g, np.arange(30), stars[:30], assess=False)
    back = core.estimator_from_bytes("probe", core.estimator_to_bytes(p.estimator))
    assert type(back) is type(p.estimator) and type(back).method_name == "probe"    # the stored method, not probe-prior
    assert np.allclose(core.predict(back, X, g), core.predict(p.estimator, X, g))
    with pytest.raises(core.MethodUnavailable, match="available:"):
        core.estimator_from_bytes("no-such-method", b"")


def test_plain_words_say_what_a_coin_flip_is():
    worse = {"pairs_right_profile": 0.41, "pairs_right_generic": 0.55, "n": 60}
    assert core.plain_words(worse).startswith("Your profile does not know you yet") and "a coin flip: 50" in \
        core.plain_words(worse)
    few = {"pairs_right_profile": 0.70, "pairs_right_generic": 0.5, "n": 12}        # 12 ratings: within chance
    assert "cannot tell yet" in core.plain_words(few)
    many = {"pairs_right_profile": 0.70, "pairs_right_generic": 0.6, "n": 200}
    assert "knows you fairly well" in core.plain_words(many)
    assert "Not enough" in core.plain_words(None)


def test_similar_rows_and_check_enough():
    rng = np.random.default_rng(1)
    R = np.abs(rng.normal(size=(8, 5)))
    R[3] = np.nan
    idx, sims = core.similar_rows(R, R[5], top=3)
    assert idx[0] == 5 and sims[0] == pytest.approx(1.0) and 3 not in idx and list(sims) == sorted(sims, reverse=True)
    with pytest.raises(core.NotEnoughRatings, match="at least 10"):
        core.check_enough(5, 3, 3)
    with pytest.raises(core.NotEnoughRatings, match="all your ratings are equal"):
        core.check_enough(12, 0, 1)
    core.check_enough(0, 10, 0)
