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


def test_library_community_is_the_evaluated_model_with_settings_per_number_of_ratings():
    """One code path: piaa serve's library model and piaa evaluate's community method are one LibraryCommunity."""
    from piaa.personalize.community import LibraryCommunity
    from piaa.profiles.library_taste import fit_library_taste

    X, r, _, axis, truth = _population(seed=3)
    lc = LibraryCommunity(r, X, N_IMG, seed=0)
    search = SettingsSearch(r, X, N_IMG, seed=0)
    for k in (0, 5, 10):
        s = search.best(k)
        m = fit_community(r, X, N_IMG).with_settings(noise=s["noise"], content_weight=s["content_weight"])
        sup, q = np.arange(k), np.arange(40, 80)
        assert np.allclose(lc.predict(sup, truth["p0"][sup], q), m.predict(sup, truth["p0"][sup], q))
    fixed = lc.with_fixed(noise=1.0, content_weight=0.0)
    assert fixed.settings(10) == {"noise": 1.0, "content_weight": 0.0} and lc.fixed == {}
    lt = fit_library_taste(np.arange(N_IMG) + 100, X, [(u, i + 100, v) for u, i, v in r.itertuples(index=False)])
    ids = np.arange(N_IMG) + 100
    assert np.allclose(lt.scores(ids, {100 + i: float(truth["p1"][i]) for i in range(10)}),
                       LibraryCommunity(r, X, N_IMG).predict(np.arange(10), truth["p1"][:10], np.arange(N_IMG)))


def test_suggestions_ask_where_the_community_disagrees():
    """The library model's own choice: photos whose stars tell the fold-in most (people disagree on them)."""
    from piaa.personalize.community import LibraryCommunity

    rng = np.random.default_rng(5)
    rows = []
    for p in range(30):
        sign = 1.0 if p % 2 else -1.0
        for i in range(N_IMG):                       # images 0..19 split the two groups, the rest do not
            rows.append((f"p{p}", i, 3 + (1.5 * sign if i < 20 else 0.0) + 0.1 * rng.normal()))
    r = pd.DataFrame(rows, columns=["user", "image", "score"])
    lc = LibraryCommunity(r, None, N_IMG, noise=1.0, content_weight=0.0)
    picks = lc.suggest([], range(N_IMG), 5)
    assert len(picks) == len(set(picks)) == 5 and all(p < 20 for p in picks)
    later = lc.suggest(picks, range(N_IMG), 5)
    assert not set(later) & set(picks) and lc.suggest([], [3, 3, 50], 10) in ([3, 50], [50, 3])
