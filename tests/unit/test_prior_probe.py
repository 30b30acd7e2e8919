"""The probe with a population taste prior: the math against a direct computation, what the prior buys, storage."""
import numpy as np
import pandas as pd
import pytest

from piaa.personalize.prior_probe import PriorProbePersonalizer, TastePrior, _deviation_from_crowd

D, N_IMG = 40, 120


def _population(seed=0, n_people=60, per_person=60):
    """People whose deviation from the crowd is a random multiple of one feature direction ``v``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N_IMG, D)) * rng.uniform(0.5, 2.0, size=D) + rng.normal(size=D)
    v = rng.normal(size=D)
    Z = (X - X.mean(0)) / X.std(0)
    quality = Z[:, 0]
    taste_axis = Z @ v / np.linalg.norm(v)
    rows = []
    for p in range(n_people):
        imgs = rng.choice(N_IMG, per_person, replace=False)
        s = 4 + quality[imgs] + rng.normal(scale=1.0) * taste_axis[imgs] + rng.normal(scale=0.5, size=per_person)
        rows += [(f"p{p}", int(i), float(v_)) for i, v_ in zip(imgs, s)]
    return X, pd.DataFrame(rows, columns=["user", "image", "score"]), quality, taste_axis


def test_deviation_is_against_the_other_raters_mean():
    r = pd.DataFrame({"user": ["a", "b", "c", "a"], "image": [0, 0, 0, 1], "score": [1.0, 3.0, 5.0, 2.0]})
    d = _deviation_from_crowd(r)
    assert list(d["dev"]) == [1 - 4, 3 - 3, 5 - 2]   # image 1 (one rater) has no crowd and is dropped


def test_mix_zero_is_ridge_with_the_chosen_strength():
    X, ratings, quality, _ = _population()
    prior = TastePrior.fit(X, ratings)
    rng = np.random.default_rng(5)
    idx = rng.choice(N_IMG, 25, replace=False)
    y = quality[idx] + rng.normal(size=25)
    est = PriorProbePersonalizer(prior=prior, mix=0.0).fit(X[idx], y)
    Z = prior.standardize(X[idx])
    Zc = Z - Z.mean(axis=0)                            # ridge with an unpenalized intercept
    K = Zc @ Zc.T / prior.iso_scale
    lam = est.lambda_ * np.mean(np.clip(np.linalg.eigvalsh(K), 0, None))
    r = y - y.mean()
    w = np.linalg.solve(Zc.T @ Zc + lam * prior.iso_scale * np.eye(D), Zc.T @ r)   # primal ridge, same strength
    np.testing.assert_allclose(est.coef_, w, rtol=1e-6, atol=1e-8)
    b = y.mean() - Z.mean(axis=0) @ w
    np.testing.assert_allclose(est.predict(X[:5]), prior.standardize(X[:5]) @ w + b, rtol=1e-6)


def test_population_prior_finds_the_shared_taste_axis_with_few_ratings():
    X, ratings, quality, axis = _population()
    prior = TastePrior.fit(X, ratings)
    rng = np.random.default_rng(11)
    gains = []
    for _person in range(12):
        taste = rng.choice([-1.5, 1.5])
        truth = quality + taste * axis
        idx = rng.choice(N_IMG, 12, replace=False)
        y = truth[idx] + rng.normal(scale=0.5, size=12)
        rest = np.setdiff1d(np.arange(N_IMG), idx)
        pred = {m: PriorProbePersonalizer(prior=prior, mix=m).fit(X[idx], y, offset=quality[idx])
                .predict(X[rest], offset=quality[rest]) for m in (0.0, 0.5)}
        gains.append(np.corrcoef(pred[0.5], truth[rest])[0, 1] - np.corrcoef(pred[0.0], truth[rest])[0, 1])
    assert np.mean(gains) > 0.05 and sum(g > 0 for g in gains) >= 9, gains


def test_prior_round_trips_without_pickle(tmp_path):
    X, ratings, quality, _ = _population()
    prior = TastePrior.fit(X, ratings, rank=8, meta={"source": "synthetic"})
    assert prior.factor.shape == (D, 8) and prior.meta["raters"] == 60 and prior.meta["source"] == "synthetic"
    prior.save(tmp_path / "prior.npz")
    again = TastePrior.load(tmp_path / "prior.npz")
    a = PriorProbePersonalizer(prior=prior).fit(X[:30], quality[:30] + 1).predict(X[30:])
    b = PriorProbePersonalizer(prior=str(tmp_path / "prior.npz")).fit(X[:30], quality[:30] + 1).predict(X[30:])
    np.testing.assert_allclose(a, b, atol=1e-2)   # the factor is stored as float16
    assert again.meta == prior.meta and again.iso_scale == pytest.approx(prior.iso_scale)


def test_state_round_trip_and_unreadable_images(tmp_path):
    from piaa.personalize import get_personalizer_class, load_state, save_state

    X, ratings, quality, _ = _population()
    prior = TastePrior.fit(X, ratings)
    prior.save(tmp_path / "p.npz")
    Xn = X[:30].copy()
    Xn[3] = np.nan                                    # an unreadable photo: left out of the fit
    est = PriorProbePersonalizer(prior=f"file:{tmp_path / 'p.npz'}").fit(Xn, quality[:30] + 1, offset=quality[:30])
    assert est.n_support_ == 29 and est.prior_ref_ == f"file:{tmp_path / 'p.npz'}"
    save_state(tmp_path / "est.npz", est.state_dict())
    again = get_personalizer_class("probe-prior").from_state_dict(load_state(tmp_path / "est.npz"))
    np.testing.assert_array_equal(est.predict(X[30:], offset=quality[30:]), again.predict(X[30:], offset=quality[30:]))
    assert np.isnan(est.predict(Xn[:5])[3])


def test_the_shipped_prior_loads_and_personalizes():
    from piaa.personalize import make_personalizer

    est = make_personalizer("probe-prior")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3120)).astype(np.float32)
    est.fit(X, np.arange(12.0) % 5 + 1)
    assert est.prior_ref_ == "default:taste_prior_oasis_lite0" and np.isfinite(est.predict(X)).all()


def test_clear_errors():
    X, ratings, _, _ = _population()
    prior = TastePrior.fit(X, ratings)
    with pytest.raises(FileNotFoundError, match="not found"):
        PriorProbePersonalizer(prior="nowhere.npz").fit(X[:10], np.arange(10.0))
    with pytest.raises(ValueError, match="mix"):
        PriorProbePersonalizer(prior=prior, mix=1.5).fit(X[:10], np.arange(10.0))
    with pytest.raises(ValueError, match="width"):
        PriorProbePersonalizer(prior=prior).fit(X[:10, :5], np.arange(10.0))
    with pytest.raises(RuntimeError, match="not fitted"):
        PriorProbePersonalizer(prior=prior).predict(X[:3])
    with pytest.raises(ValueError, match="at least 2 raters"):
        TastePrior.fit(X, ratings[ratings["user"] == "p0"])
    with pytest.raises(ValueError, match="outside"):
        TastePrior.fit(X[:10], ratings)
