"""pa-iaa / mt-iaa / pa-iaa-mlp evaluation methods on a synthetic fold (no shared data, no images)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from piaa.data.ratings import AGGREGATE_USER, RatingsDataset, Scale
from piaa.evaluation.methods import FeatureProvider, FoldData, TaskSource, make_method

SCALE = Scale(1, 7, 7)
ROOT = Path("/synthetic/images")
N_IMG, DIM = 60, 16


class ArrayFeatures(FeatureProvider):
    """Features keyed by image name: a fixed random vector per image."""

    def __init__(self, feats):
        self.feats = feats
        self.calls = 0

    def get(self, paths, backbone="efficientnet_lite0", variant="multilevel"):
        self.calls += 1
        return np.stack([self.feats[Path(p).name] for p in paths])


def _fold(seed=0):
    rng = np.random.default_rng(seed)
    images = [f"im{i:02d}.jpg" for i in range(N_IMG)]
    feats = {im: rng.normal(size=DIM).astype(np.float32) for im in images}
    quality = np.array([feats[im][0] for im in images])
    style = np.array([feats[im][1] for im in images])
    users = pd.DataFrame({"age": rng.uniform(18, 70, 40), "PHQ": rng.uniform(0, 27, 40),
                          "TEPS_con": rng.normal(4, 1, 40), "mood_1": rng.uniform(0, 100, 40),
                          "gender": rng.choice(["male", "female"], 40)},
                         index=pd.Index([f"p{u}" for u in range(40)], name="user"))
    taste = (users["TEPS_con"].to_numpy() - 4)  # people high in TEPS_con like "style"
    rows = []
    for u in range(40):
        s = 4 + quality + taste[u] * style + rng.normal(scale=0.5, size=N_IMG)
        rows += [(f"p{u}", im, float(np.clip(np.rint(v), 1, 7))) for im, v in zip(images, s)]
    beauty = RatingsDataset("beauty", pd.DataFrame(rows, columns=["user", "image", "score"]), SCALE, users=users)
    val = pd.DataFrame({"user": AGGREGATE_USER, "image": images, "score": np.clip(4 + 0.8 * style, 1, 7)})
    valence = RatingsDataset("valence", val, SCALE)
    tasks = [TaskSource("beauty-all", beauty, ROOT, users=users),
             TaskSource("valence", valence, ROOT, per_image=True)]
    return FoldData("f1", tasks, "beauty-all", SCALE, ArrayFeatures(feats), seed=0,
                    test_images=[ROOT / im for im in images]), images, feats, users


FAST = {"hidden": [16], "epochs": 15, "lr_heads": 0.03, "traits": ["TEPS_con", "age", "PHQ", "mood_1", "gender"]}


def test_pa_iaa_prepare_and_personalize():
    fold, images, feats, users = _fold()
    m = make_method("pa-iaa", **FAST)
    m.prepare(fold)
    assert m.net.config["second_names"] == FAST["traits"]
    calls = fold.features.calls
    support, query = [ROOT / im for im in images[:20]], [ROOT / im for im in images[20:]]
    y = np.linspace(1, 7, 20)
    pred = m.personalize(support, y, query)
    assert pred.shape == (40,) and np.isfinite(pred).all()
    assert fold.features.calls == calls  # test images were run through the network once in prepare
    # a second method with the same training options reuses the fold's network
    m2 = make_method("pa-iaa-mlp", mlp_steps=20, **FAST)
    m2.prepare(fold)
    assert m2.net is m.net
    assert np.isfinite(m2.personalize(support, y, query)).all()
    zero = make_method("pa-iaa-zero", **FAST)
    zero.prepare(fold)
    assert zero.zero_shot and np.isfinite(zero.predict_generic(query)).all()


def test_auto_traits_and_mt_iaa():
    fold, images, _, _ = _fold()
    m = make_method("pa-iaa", hidden=[16], epochs=3)
    m.prepare(fold)
    assert len(m.net.config["second_names"]) == 5  # chosen per fold from the training ratings
    mt = make_method("mt-iaa", hidden=[16], epochs=3, second_task="valence")
    mt.prepare(fold)
    assert mt.net.config["second_kind"] == "aesthetics" and mt.net.config["second_dim"] == 7
    assert mt.net is not m.net
    pred = mt.personalize([ROOT / im for im in images[:10]], np.arange(10.0) % 7 + 1, [ROOT / images[-1]])
    assert pred.shape == (1,)


def test_bad_options_and_missing_users():
    fold, _, _, _ = _fold()
    with pytest.raises(ValueError, match="unknown option"):
        make_method("pa-iaa", nope=1).prepare(fold)
    for t in fold.tasks:
        t.users = None
        t.dataset.users = None
    with pytest.raises(ValueError, match="users"):
        make_method("pa-iaa", hidden=[16], epochs=1).prepare(fold)
    with pytest.raises(KeyError, match="arousal"):
        make_method("mt-iaa", hidden=[16], epochs=1, second_task="arousal").prepare(fold)


def _test_people(images, feats, seed=1, n=100):
    """Test people of the synthetic fold: same taste model (TEPS_con x style), their own traits."""
    rng = np.random.default_rng(seed)
    users = pd.DataFrame({"age": rng.uniform(18, 70, n), "PHQ": rng.uniform(0, 27, n),
                          "TEPS_con": rng.normal(4, 1, n), "mood_1": rng.uniform(0, 100, n),
                          "gender": rng.choice(["male", "female"], n)},
                         index=pd.Index([f"t{u}" for u in range(n)], name="user"))
    quality = np.array([feats[im][0] for im in images])
    style = np.array([feats[im][1] for im in images])
    rows = []
    for u, tc in zip(users.index, users["TEPS_con"]):
        s = 4 + quality + (tc - 4) * style + rng.normal(scale=0.5, size=len(images))
        rows += [(u, im, float(np.clip(np.rint(v), 1, 7)), str(ROOT / im)) for im, v in zip(images, s)]
    return pd.DataFrame(rows, columns=["user", "image", "score", "path"]), users


def test_trait_oracle_uses_the_other_test_people_and_beats_the_head():
    from piaa.evaluation.methods.base import ReferenceContext
    from piaa.metrics import srocc

    fold, images, feats, _ = _fold()
    ratings, users = _test_people(images, feats)
    opts = {**FAST, "solver": "ridge", "trait_weighting": "centered"}  # centered: checkable by hand below
    oracle = make_method("pa-iaa-trait-oracle", **opts)
    assert oracle.reference and not oracle.zero_shot
    oracle.prepare(fold)
    me = "t3"
    oracle.reference_context = ReferenceContext(ratings=ratings, user=me, users=users)
    prof = oracle._profiles([ROOT / im for im in images])
    # direct: rating-weighted mean of the other test people's TEPS_con, z-scored over the test people
    t = users["TEPS_con"]
    z = (t - t.mean()) / t.std(ddof=0)
    others = ratings[ratings["user"] != me].copy()
    others["w"] = others["score"] - others.groupby("user")["score"].transform("mean")
    others["wz"] = others["w"] * others["user"].map(z)
    g = others.groupby("image")
    direct = (g["wz"].sum() / g["w"].apply(lambda w: w.abs().sum())).reindex(images).to_numpy()
    j = oracle.traits.index("TEPS_con")
    np.testing.assert_allclose(prof[:, j] * oracle.unit[j], direct, atol=1e-9)
    # with true liker profiles the fusion follows the taste of people far from the average TEPS_con better than
    # the trait head does (mean over the 8 most extreme people)
    head = make_method("pa-iaa", **opts)
    head.prepare(fold)
    gains = []
    for me in (users["TEPS_con"] - users["TEPS_con"].mean()).abs().nlargest(8).index:
        oracle.reference_context = ReferenceContext(ratings=ratings, user=me, users=users)
        mine = ratings[ratings["user"] == me]
        sup, qry = mine.iloc[:30], mine.iloc[30:]
        sp, qp = [Path(p) for p in sup["path"]], [Path(p) for p in qry["path"]]
        gains.append(srocc(qry["score"], oracle.personalize(sp, sup["score"].to_numpy(), qp))
                     - srocc(qry["score"], head.personalize(sp, sup["score"].to_numpy(), qp)))
    assert np.mean(gains) > 0.03 and sum(g > 0 for g in gains) >= 6, gains
    oracle.reference_context = ReferenceContext(ratings=ratings, user=me, users=None)
    oracle._sums_for = None
    with pytest.raises(ValueError, match="test people's traits"):
        oracle.personalize(sp, sup["score"].to_numpy(), qp)


def test_pa_iaa_probe_adds_the_probe_to_the_fusion():
    from piaa.evaluation.methods.baselines import shared_feature_stats
    from piaa.personalize.probe import ProbePersonalizer

    fold, images, feats, _ = _fold()
    m = make_method("pa-iaa-probe", **FAST)
    m.prepare(fold)
    support, query = [ROOT / im for im in images[:30]], [ROOT / im for im in images[30:]]
    y = np.array([4 + feats[im][0] + feats[im][2] for im in images[:30]])  # a taste along feature 2
    pred = m.personalize(support, y, query)
    fusion = make_method("pa-iaa", **FAST)
    fusion.prepare(fold)
    f_est = fusion._estimator().fit(fusion._lookup(support), y)
    mean, scale = shared_feature_stats(fold, "efficientnet_lite0", "multilevel")
    X = np.stack([feats[im] for im in images])
    direct = ProbePersonalizer(feature_mean=mean, feature_scale=scale).fit(
        X[:30], y, offset=f_est.predict(fusion._lookup(support))).predict(X[30:], offset=f_est.predict(fusion._lookup(query)))
    np.testing.assert_allclose(pred, direct, rtol=1e-9, atol=1e-9)
    # the probe stage picks up the taste along feature 2 that five traits cannot express
    truth = np.array([feats[im][0] + feats[im][2] for im in images[30:]])
    assert np.corrcoef(pred, truth)[0, 1] > np.corrcoef(fusion.personalize(support, y, query), truth)[0, 1]
