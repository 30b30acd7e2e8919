"""Trait targets of PA_IAA's trait head, checked against values computed by hand."""
import numpy as np
import pandas as pd
import pytest

from piaa.data.ratings import RatingsDataset, Scale
from piaa.models.pa_iaa.traits import (
    TARGET_MARGIN,
    encode_traits,
    rank_traits,
    select_traits,
    trait_targets,
)


def _ratings(rows):
    return pd.DataFrame(rows, columns=["user", "image", "score"]).astype({"user": str, "score": float})


def _tiny():
    # u1 likes A and dislikes B, u3 the opposite, u2 rates both the same, u4 has no known trait x
    ratings = _ratings([("u1", "A", 5), ("u1", "B", 1), ("u2", "A", 3), ("u2", "B", 3),
                        ("u3", "A", 1), ("u3", "B", 5), ("u4", "A", 7), ("u4", "B", 1)])
    users = pd.DataFrame({"x": [0.0, 1.0, 2.0, np.nan],
                          "politic": ["strongLiberal", "neutral", "strongConservative", "notSay"]},
                         index=pd.Index(["u1", "u2", "u3", "u4"], name="user"))
    return ratings, users


def test_targets_match_hand_computation():
    ratings, users = _tiny()
    tt = trait_targets(ratings, users, ["x"], weighting="centered")
    # z over the three raters with x: mean 1, population sd sqrt(2/3) -> z = -1.2247, 0, 1.2247
    # centered weights: u1 A +2 B -2; u2 0 0; u3 A -2 B +2 (u4 has no x: ignored)
    z = 1.0 / np.sqrt(2.0 / 3.0)
    t_a = (2 * -z + 0 + -2 * z) / 4.0
    t_b = -t_a
    peak = abs(t_a)
    assert tt.targets.loc["A", "x"] == pytest.approx(t_a / (TARGET_MARGIN * peak))
    assert tt.targets.loc["B", "x"] == pytest.approx(t_b / (TARGET_MARGIN * peak))
    assert tt.scale[0] == pytest.approx(TARGET_MARGIN * peak)
    assert (tt.targets.abs() < 1).all().all()


def test_ordinal_coding_and_missing_level():
    ratings, users = _tiny()
    enc = encode_traits(users, ["politics"])  # alias of politic
    assert enc["politic"].tolist()[:3] == [-3.0, 0.0, 3.0]
    assert np.isnan(enc["politic"].iloc[3])  # notSay -> unknown
    tt = trait_targets(ratings, users, ["politics"])
    # same z pattern as x (symmetric coding) -> the same targets
    same = trait_targets(ratings, users, ["x"]).targets["x"].to_numpy()
    assert tt.targets["politic"].to_numpy() == pytest.approx(same)


def test_text_trait_without_coding_is_an_error():
    ratings, users = _tiny()
    users = users.assign(colour=["red", "blue", "red", "blue"])
    with pytest.raises(ValueError, match="colour"):
        trait_targets(ratings, users, ["colour"])
    with pytest.raises(KeyError, match="nope"):
        trait_targets(ratings, users, ["nope"])


def _synthetic_study(n_users=120, n_images=40, seed=0):
    """Raters whose liking of image i depends on their trait 'signal' (not on 'noise')."""
    rng = np.random.default_rng(seed)
    signal, noise = rng.normal(size=n_users), rng.normal(size=n_users)
    img_effect = rng.normal(size=n_images)
    popularity = rng.normal(size=n_images)  # what everybody agrees on, independent of the taste axis
    rows = []
    for u in range(n_users):
        s = 4 + popularity + 1.5 * signal[u] * img_effect + rng.normal(scale=0.5, size=n_images)
        rows += [(f"u{u}", f"img{i}", float(np.clip(np.rint(s[i]), 1, 7))) for i in range(n_images)]
    users = pd.DataFrame({"signal": signal, "noise": noise, "signal_copy": signal * 2 + 1,
                          "weak": signal + rng.normal(scale=3, size=n_users)},
                         index=pd.Index([f"u{u}" for u in range(n_users)], name="user"))
    return _ratings(rows), users, img_effect


def test_reliability_ranks_real_signal_above_noise():
    ratings, users, img_effect = _synthetic_study()
    rk = rank_traits(ratings, users, ["signal", "noise"], n_splits=5)
    assert rk.index[0] == "signal"
    assert rk.loc["signal", "reliability"] > 0.8
    assert abs(rk.loc["noise", "reliability"]) < 0.5
    tt = trait_targets(ratings, users, ["signal"])
    assert np.corrcoef(tt.targets["signal"].reindex([f"img{i}" for i in range(40)]), img_effect)[0, 1] > 0.8


def test_reliability_of_a_noise_trait_is_not_pushed_negative_by_popularity():
    """Strongly popular/unpopular images and a trait unrelated to taste: the two halves' profiles must not
    anti-correlate. (With one standardization over all raters the halves get ±δ × popularity, δ = the halves'
    mean-trait difference: about −0.27 on these studies.)"""
    rel = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        n_users, n_images = 200, 60
        popularity = rng.normal(scale=1.5, size=n_images)
        rows = []
        for u in range(n_users):
            s = 4 + popularity + rng.normal(scale=0.7, size=n_images)
            rows += [(f"u{u}", f"img{i}", float(np.clip(np.rint(s[i]), 1, 7))) for i in range(n_images)]
        users = pd.DataFrame({"noise": rng.normal(size=n_users)},
                             index=pd.Index([f"u{u}" for u in range(n_users)]))
        rel.append(rank_traits(_ratings(rows), users, ["noise"], n_splits=10)["reliability"]["noise"])
    assert np.mean(rel) > -0.12, rel


def test_residual_weighting_removes_popularity_times_scale_use():
    """A trait that only goes with wide scale use: "centered" targets repeat popularity, "residual" ones do not."""
    rng = np.random.default_rng(0)
    n_users, n_images = 150, 50
    popularity = rng.normal(size=n_images)
    spread = rng.normal(size=n_users)                   # the trait: how wide the person uses the scale
    rows = []
    for u in range(n_users):
        s = 4 + (1 + 0.4 * spread[u]) * popularity + rng.normal(scale=0.5, size=n_images)
        rows += [(f"u{u}", f"img{i}", float(np.clip(np.rint(s[i]), 1, 7))) for i in range(n_images)]
    users = pd.DataFrame({"spread": spread}, index=pd.Index([f"u{u}" for u in range(n_users)]))
    order = [f"img{i}" for i in range(n_images)]
    corr = {}
    for w in ("centered", "residual"):
        t = trait_targets(_ratings(rows), users, ["spread"], weighting=w).targets["spread"].reindex(order)
        corr[w] = abs(np.corrcoef(t, popularity)[0, 1])
    assert corr["centered"] > 0.8 and corr["residual"] < 0.4, corr


def test_select_skips_redundant_trait():
    ratings, users, _ = _synthetic_study()
    chosen = select_traits(ratings, users, ["signal", "signal_copy", "noise", "weak"], n=2, max_corr=0.9)
    assert chosen[0] in ("signal", "signal_copy")
    assert not {"signal", "signal_copy"} <= set(chosen)  # the copy carries the same targets


def test_generic_over_a_ratings_dataset():
    from piaa.models.pa_iaa.traits import dataset_trait_targets

    ratings, users, _ = _synthetic_study(n_users=20, n_images=6)
    ds = RatingsDataset("big-five-like", ratings, Scale(1, 7, 7), users=users)
    tt = dataset_trait_targets(ds, ["signal", "noise"])
    assert tt.targets.shape == (6, 2)
    with pytest.raises(ValueError, match="users"):
        dataset_trait_targets(RatingsDataset("no-users", ratings, Scale(1, 7, 7)), ["signal"])


def test_any_users_table_works_without_oasis_names():
    """Big-Five style columns (none of OASIS's names): every numeric column is a candidate."""
    ratings, users, _ = _synthetic_study(n_users=60, n_images=20)
    big5 = users.rename(columns={"signal": "openness", "noise": "neuroticism", "signal_copy": "extraversion",
                                 "weak": "agreeableness"}).assign(conscientiousness=1.0, note="x")
    chosen = select_traits(ratings, big5, n=5)
    assert set(chosen) <= {"openness", "neuroticism", "extraversion", "agreeableness"}  # constant/text dropped
    assert len(chosen) == 4


def test_zscore_weighting_evens_out_scale_use():
    # u1 and u2 have the same taste (A over B); u1 uses the whole scale, u2 two neighbouring points
    ratings = _ratings([("u1", "A", 7), ("u1", "B", 1), ("u2", "A", 4), ("u2", "B", 3)])
    users = pd.DataFrame({"x": [1.0, -1.0]}, index=pd.Index(["u1", "u2"], name="user"))
    # centered weights: u1 +3/-3, u2 +0.5/-0.5 -> A: (3*1 + 0.5*-1) / 3.5 ; z-scored: both +1/-1 -> A: 0
    cen = trait_targets(ratings, users, ["x"], weighting="centered")
    raw = cen.targets.loc["A", "x"] * cen.scale[0]
    assert raw == pytest.approx(2.5 / 3.5)
    z = trait_targets(ratings, users, ["x"], weighting="zscore")
    assert z.targets.loc["A", "x"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="weighting"):
        trait_targets(ratings, users, ["x"], weighting="rank")
