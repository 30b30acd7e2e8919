"""The library's taste (piaa.personalize.community): what other people's ratings buy a newcomer, on synthetic
populations with a known structure."""
import numpy as np
import pandas as pd
import pytest

from piaa.errors import InputError
from piaa.metrics import srocc
from piaa.personalize.community import CommunityTaste, SettingsSearch, _shrink, fit_community

N_IMG, D = 80, 12


def _population(seed=0, n_people=40, per_person=80, groups=2):
    """Images with a shared quality and two taste groups that disagree along a hidden axis."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_IMG, D))
    quality = X[:, 0] + 0.3 * rng.normal(size=N_IMG)
    axis = rng.normal(size=N_IMG)                     # not in the features: only the community knows it
    rows, truth = [], {}
    for p in range(n_people):
        sign = 1.0 if p % groups == 0 else -1.0
        imgs = np.sort(rng.choice(N_IMG, per_person, replace=False))
        taste = quality + 1.5 * sign * axis
        truth[f"p{p}"] = taste
        s = 4 + taste[imgs] + rng.normal(scale=0.5, size=per_person)
        rows += [(f"p{p}", int(i), float(v)) for i, v in zip(imgs, s)]
    return X, pd.DataFrame(rows, columns=["user", "image", "score"]), quality, axis, truth


def test_zero_ratings_give_the_community_mean_and_unrated_images_the_content_score():
    X, r, quality, _, _ = _population()
    r = r[r["image"] < 70]                            # images 70.. nobody rated
    m = CommunityTaste.fit(r, N_IMG, features=X)
    means = r.groupby("image")["score"].mean()
    rated = np.arange(70)
    # many raters per image: the baseline is close to the mean
    assert np.corrcoef(m.baseline[rated], means.reindex(rated))[0, 1] > 0.95
    # unrated images are scored by content (the ridge head learned quality from X[:, 0])
    assert srocc(m.baseline[70:], quality[70:]) > 0.6
    assert np.all(m.counts[70:] == 0)


def test_own_ratings_reveal_the_group_the_community_cannot_see_in_the_features():
    X, r, _, axis, truth = _population()
    newcomer = truth["p0"]                            # same group as p0, p2, ...
    m = CommunityTaste.fit(r, N_IMG, features=X).with_settings(noise=1.0)
    support = np.arange(0, 80, 4)
    rest = np.setdiff1d(np.arange(N_IMG), support)
    y = 4 + newcomer[support]
    zero = srocc(m.predict([], [], rest), newcomer[rest])
    folded = srocc(m.predict(support, y, rest), newcomer[rest])
    assert folded > zero + 0.2                        # the mean averages both groups; the fold-in finds p0's


def test_predict_is_the_gaussian_process_posterior_mean():
    X, r, _, _, truth = _population(seed=2)
    m = CommunityTaste.fit(r, N_IMG, features=X).with_settings(noise=0.5)
    s, q = np.array([1, 5, 9, 20]), np.array([2, 3, 40])
    y = np.array([5.0, 3.0, 4.0, 6.0])
    K = m.factors @ m.factors.T + 10.0 * m.prior_var
    want = m.baseline[q] + K[np.ix_(q, s)] @ np.linalg.solve(K[np.ix_(s, s)] + 0.5 * m.prior_var * np.eye(4),
                                                             y - m.baseline[s])
    assert np.allclose(m.predict(s, y, q), want)


def test_shrinkage_weighs_the_mean_by_how_many_rated_it():
    mean = np.array([5.0, 5.0, np.nan])
    counts = np.array([100.0, 1.0, 0.0])
    content = np.array([3.0, 3.0, 3.0])
    # content's error beyond the means' noise is positive here: mean((5-3)^2) - mean(1/counts) > 0
    out = _shrink(mean, counts, content, within=1.0)
    assert out[0] > 4.9 and 3.0 < out[1] < out[0] and out[2] == 3.0


def test_content_kernel_and_storage_round_trip():
    X, r, _, _, _ = _population(seed=3)
    m = fit_community(r, X, N_IMG).with_settings(noise=2.0, content_weight=0.5)
    assert m.content_factors is not None and m.content_factors.shape[0] == N_IMG
    back = CommunityTaste.from_arrays(m.to_arrays())
    s, y = np.array([0, 3, 7]), np.array([2.0, 5.0, 4.0])
    assert np.allclose(back.predict(s, y, np.arange(N_IMG)), m.predict(s, y, np.arange(N_IMG)), atol=1e-4)


def test_settings_are_chosen_on_the_community_and_favour_trusting_ratings_when_they_are_clean():
    X, r, _, _, _ = _population(seed=4, n_people=36)
    best = SettingsSearch(r, X, N_IMG, groups=3, max_people=12).best(20)
    assert best["srocc"] is not None and best["noise"] <= 3.0   # noise-free taste groups: low noise wins


def test_bad_input_is_a_one_line_error():
    with pytest.raises(InputError, match="columns"):
        CommunityTaste.fit(pd.DataFrame({"user": [1], "image": [0]}), 3)
    with pytest.raises(InputError, match="outside the library"):
        CommunityTaste.fit(pd.DataFrame({"user": ["a"] * 3, "image": [0, 1, 9], "score": [1.0, 2.0, 3.0]}), 3)
    with pytest.raises(InputError, match="at least 2 people"):
        CommunityTaste.fit(pd.DataFrame({"user": ["a"] * 3, "image": [0, 1, 2], "score": [1.0, 2.0, 3.0]}), 3)
