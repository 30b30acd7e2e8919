"""Quality v2: the joint BIQ2021 + AGIQA-3K quality model that also sees the photo at 100 %.

Why: the v1 model (:mod:`piaa.training.quality_joint`) judges a 224-px squash of the whole image, where blurry,
upscaled or noisy images look clean. v2 reads three blocks per image: the whole-image features, the mean features
of five native-resolution 224-px crops, and the 36 BRISQUE statistics (:class:`piaa.detail.crops.NativeEvidence`).
Its head is a :class:`~piaa.models.blend_head.BlendHead`: the GenericHead MLP (v1's options) on all blocks,
blended with a ridge on the native blocks alone.

Selection, on the databases' own parts (:func:`piaa.training.trunk.data.split_parts`, the split v1 uses): heads
fitted on the *train* parts, the ridge strength and the blend weight chosen by the mean SROCC over both
databases' *val* parts; then refitted on train+val and measured once on the *test* parts (v1's held-out
numbers come from the same parts). The shipped model is that recipe fitted on every image of both ``train.csv``
files. AVT-AI is never read here.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from piaa.errors import InsufficientDataError
from piaa.training.quality_joint import (
    DATABASES,
    _split_settings,
    check_unseen,
    load_joint,
    save_quality_model,
)
from piaa.training.quality_model import LICENCE_NOTE, MLP_OPTIONS, SCALE, _stamp

#: native evidence of the v2 model (keyword arguments of NativeEvidence)
NATIVE = {"crops": True, "nss": True, "layout": "five", "max_side": 1600}
RIDGE_ALPHAS = (3000.0, 10000.0, 30000.0)
BLEND_WEIGHTS = (0.25, 0.5, 0.75)  # weight of the MLP; the ridge gets the rest


def native_features(dbs, backbones: Sequence[str], variant: str, native: dict, engine: str = "auto",
                    progress: bool = False):
    """Per database: [whole-image features | native evidence] and the column where the evidence starts."""
    from piaa.detail.crops import NativeEvidence
    from piaa.training.quality_model import extract

    out = []
    start = None
    for d in dbs:
        paths = [Path(p) for p in d.paths]
        whole = extract(paths, backbones, variant, engine, progress)
        ev = NativeEvidence(backbones[0], variant, engine=engine, progress=progress, **native).extract(paths)
        if ev.errors:
            i = next(iter(ev.errors))
            raise InsufficientDataError(f"{len(ev.errors)} {d.database} image(s) gave no native evidence "
                                        f"(e.g. {paths[i]}: {ev.errors[i]})")
        start = whole.shape[1]
        out.append(np.hstack([whole, ev.features.astype(np.float64)]))
    return out, start


def mlp_options(seed: int = 0, components: int | None = None) -> dict:
    """The MLP's options: v1's (:data:`MLP_OPTIONS`), with ``components`` principal components when given."""
    return {**MLP_OPTIONS, "seed": seed, **({"components": int(components)} if components else {})}


def fit_blend(X, y, start: int, alpha: float, weight: float, seed: int = 0, mlp=None, components: int | None = None):
    """The v2 head fitted on ``(X, y)``; ``mlp`` reuses an MLP already fitted on the same rows."""
    from piaa.data.ratings import Scale
    from piaa.models.blend_head import BlendHead
    from piaa.models.giaa import GenericHead
    from piaa.models.linear_head import RidgeHead

    sc = Scale(*SCALE)
    if mlp is None:
        mlp = GenericHead(sc, **mlp_options(seed, components)).fit(X, sc.soft_onehot(y))
    ridge = RidgeHead(SCALE, alpha=alpha).fit(X[:, start:], y)
    return BlendHead([mlp, ridge], [(0, None), (start, None)], [weight, 1.0 - weight])


def _rows(Xs, ys, dbs, parts):
    m = [np.isin(d.part, parts) for d in dbs]
    return np.concatenate([X[k] for X, k in zip(Xs, m)]), np.concatenate([y[k] for y, k in zip(ys, m)])


#: target modes: "mos" = each database's MOS on 0-1 as published (v2); "z" = standardised per database on the
#: fitted rows and mapped to 0.5 + Z_SCALE * z, so both databases span the same part of the scale
TARGET_MODES = ("mos", "z")
Z_SCALE = 0.15


def fit_targets(ys, dbs, parts, mode: str):
    """(targets per database for ``mode``, per-database (mean, sd) over the rows of ``parts``; {} for "mos")."""
    from piaa.errors import InputError

    if mode == "mos":
        return list(ys), {}
    if mode != "z":
        raise InputError(f"unknown target mode {mode!r}; known: {', '.join(TARGET_MODES)}")
    out, stats = [], {}
    for y, d in zip(ys, dbs):
        m = np.isin(d.part, parts)
        mu, sd = float(y[m].mean()), float(y[m].std())
        stats[d.database] = [round(mu, 6), round(sd, 6)]
        out.append(np.clip(0.5 + Z_SCALE * (y - mu) / sd, 0.0, 1.0))
    return out, stats


def select_blend(Xs, ys, dbs, start: int, seed: int = 0, components: Sequence[int | None] = (None,),
                 targets: Sequence[str] = ("mos",)) -> dict:
    """Ridge strength and MLP weight (and the MLP's components and the target mode, when several are offered) by
    the mean val-part SROCC of both databases (heads fitted on train). One MLP per (mode, components), one ridge
    per (mode, strength)."""
    from piaa.metrics import srocc
    from piaa.models.blend_head import BlendHead
    from piaa.models.linear_head import RidgeHead

    table: dict[str, float] = {}
    for mode in targets:
        yt, _ = fit_targets(ys, dbs, ["train"], mode)
        Xtr, ytr = _rows(Xs, yt, dbs, ["train"])
        ridges = {a: RidgeHead(SCALE, alpha=a).fit(Xtr[:, start:], ytr) for a in RIDGE_ALPHAS}
        for c in components:
            mlp = fit_blend(Xtr, ytr, start, RIDGE_ALPHAS[0], 0.5, seed, components=c).heads[0]
            for a in RIDGE_ALPHAS:
                for w in BLEND_WEIGHTS:
                    head = BlendHead([mlp, ridges[a]], [(0, None), (start, None)], [w, 1.0 - w])
                    s = [srocc(head.predict(X[d.part == "val"]), y[d.part == "val"])
                         for X, y, d in zip(Xs, ys, dbs)]
                    key = (f"targets={mode} " if len(targets) > 1 else "") + \
                          (f"components={c} " if len(components) > 1 else "") + f"alpha={a:g} weight={w:g}"
                    table[key] = round(float(np.mean(s)), 4)
    best = max(table, key=table.get)
    got = dict(kv.split("=") for kv in best.split())
    return {"alpha": float(got["alpha"]), "weight": float(got["weight"]),
            "components": int(got["components"]) if "components" in got else components[0],
            "targets": got.get("targets", targets[0]), "val_mean_srocc": table}


def test_report(head, Xs, ys, dbs) -> dict:
    """SROCC / PLCC of ``head`` on each database's held-out test part (duplicates of training images dropped)."""
    from piaa.metrics import plcc, srocc

    res = {}
    for X, y, d in zip(Xs, ys, dbs):
        m = d.part == "test"
        p = head.predict(X[m])
        res[d.database] = {"srocc": round(float(srocc(p, y[m])), 4), "plcc": round(float(plcc(p, y[m])), 4),
                           "n_test": int(m.sum()), "n_test_duplicates_dropped": int((d.part == "dup").sum())}
    return res


def validate_native_quality(backbones: Sequence[str] = ("efficientnet_lite0",), variant: str = "multilevel",
                            native: dict | None = None, data_dir: Path | None = None, engine: str = "auto",
                            progress: bool = False, seed: int = 0, features=None,
                            components: Sequence[int | None] = (None,), targets: Sequence[str] = ("mos",)) -> dict:
    """Choose on the val parts, then train on train+val and measure on the test parts of both databases."""
    native = dict(NATIVE if native is None else native)
    split = _split_settings(backbones)
    dbs, ys = load_joint(DATABASES, data_dir, split)
    check_unseen(backbones, dbs)
    t0 = time.perf_counter()
    Xs, start = features if features is not None else native_features(dbs, backbones, variant, native, engine,
                                                                       progress)
    feat_s = time.perf_counter() - t0
    choice = select_blend(Xs, ys, dbs, start, seed, components, targets)
    yt, choice["target_stats"] = fit_targets(ys, dbs, ["train", "val"], choice["targets"])
    Xtr, ytr = _rows(Xs, yt, dbs, ["train", "val"])
    head = fit_blend(Xtr, ytr, start, choice["alpha"], choice["weight"], seed, components=choice["components"])
    res = test_report(head, Xs, ys, dbs)
    return {"backbones": list(backbones), "variant": variant, "native": native, "split": split,
            "selection": choice, "n_train": len(ytr), "test": res, "features_s": round(feat_s, 1), **_stamp()}


def train_native_quality_model(output: Path, backbones: Sequence[str] = ("efficientnet_lite0",),
                               variant: str = "multilevel", seed: int = 0, name: str | None = None,
                               data_dir: Path | None = None, engine: str = "auto", progress: bool = False,
                               native: dict | None = None, components: Sequence[int | None] = (None,),
                               targets: Sequence[str] = ("mos",)) -> dict:
    """Validate (:func:`validate_native_quality`), fit the chosen recipe on every image, write the model file.

    ``components``: the MLP's principal-component counts to choose from on the val parts (None = v1's 256);
    ``targets``: the target modes to choose from (:data:`TARGET_MODES`)."""
    from piaa.models.scorer import NATIVE_QUALITY_MODEL

    name = name or NATIVE_QUALITY_MODEL
    native = dict(NATIVE if native is None else native)
    split = _split_settings(backbones)
    dbs, ys = load_joint(DATABASES, data_dir, split)
    feats = native_features(dbs, backbones, variant, native, engine, progress)
    val = validate_native_quality(backbones, variant, native, data_dir, engine, progress, seed, features=feats,
                                  components=components, targets=targets)
    Xs, start = feats
    yt, target_stats = fit_targets(ys, dbs, ["train", "val", "test", "dup"], val["selection"]["targets"])
    X, y = np.concatenate(Xs), np.concatenate(yt)
    alpha, weight = val["selection"]["alpha"], val["selection"]["weight"]
    chosen = val["selection"]["components"]
    head = fit_blend(X, y, start, alpha, weight, seed, components=chosen)
    backbone = "+".join(backbones)
    metrics = {"protocol": "BlendHead (GenericHead MLP on whole-image + native evidence, ridge on the native "
                           "evidence) chosen on the val parts, trained on the train+val parts of BIQ2021 and "
                           f"AGIQA-3K train.csv, measured on their seeded test parts ({split})",
               "test": val["test"], "srocc": val["test"]["biq2021"]["srocc"],
               "srocc_agiqa3k": val["test"]["agiqa3k"]["srocc"], "selection": val["selection"], **_stamp()}
    extra = {"criterion": "quality", "head": "blend", "native": native,
             "head_options": {"mlp": mlp_options(seed, chosen), "ridge_alpha": alpha, "mlp_weight": weight,
                              "ridge_columns_from": start},
             "targets": {"mode": val["selection"]["targets"], "z_scale": Z_SCALE, "stats": target_stats},
             "n_train_images": len(X), "scale": "0-1 (BIQ2021 MOS; AGIQA-3K MOS / 5)",
             "licence_note": LICENCE_NOTE + " AGIQA-3K: MIT.",
             "limitations": "Learned from 256 px copies of BIQ2021 photos and AGIQA-3K generated images. Sees the "
                            "whole image squashed to 224 px plus five 224-px crops at the image's own scale "
                            "(decoded with the long side capped at 1,600 px) and BRISQUE statistics. Technical/"
                            "perceptual quality, not beauty or taste."}
    desc = (f"perceptual quality 0-1 of photographs and AI-generated images (higher = better) from {backbone} "
            f"{variant} features of the whole image and of five native-resolution crops plus BRISQUE statistics; "
            "trained on BIQ2021 + AGIQA-3K MOS")
    return save_quality_model(Path(output), head, X, name, backbone, variant, desc, metrics, extra, val)
