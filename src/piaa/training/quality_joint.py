"""One quality model for photographs *and* generated images: BIQ2021 + AGIQA-3K, validated on held-out parts.

Why a second builder beside :mod:`piaa.training.quality_model`: that one learns BIQ2021 photos only and reaches
0.55 zero-shot on AI-generated images. Here the GenericHead (11 buckets on 0-1, :data:`MLP_OPTIONS`) learns both
databases at once: BIQ2021 MOS (0-1 as published) and AGIQA-3K ``mos_quality`` divided by 5 (its 0-5 scale).

Validation (``validate_joint_quality``): each database is split with :func:`piaa.training.trunk.data.split_parts`
-- the same seeded parts a trunk of ``piaa train trunk`` uses -- and the head trained on the train+val parts is
measured on the test parts, per database (SROCC, PLCC). When the backbone is a fine-tuned trunk, its own split
settings are used and every test photo is checked to be absent from the trunk's ``seen_images``: the numbers are
those of photos the whole model never saw. The shipped model is then fitted on every photo of both databases.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from piaa.errors import InputError
from piaa.training.quality_model import LICENCE_NOTE, MLP_OPTIONS, SCALE, _stamp

DATABASES = ("biq2021", "agiqa3k")
AGIQA_SCALE = 5.0
TRAINING_DATA = ("BIQ2021 (Ahmed et al. 2022): 4,000 training photos with MOS (0-1); AGIQA-3K (Li et al. 2023): "
                 "2,000 AI-generated images of train.csv with perceptual-quality MOS (0-5, divided by 5); 256 px "
                 "copies. Neither database's held-back test images are read.")


class LeakageError(InputError):
    """A model would be measured on a photo whose ratings it was trained on."""


def _split_settings(backbones: Sequence[str]) -> dict:
    """(val, test, split_seed) of the fine-tuned trunk among ``backbones`` (the defaults when there is none)."""
    from piaa.backbones.finetuned import read_trunk, trunk_file_of
    from piaa.training.trunk.config import TrunkConfig

    d = TrunkConfig()
    out = {"val": d.val, "test": d.test, "split_seed": d.split_seed}
    for b in backbones:
        path = trunk_file_of(b)
        if path is not None:
            cfg = read_trunk(path)["meta"]["config"]
            out = {k: cfg[k] for k in out}
    return out


def load_joint(databases: Sequence[str] = DATABASES, data_dir: Optional[Path] = None, split: Optional[dict] = None):
    """(TaskData per database with ``part`` set, 0-1 target per database)."""
    from piaa.training.trunk.data import load_database, split_parts

    split = split or _split_settings(())
    out, ys = [], []
    for name in databases:
        d = load_database(name, data_dir)
        d.part = split_parts(d.names, d.strata, split["val"], split["test"], split["split_seed"])
        if name == "biq2021":
            y = np.asarray(d.targets["biq_quality"], dtype=np.float64)
        elif name == "agiqa3k":
            y = np.asarray(d.targets["agiqa_quality"], dtype=np.float64) / AGIQA_SCALE
        else:
            raise InputError(f"joint quality: {name!r} is not a quality database; use {', '.join(DATABASES)}")
        drop_test_duplicates(d)
        out.append(d)
        ys.append(np.clip(y, 0.0, 1.0))
    return out, ys


def drop_test_duplicates(d) -> int:
    """Test photos whose bytes equal a train/val photo's (AGIQA-3K holds a few) leave the test part ("dup"):
    a model trained on the twin has seen that photo's ratings. Returns how many."""
    from piaa.training.trunk.activations import image_hashes

    hs = np.array(image_hashes(d.paths), dtype=object)
    fit = set(hs[d.part != "test"].tolist())
    dup = (d.part == "test") & np.array([h in fit for h in hs], dtype=bool)
    d.part = np.where(dup, "dup", d.part).astype(object)
    return int(dup.sum())


def _features(dbs, backbones, variant, engine, progress):
    from piaa.training.quality_model import extract

    return [extract([Path(p) for p in d.paths], backbones, variant, engine, progress) for d in dbs]


def check_unseen(backbones: Sequence[str], dbs, part: str = "test") -> None:
    """LeakageError when a fine-tuned trunk among ``backbones`` saw a photo of ``part``."""
    from piaa.backbones.finetuned import seen_images
    from piaa.training.trunk.activations import image_hashes

    for b in backbones:
        seen = seen_images(b)
        if not seen:
            continue
        for d in dbs:
            hs = image_hashes([p for p, q in zip(d.paths, d.part) if q == part])
            bad = sum(h in seen for h in hs)
            if bad:
                raise LeakageError(f"backbone {b!r} was trained on {bad} {d.database} photo(s) of the {part} part: "
                                   f"its numbers there would be leaked; use a trunk trained with the same split")


def validate_joint_quality(backbones: Sequence[str], variant: str = "multilevel", train_on: Sequence[str] = DATABASES,
                           data_dir: Optional[Path] = None, engine: str = "auto", progress: bool = False,
                           seed: int = 0, features=None, split: Optional[dict] = None) -> dict:
    """Train on the train+val parts of ``train_on``, measure on the test part of every quality database.

    ``split``: ``{"val", "test", "split_seed"}`` (default: those of the trunk among ``backbones``), so an
    ImageNet backbone can be measured on exactly the parts of a given trunk."""
    from piaa.data.ratings import Scale
    from piaa.metrics import plcc, srocc
    from piaa.models.giaa import GenericHead

    split = split or _split_settings(backbones)
    dbs, ys = load_joint(DATABASES, data_dir, split)
    check_unseen(backbones, dbs)
    t0 = time.perf_counter()
    Xs = features if features is not None else _features(dbs, backbones, variant, engine, progress)
    feat_s = time.perf_counter() - t0
    fit = [i for i, d in enumerate(dbs) if d.database in train_on]
    Xtr = np.concatenate([Xs[i][np.isin(dbs[i].part, ["train", "val"])] for i in fit])
    ytr = np.concatenate([ys[i][np.isin(dbs[i].part, ["train", "val"])] for i in fit])
    sc = Scale(*SCALE)
    t1 = time.perf_counter()
    head = GenericHead(sc, **{**MLP_OPTIONS, "seed": seed}).fit(Xtr, sc.soft_onehot(ytr))
    fit_s = time.perf_counter() - t1
    res: Dict[str, dict] = {}
    for i, d in enumerate(dbs):
        m = d.part == "test"
        p = head.predict(Xs[i][m])
        res[d.database] = {"srocc": round(float(srocc(p, ys[i][m])), 4), "plcc": round(float(plcc(p, ys[i][m])), 4),
                           "n_test": int(m.sum()), "n_test_duplicates_dropped": int((d.part == "dup").sum())}
    return {"backbones": list(backbones), "variant": variant, "trained_on": list(train_on), "split": split,
            "n_train": int(len(ytr)), "test": res, "features_s": round(feat_s, 1), "fit_s": round(fit_s, 1),
            **_stamp()}


def train_joint_quality_model(output: Path, backbones: Sequence[str], variant: str = "multilevel", seed: int = 0,
                              name: Optional[str] = None, data_dir: Optional[Path] = None, engine: str = "auto",
                              progress: bool = False) -> dict:
    """Validate (held-out parts), then fit on every photo of both databases and write the scoring model."""
    from piaa.data.ratings import Scale
    from piaa.models.giaa import GenericHead
    from piaa.models.scorer import JOINT_QUALITY_MODEL

    name = name or JOINT_QUALITY_MODEL
    split = _split_settings(backbones)
    dbs, ys = load_joint(DATABASES, data_dir, split)
    Xs = _features(dbs, backbones, variant, engine, progress)
    val = validate_joint_quality(backbones, variant, DATABASES, data_dir, engine, progress, seed, features=Xs)
    X, y = np.concatenate(Xs), np.concatenate(ys)
    sc = Scale(*SCALE)
    options = {**MLP_OPTIONS, "seed": seed}
    head = GenericHead(sc, **options).fit(X, sc.soft_onehot(y))
    backbone = "+".join(backbones)
    metrics = {"protocol": "GenericHead trained on the train+val parts of BIQ2021 and AGIQA-3K train.csv, measured on "
                           f"their seeded test parts ({split}); a fine-tuned trunk never saw a test photo",
               "test": val["test"], "srocc": val["test"]["biq2021"]["srocc"],
               "srocc_agiqa3k": val["test"]["agiqa3k"]["srocc"], **_stamp()}
    extra = {"criterion": "quality", "head": "mlp", "head_options": options, "n_train_images": int(len(X)),
             "scale": "0-1 (BIQ2021 MOS; AGIQA-3K MOS / 5)", "licence_note": LICENCE_NOTE + " AGIQA-3K: MIT.",
             "limitations": "Learned from 256 px copies of BIQ2021 photos and AGIQA-3K generated images; the "
                            "whole image is judged downscaled to the network's input size. Technical/perceptual "
                            "quality, not beauty or taste."}
    desc = (f"GenericHead MLP on {backbone} {variant} features -> perceptual quality 0-1 of photographs and "
            f"AI-generated images (higher = better), trained on BIQ2021 + AGIQA-3K MOS")
    return save_quality_model(Path(output), head, X, name, backbone, variant, desc, metrics, extra, val)


def save_quality_model(output: Path, head, X, name: str, backbone: str, variant: str, desc: str, metrics: dict,
                       extra: dict, validation: dict) -> dict:
    """Write a joint quality model: float16 weights when its scores on ``X`` stay within 1e-3 of the fitted
    head's, else float32. Returns the report ``piaa train quality`` prints."""
    from piaa.models.linear_head import head_from_state
    from piaa.models.scorer import make_model_state
    from piaa.state import save_state

    ref = head.predict(X)
    state16 = make_model_state(head, name, backbone, variant, TRAINING_DATA, desc, metrics=metrics, dtype="float16",
                               extra=extra)
    diff16 = float(np.max(np.abs(head_from_state(state16).predict(X) - ref)))
    dtype = "float16" if diff16 <= 1e-3 else "float32"
    state = state16 if dtype == "float16" else make_model_state(head, name, backbone, variant, TRAINING_DATA, desc,
                                                                metrics=metrics, extra=extra)
    state["meta"]["model"]["weights_dtype"] = dtype
    save_state(output, state)
    return {"output": str(output), "validation": validation, "weights_dtype": dtype, "fp16_max_abs_diff": diff16,
            "size_bytes": Path(output).stat().st_size, "n_train_images": int(len(X))}
