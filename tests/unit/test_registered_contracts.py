"""Contracts over everything registered (as scikit-learn and pyiqa test every registered model): each backbone,
dataset reader, evaluation method and scoring model is constructed or loaded and exercised on tiny synthetic
input. The lists come from the registries, so a newly registered entry is tested the moment it exists;
entries that test modules register themselves (module ``test_*``, names ``tiny*``/``spy*``) are left out.

The per-entry knowledge the tests need is kept to the minimum: a reader needs a fixture in its database's
published layout under ``tests/fixtures/data/<name>`` (the test fails, naming the folder, when one is
missing), and evaluation methods get small training settings by family (task-vector methods: a tiny
backbone; PA_IAA: few epochs), so the whole file stays in the default run.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from tiny_backbone import one_torch_thread, register_tiny  # noqa: F401

from piaa.errors import PiaaError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def _shipped(registry, names=None):
    out = []
    for n in names if names is not None else registry.names():
        obj = registry.get(n)
        mod = getattr(obj, "__module__", "") or getattr(getattr(obj, "constructor", None), "__module__", "")
        if mod.startswith("test_") or n.startswith(("tiny", "spy")):
            continue
        out.append(n)
    return out


# ---- backbones -------------------------------------------------------------------------------------------------
def _backbones():
    from piaa.backbones.registry import BACKBONES

    return _shipped(BACKBONES)


@pytest.mark.parametrize("name", _backbones())
def test_every_backbone_builds_and_runs_every_variant(name):
    import torch

    from piaa.backbones import create_backbone, get_pretrained_cfg, preprocess

    cfg = get_pretrained_cfg(name)
    assert cfg.input_size > 0 and len(cfg.mean) == len(cfg.std) == 3 and cfg.fingerprint()
    model = create_backbone(name)
    assert not model.training and model.num_layers == len(model.layer_channels) > 0
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8))
    x = torch.from_numpy(np.stack([preprocess(img, cfg)] * 2))
    assert tuple(x.shape) == (2, 3, cfg.input_size, cfg.input_size)
    with torch.inference_mode():
        for variant in ("pooled", "multilevel"):
            out = model.forward_variant(x, variant)
            assert tuple(out.shape) == (2, model.feature_dim(variant)) and torch.isfinite(out).all()
            assert torch.allclose(out[0], out[1], atol=1e-5)  # one image twice: one answer (no batch coupling)
        t = model.forward_variant(x, "trunk1")
        assert t.dim() == 4 and t.shape[1] == model.layer_channels[0]
    with pytest.raises(PiaaError):
        model.forward_variant(x, "no-such-variant")


# ---- dataset readers -------------------------------------------------------------------------------------------
def _readers():
    from piaa.data.registry import READERS

    return _shipped(READERS)


@pytest.mark.parametrize("name", _readers())
def test_every_reader_reads_its_fixture_into_the_canonical_table(name, tmp_path):
    from piaa.data import load_dataset
    from piaa.data.ratings import RatingsDataset

    fixture = FIX / name
    assert fixture.is_dir(), f"reader {name!r} has no fixture: add {fixture} in the database's published layout"
    ds = load_dataset(name, fixture)
    assert isinstance(ds, RatingsDataset) and len(ds.ratings) > 0
    assert {"user", "image", "score"} <= set(ds.ratings.columns)
    s = ds.ratings["score"].to_numpy(dtype=float)
    assert np.isfinite(s).all() and (s >= ds.scale.min).all() and (s <= ds.scale.max).all()
    assert all(isinstance(i, str) and i for i in ds.image_ids)
    json.dumps(ds.summary())  # the summary `piaa data inspect` prints is plain JSON
    dist = ds.image_distributions()
    assert np.allclose(dist.to_numpy().sum(axis=1), 1.0)
    with pytest.raises(PiaaError):  # a wrong folder is one clear error, never a traceback
        load_dataset(name, tmp_path / "missing")
    with pytest.raises(PiaaError):
        load_dataset(name, fixture, no_such_option=1)


# ---- scoring models --------------------------------------------------------------------------------------------
def _scoring_models():
    from piaa.models.scorer import SCORING_MODELS, list_models

    return _shipped(SCORING_MODELS, list_models())


@pytest.mark.parametrize("name", _scoring_models())
def test_every_scoring_model_loads_and_scores_on_its_range(name):
    from piaa.models.scorer import load_scorer

    scorer = load_scorer(name, cache=None, engine="torch")
    lo, hi = scorer.score_range
    assert lo < hi and isinstance(scorer.lower_better, bool)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    good, bad = scorer.score([buf.getvalue(), b"not an image"])
    assert lo <= good["score"] <= hi
    if "distribution" in good:
        d = np.asarray(good["distribution"])
        assert np.isclose(d.sum(), 1.0) and (d >= 0).all()
        assert np.isclose(d @ np.asarray(scorer.bucket_values), good["score"])
    assert "error" in bad and "score" not in bad


# ---- evaluation methods ----------------------------------------------------------------------------------------
TINY = "tiny_contract_methods"
SCALE = None


def _methods():
    from piaa.evaluation.methods.registry import METHODS

    return _shipped(METHODS)


class _Provider:
    """Real cached features of the fold's (tiny) photos, for whichever backbone a method asks."""

    def __init__(self, cache):
        self.cache = cache

    def get(self, paths, backbone="efficientnet_lite0", variant="multilevel"):
        from piaa.features import FeatureExtractor

        return FeatureExtractor(backbone, variant, cache=self.cache, progress=False).extract(list(paths)).features


@pytest.fixture(scope="module")
def fold_parts(tmp_path_factory):
    from piaa.data.ratings import AGGREGATE_USER, RatingsDataset, Scale

    register_tiny(TINY, tmp_path_factory.mktemp("w"), seed=5)
    root = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    images = []
    for i in range(36):
        rgb = rng.integers(0, 256, 3)
        arr = np.clip(rgb + rng.normal(0, 25, (24, 24, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(root / f"p{i:02d}.png")
        images.append((f"p{i:02d}.png", rgb.mean() / 255, (rgb[0] - rgb[1:].mean()) / 255))
    info = pd.DataFrame(images, columns=["image", "bright", "red"]).set_index("image")
    scale = Scale(1.0, 7.0, 7)
    users = pd.DataFrame({"age": rng.uniform(18, 70, 12), "PHQ": rng.uniform(0, 27, 12),
                          "TEPS_con": rng.normal(4, 1, 12), "mood_1": rng.uniform(0, 100, 12),
                          "gender": rng.choice(["male", "female"], 12)},
                         index=pd.Index([f"u{u}" for u in range(12)], name="user"))
    train = list(info.index[:24])
    z = {c: ((info[c] - info[c].mean()) / info[c].std()).to_numpy() for c in ("bright", "red")}
    rows = []
    for u in range(12):
        w = (users["TEPS_con"].iloc[u] - 4) / 2
        s = np.clip(np.rint(4 + z["bright"] + w * z["red"] + rng.normal(0, 0.5, len(info))), 1, 7)
        rows += [(f"u{u}", im, float(v)) for im, v in zip(info.index, s)]
    r = pd.DataFrame(rows, columns=["user", "image", "score"])
    beauty = RatingsDataset("beauty", r[r["image"].isin(train)].reset_index(drop=True), scale, users=users)
    val = pd.DataFrame({"user": AGGREGATE_USER, "image": train,
                        "score": np.clip(4 + 2 * z["red"][:24], 1, 7)})
    test = r[~r["image"].isin(train)]
    return root, info, scale, users, beauty, RatingsDataset("valence", val, scale), test, train


def _fold(parts, workdir):
    from piaa.evaluation.methods import FoldData, TaskSource

    root, info, scale, users, beauty, valence, _, _ = parts
    tasks = [TaskSource("beauty-all", beauty, root, users=users), TaskSource("valence", valence, root, per_image=True)]
    return FoldData("f1", tasks, "beauty-all", scale, _Provider(str(workdir / "cache.sqlite")), seed=0,
                    workdir=workdir, test_images=[root / i for i in info.index[24:]])


def _fast_options(cls) -> dict:
    """Small training settings by family (the class hierarchy), then the method's own ``contract_options``,
    so every method runs in seconds."""
    return {**_family_options(cls), **cls.contract_options}


def _family_options(cls) -> dict:
    from piaa.evaluation.methods.pa_iaa import _PAIAABase
    from piaa.evaluation.methods.task_vectors import _BankMethod

    if issubclass(cls, _BankMethod):
        opts = {"backbone": TINY, "split": 3, "hidden": 8, "head_steps": 60}
        if "steps" in cls.own_keys:
            opts["steps"] = 10
        if "taste_groups" in getattr(cls, "bank_overrides", {}) or cls.name == "tv-taste-groups":
            opts["taste_groups"] = 2
        return opts
    if issubclass(cls, _PAIAABase):
        return {"hidden": [8], "epochs": 3, "traits": ["TEPS_con", "age", "PHQ", "mood_1", "gender"]}
    return {}


@pytest.mark.parametrize("name", _methods())
def test_every_evaluation_method_prepares_and_predicts_on_a_synthetic_fold(name, fold_parts, tmp_path):
    from piaa.evaluation.methods import make_method
    from piaa.evaluation.methods.base import ReferenceContext
    from piaa.evaluation.methods.registry import get_method_class

    cls = get_method_class(name)
    root, info, scale, users, *_, test, _ = fold_parts
    fold = _fold(fold_parts, tmp_path)
    m = make_method(name, **_fast_options(cls))
    m.prepare(fold)
    person = test[test["user"] == "u3"]
    paths = [root / i for i in person["image"]]
    sup, qry = paths[:6], paths[6:]
    y = person["score"].to_numpy()[:6]
    if cls.reference:
        t = test.assign(path=[str(root / i) for i in test["image"]])
        m.reference_context = ReferenceContext(ratings=t, user="u3", users=users)

    def run(q):
        return np.asarray(m.predict_generic(q) if cls.zero_shot else m.personalize(sup, y.copy(), q), dtype=float)

    pred = run(qry)
    assert pred.shape == (len(qry),) and np.isfinite(pred).all()
    assert np.allclose(run(qry[::-1]), pred[::-1], atol=1e-6)  # one prediction per image, in query order
    with pytest.raises(PiaaError):  # an unknown option is one clear error
        make_method(name, no_such_option=1).prepare(fold)


def test_tv_probe_method_is_the_shipped_personalizer(fold_parts, tmp_path):
    """One tv-probe: the evaluation method predicts exactly what the shipped personalizer,
    fitted through its public ``fit`` on image paths, predicts with the same bank, prior and offset."""
    from piaa.evaluation.methods import make_method
    from piaa.evaluation.methods.registry import get_method_class
    from piaa.personalize.tv_probe import TVProbePersonalizer

    root, info, scale, users, *_, test, _ = fold_parts
    fold = _fold(fold_parts, tmp_path)
    m = make_method("tv-probe", **_fast_options(get_method_class("tv-probe")))
    m.prepare(fold)
    person = test[test["user"] == "u5"]
    paths = [root / i for i in person["image"]]
    sup, qry, y = paths[:8], paths[8:], person["score"].to_numpy()[:8]
    pred = m.personalize(sup, y, qry)
    est = TVProbePersonalizer(bank=m.bank, prior=m.prior, mix=m.mix, backbone=TINY, variant="multilevel",
                              tv_params={"steps": 10}, scale=(scale.min, scale.max), cache=str(tmp_path / "c.sqlite"))
    est.fit([str(p) for p in sup], y, offset=m.generic.scores(sup))
    ref = est.predict([str(p) for p in qry], offset=m.generic.scores(qry))
    assert np.allclose(pred, ref, atol=1e-6)
    assert np.std(pred) > 0
