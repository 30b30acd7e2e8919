"""Train the embedded default scoring model: a GenericHead on ALL 900 OASIS images, OASIS-beauty distributions.

The head's options are chosen by leave-one-subset-out CV over the four OASIS image subsets (no separate test
data exists once every image is used for training). The honest held-out numbers come from ``piaa bench giaa``
with the same options; its JSON report, saved next to the model file as ``<model>.bench.json``, is what
``piaa models`` and ``Scorer.info["metrics"]`` show. The weights are stored
as float16 when that changes no score by more than ``FP16_TOL`` on the training images, else float32.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.models.giaa import DEFAULT_GRID, GenericHead, distributions_from_ratings, select_params
from piaa.models.scorer import DEFAULT_MODEL, make_model_state
from piaa.errors import InsufficientDataError

FP16_TOL = 1e-3
TRAINING_DATA = ("OASIS (Kurdi et al. 2017), all 900 images; targets: per-image distributions of 136,125 beauty "
                 "ratings (1-7) by 605 US online raters (Brielmann & Pelli 2019)")
DEFAULT_HEAD_OPTIONS = {"n_models": 3}


def train_default_model(output: Path, backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT,
                        head_options: Optional[dict] = None, grid: Optional[Sequence[dict]] = DEFAULT_GRID,
                        seed: int = 0, name: str = DEFAULT_MODEL,
                        data_dir: Optional[Path] = None, engine: str = "auto", progress: bool = True) -> dict:
    """Fit, check, and write the model file atomically; returns a summary (options, dtype, fp16 diff...)."""
    from piaa.training.oasis import extract_features, load_oasis
    from piaa.state import save_state

    ds, images, subsets, paths = load_oasis(data_dir)
    backbones = [b for b in backbone.replace(",", "+").split("+") if b]
    backbone = "+".join(backbones)
    X = extract_features(paths, backbones, variant, engine=engine, progress=progress)
    ok = np.isfinite(X).all(axis=1)
    if not ok.all():
        bad = [images[i] for i in np.flatnonzero(~ok)][:3]
        raise InsufficientDataError(f"{int((~ok).sum())} OASIS image(s) gave no features (e.g. {bad})")
    D = distributions_from_ratings(ds, images)
    base = {**DEFAULT_HEAD_OPTIONS, "seed": seed, **(head_options or {})}
    table = None
    opts = dict(base)
    if grid:
        opts, table = select_params(X, D, ds.scale, grid=grid, base=base, seed=seed, groups=subsets,
                                    progress=progress)
    head = GenericHead(ds.scale, **opts).fit(X, D)
    extra = {"head_options": {k: v for k, v in opts.items() if k != "scale"},
             "selection_cv": table, "n_train_images": int(len(X)), "scale": "1-7 (OASIS beauty)",
             "limitations": "900 OASIS photos only; raters were US online participants; measures 'beauty' of "
                            "OASIS-type photographs (people, animals, objects, scenery), not technical quality or "
                            "other kinds of images (art, screenshots, AI images)."}
    desc = (f"GenericHead (distribution over 7 buckets, expectation = score) on {backbone} {variant} features, "
            f"trained on OASIS beauty")
    ref = head.predict(X)
    dtype, max_diff = "float32", 0.0
    state16 = make_model_state(head, name, backbone, variant, TRAINING_DATA, desc, dtype="float16",
                               extra=extra)
    diff16 = float(np.max(np.abs(GenericHead.from_state_dict(state16).predict(X) - ref)))
    if diff16 <= FP16_TOL:
        state, dtype, max_diff = state16, "float16", diff16
    else:
        state = make_model_state(head, name, backbone, variant, TRAINING_DATA, desc, extra=extra)
    state["meta"]["model"]["weights_dtype"] = dtype
    state["meta"]["model"]["max_abs_score_diff_vs_float64"] = max_diff if dtype == "float16" else None
    save_state(output, state)
    return {"output": str(output), "options": opts, "dtype": dtype, "fp16_max_abs_diff": diff16,
            "size_bytes": Path(output).stat().st_size, "train_srocc": _train_srocc(ref, D, ds.scale.values),
            "selection_cv": table}


def _train_srocc(pred, D, values) -> float:
    from piaa.metrics import srocc

    return float(srocc(pred, D @ values))
