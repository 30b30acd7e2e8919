"""Tiny end-to-end: photos -> cached trunk features -> task bank -> personal λ -> predictions, on a tiny backbone.

Also runs the evaluation methods on a synthetic FoldData and the CLI on a small config."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tiny_backbone import register_tiny, one_torch_thread  # noqa: F401

from piaa.data.ratings import RatingsDataset, Scale
from piaa.metrics import srocc
from piaa.models.task_vectors import TaskModelSpec
from piaa.models.task_vectors.bank import TaskBank
from piaa.models.task_vectors.build import build_bank
from piaa.models.task_vectors.inputs import inputs_for_paths
from piaa.models.task_vectors.tasks import task_from_ratings
from piaa.models.task_vectors.train import TrainConfig
from piaa.personalize.registry import get_personalizer_class
from piaa.state import load_state, save_state

BACKBONE = "tiny_tv_e2e"
SCALE = Scale(1.0, 7.0, 7)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """40 flat-colour photos; 'brightness' and 'redness' are two tastes."""
    register_tiny(BACKBONE, tmp_path_factory.mktemp("w"), seed=11)
    root = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        rgb = rng.integers(0, 256, 3)
        arr = np.clip(rgb + rng.normal(0, 20, (24, 24, 3)), 0, 255).astype(np.uint8)
        name = f"p{i:02d}.png"
        Image.fromarray(arr).save(root / name)
        rows.append((name, rgb.mean() / 255, (rgb[0] - rgb[1:].mean()) / 255))
    info = pd.DataFrame(rows, columns=["image", "bright", "red"]).set_index("image")
    return root, info


def _ratings(info, col, users=3, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    z = (info[col] - info[col].mean()) / info[col].std()
    out = []
    for u in range(users):
        s = np.clip(np.rint(4 + 1.5 * z + rng.normal(0, noise, len(z))), 1, 7)
        out += [(f"{col}{u}", im, v) for im, v in zip(info.index, s)]
    return pd.DataFrame(out, columns=["user", "image", "score"])


@pytest.mark.parametrize("split", [3, 1, 0])
def test_bank_and_person_end_to_end(photos, tmp_path, split):
    root, info = photos
    spec = TaskModelSpec(backbone=BACKBONE, split=split, hidden=16)
    train = info.index[:30]
    tasks = [task_from_ratings(c, _ratings(info.loc[train], c), root, SCALE) for c in ("bright", "red")]
    cfg = TrainConfig(head_steps=150, head_lr=1e-2, top_epochs=1, top_batch_size=8)
    bank = build_bank(spec, tasks, lambda p: inputs_for_paths(spec, p), cfg, tau_dtype="float16")
    assert [t["name"] for t in bank.tasks] == ["bright", "red"]
    assert bank.tasks[0]["train_srocc"] > 0.5
    bank.save(tmp_path / "bank")
    bank = TaskBank.load(tmp_path / "bank")
    if split < 3:
        assert any(n.startswith("layers.") for n in bank.param_names)  # backbone layers above the split
    person = _ratings(info, "bright", users=1, noise=0.3, seed=5)
    sup = person[person["image"].isin(train)]
    qry = person[~person["image"].isin(train)]
    Est = get_personalizer_class("task-vectors")
    est = Est(bank=bank, steps=30, scale=(1, 7)).fit([root / i for i in sup["image"]], sup["score"].to_numpy())
    assert np.argmax(est.task_srocc_) == 0  # the person likes bright photos: that task fits best
    pred = est.predict([root / i for i in qry["image"]])
    assert np.isfinite(pred).all() and srocc(pred, qry["score"].to_numpy()) > 0.3
    save_state(tmp_path / "p.npz", est.state_dict())
    est2 = Est.from_state_dict(load_state(tmp_path / "p.npz"))
    assert np.array_equal(est2.predict([root / i for i in qry["image"]]), pred)
    ft = get_personalizer_class("bestfit-ft")(bank=bank, steps=10, scale=(1, 7))
    ft.fit([root / i for i in sup["image"]], sup["score"].to_numpy())
    assert ft.best_task_ == 0
    p_ft = ft.predict([root / i for i in qry["image"]])
    assert np.isfinite(p_ft).all()
    ft2 = type(ft).from_state_dict(ft.state_dict(), bank=bank)
    assert np.allclose(ft2.predict([root / i for i in qry["image"]]), p_ft)


class _Provider:
    def get(self, paths, backbone="efficientnet_lite0", variant="multilevel"):
        from piaa.features import FeatureExtractor

        return FeatureExtractor(backbone, variant).extract(list(paths)).features


def test_evaluation_methods_on_a_synthetic_fold(photos, tmp_path):
    from piaa.evaluation.methods import FoldData, TaskSource, make_method

    root, info = photos
    train = list(info.index[:30])

    def src(name, col):
        r = _ratings(info.loc[train], col)
        return TaskSource(name, RatingsDataset(name, r, SCALE), root)

    fold = FoldData("f1", [src("bright", "bright"), src("red", "red")], "bright", SCALE, _Provider(), seed=0,
                    workdir=tmp_path / "work", test_images=[root / i for i in info.index[30:]])
    opts = {"backbone": BACKBONE, "split": 3, "hidden": 8, "head_steps": 100, "steps": 20}
    person = _ratings(info.loc[info.index[30:]], "red", users=1, seed=3)
    sup, qry = [root / i for i in person["image"][:6]], [root / i for i in person["image"][6:]]
    preds = {}
    for name in ("task-vectors", "tv-probe", "tv-uniform-init", "tv-bestfit-init", "tv-mse", "tv-layer-agnostic",
                 "bestfit-ft"):
        m = make_method(name, **opts)
        m.prepare(fold)
        preds[name] = m.personalize(sup, person["score"].to_numpy()[:6], qry)
        assert preds[name].shape == (len(qry),) and np.isfinite(preds[name]).all()
    zs = make_method("tv-zero", **{k: v for k, v in opts.items() if k != "steps"})
    zs.prepare(fold)
    assert np.isfinite(zs.predict_generic(qry)).all()
    assert len([k for k in fold.shared if k.startswith("task-bank:")]) == 1  # one bank for every tv method
    assert len(list((tmp_path / "work").glob("task_bank_*/bank.json"))) == 1
    # the on-disk bank is reused by a fresh fold with the same data
    fold2 = FoldData("f1", fold.tasks, "bright", SCALE, _Provider(), workdir=tmp_path / "work")
    m = make_method("task-vectors", **opts)
    m.prepare(fold2)
    assert np.allclose(m.personalize(sup, person["score"].to_numpy()[:6], qry), preds["task-vectors"])
    with pytest.raises(ValueError, match="unknown option"):
        make_method("task-vectors", nonsense=1).prepare(fold)


def test_cli_train_and_show(photos, tmp_path, capsys):
    from piaa.cli.main import main

    root, info = photos
    r = _ratings(info, "bright")
    r.rename(columns={"score": "rating"}).to_csv(tmp_path / "r.csv", index=False)
    cfg = tmp_path / "tasks.toml"
    cfg.write_text(f'[model]\nbackbone = "{BACKBONE}"\nsplit = 3\nhidden = 8\nhead_steps = 20\n\n'
                   f'[[tasks]]\nname = "bright"\nratings = "r.csv"\nimages = "{root}"\nscale = [1, 7]\n')
    assert main(["tasks", "train", str(cfg), "--output", str(tmp_path / "bank"), "--quiet"]) == 0
    assert main(["tasks", "show", str(tmp_path / "bank"), "--format", "json"]) == 0
    out = capsys.readouterr().out
    info_json = json.loads(out[out.index("{"):])
    assert info_json["tasks"][0]["name"] == "bright" and info_json["spec"]["split"] == 3
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nsplitt = 3\n[[tasks]]\nname = "x"\nratings = "r.csv"\nimages = "."\n')
    assert main(["tasks", "train", str(bad), "--output", str(tmp_path / "b2")]) == 1
    assert "splitt" in capsys.readouterr().err


def test_strong_bank_concatenation_and_tv_probe(photos, tmp_path):
    """A head-only bank over two backbones' features, behind a frozen PCA projection, anchored on one task;
    the tv-probe personalizer on it round-trips through its state."""
    from piaa.personalize.prior_probe import TastePrior

    root, info = photos
    second = BACKBONE + "_b"
    register_tiny(second, tmp_path, seed=12)
    spec = TaskModelSpec(backbone=f"{BACKBONE},{second}", split=-1, pool="multilevel", hidden=16, components=8)
    train = info.index[:30]
    tasks = [task_from_ratings(c, _ratings(info.loc[train], c), root, SCALE) for c in ("bright", "red")]
    cfg = TrainConfig(head_epochs=40, head_batch_size=8, head_lr=1e-2, dropout=0.2, anchor_task="bright")
    bank = build_bank(spec, tasks, lambda p: inputs_for_paths(spec, p), cfg)
    assert bank.input_transform["proj"].shape == (2 * sum((4, 8, 6)), 8)
    assert bank.param_shapes["fc1.weight"] == (16, 8)
    assert bank.tasks[0]["train_srocc"] > 0.5
    bank.save(tmp_path / "bank")
    loaded = TaskBank.load(tmp_path / "bank")
    assert loaded.fingerprint == bank.fingerprint
    X = inputs_for_paths(spec, [root / i for i in info.index])
    assert np.allclose(loaded.transform(X), bank.transform(X), atol=1e-5)
    person = _ratings(info, "red", users=1, noise=0.3, seed=5)
    sup = person[person["image"].isin(train)]
    qry = person[~person["image"].isin(train)]
    tv = get_personalizer_class("task-vectors")(bank=loaded, steps=30, scale=(1, 7))
    tv.fit([root / i for i in sup["image"]], sup["score"].to_numpy())
    assert np.argmax(tv.task_srocc_) == 1  # the person likes red photos
    # the probe's taste prior from a few raters on the same concatenated features
    from piaa.personalize.probe import feature_rows

    Xf = feature_rows([root / i for i in train], f"{BACKBONE},{second}", "multilevel")
    assert Xf.shape[1] == 2 * sum((4, 8, 6))
    r = pd.concat([_ratings(info.loc[train], c, users=4, seed=9) for c in ("bright", "red")])
    r = r.assign(image=r["image"].map({im: i for i, im in enumerate(train)}))
    prior = TastePrior.fit(Xf, r, alpha=1.0, rank=4)
    Est = get_personalizer_class("tv-probe")
    est = Est(bank=loaded, prior=prior, backbone=f"{BACKBONE},{second}", tv_params={"steps": 30}, scale=(1, 7))
    est.fit([root / i for i in sup["image"]], sup["score"].to_numpy())
    pred = est.predict([root / i for i in qry["image"]])
    assert np.isfinite(pred).all() and srocc(pred, qry["score"].to_numpy()) > 0.3
    st = est.state_dict()
    assert st["meta"]["method"] == "tv-probe"
    st["meta"]["probe"]["prior"] = None  # an in-memory prior is not referenced; predicting needs only the weights
    est2 = Est.from_state_dict(st, bank=loaded)
    assert np.allclose(est2.predict([root / i for i in qry["image"]]), pred)
