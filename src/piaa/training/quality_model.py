"""The shipped photo-quality model: technical quality 0-1 learned from BIQ2021's mean opinion scores.

Data: ``train.csv`` of BIQ2021 (4,000 photos with MOS; ``../shared/data/biq2021``). The official test split's MOS
are held back and never read here; every choice is made on ``train.csv``:

* validation: 5 folds stratified by subset (ss01 own photos / ss02 deliberate distortions / ss03 Unsplash),
  seeded; SROCC/PLCC per validation fold, averaged (``cross_validate``);
* heads: the GenericHead MLP (11-bucket 0-1 scale, fixed options :data:`MLP_OPTIONS`; the shipped recipe) or
  a ridge regression (:class:`~piaa.models.linear_head.RidgeHead`) on standardized features, whose strength is
  chosen in each fold by leave-one-out SROCC on that fold's *training* part only (closed form, no extra fits),
  so every validation fold is predicted once by a model that never saw it, options included;
* the shipped model: the same recipe fitted on all 4,000 photos.

``piaa bench quality`` prints/writes the report; ``piaa train quality`` writes the model file.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np

from piaa.models.linear_head import RidgeHead, ridge_path
from piaa.errors import FileMissingError, InputError, InsufficientDataError

TRAINING_DATA = ("BIQ2021 (Ahmed et al., J. Electronic Imaging 2022): the 4,000 photos of train.csv (a seeded, "
                 "subset-stratified sample of the official 10,000 training images) with their mean opinion scores "
                 "(30 lab observers, 1-5, scaled to 0-1 by the authors); 256 px copies")
LICENCE_NOTE = ("BIQ2021's repository states no licence; its ss03 photos come from Unsplash (free use). Used here "
                "as a benchmark and training source only; no BIQ2021 image is shipped, only the fitted weights.")
SCALE = (0.0, 1.0, 11)
ALPHAS = (1000.0, 3000.0, 10000.0, 30000.0)
MLP_OPTIONS = {"components": 256, "epochs": 30, "n_models": 1}
N_FOLDS = 5


def load_biq2021(data_dir: Optional[Path] = None):
    """(images, mos, subsets, absolute paths) of BIQ2021's ``train.csv`` (the test list is never read here)."""
    from piaa.data import load_dataset
    from piaa.paths import shared_data_dir

    root = Path(data_dir) if data_dir else shared_data_dir() / "biq2021"
    if not (root / "train.csv").is_file() and (root / "biq2021" / "train.csv").is_file():
        root = root / "biq2021"
    ds = load_dataset("biq2021", root)
    if ds.images_root is None:
        raise FileMissingError(f"BIQ2021 images not found next to {root / 'train.csv'} (expected images/)")
    mos = ds.image_means()
    images = list(ds.splits["train"])
    subsets = np.array([ds.image_info.loc[i, "subset"] for i in images], dtype=object)
    return images, mos.loc[images].to_numpy(dtype=np.float64), subsets, [Path(ds.images_root) / i for i in images]


def stratified_folds(groups, n_folds: int = N_FOLDS, seed: int = 0) -> np.ndarray:
    """A fold id per row: each group's rows are shuffled (seeded) and dealt round-robin into ``n_folds``."""
    groups = np.asarray(groups, dtype=object)
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(groups), dtype=int)
    for g in sorted(set(groups.tolist()), key=str):
        idx = np.flatnonzero(groups == g)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % n_folds
    return fold


def _standardize(Xtr: np.ndarray, Xva: np.ndarray, log: bool) -> Tuple[np.ndarray, np.ndarray]:
    if log:
        Xtr, Xva = np.log1p(np.maximum(Xtr, 0.0)), np.log1p(np.maximum(Xva, 0.0))
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    return (Xtr - mu) / sd, (Xva - mu) / sd


def choose_alpha(X, y, alphas: Sequence[float] = ALPHAS, log_features: bool = False) -> Tuple[float, dict]:
    """The ridge strength with the best leave-one-out SROCC on ``(X, y)`` (closed form, one decomposition)."""
    from piaa.metrics import srocc

    A, _ = _standardize(X, X[:1], log_features)
    _, loo = ridge_path(A, y, A[:1], alphas, loo=True)
    table = {float(a): round(float(srocc(loo[float(a)], y)), 4) for a in alphas}
    return max(table, key=table.get), table


def cross_validate(X, y, subsets, head: str = "ridge", alphas: Sequence[float] = ALPHAS,
                   log_features: bool = False, mlp_options: Optional[dict] = None, n_folds: int = N_FOLDS,
                   seed: int = 0):
    """5-fold CV stratified by subset; returns (report, out-of-fold predictions). See the module doc."""
    from piaa.metrics import plcc, srocc

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    fold = stratified_folds(subsets, n_folds, seed)
    pred = np.full(len(y), np.nan)
    per_alpha = {float(a): np.full(len(y), np.nan) for a in alphas}
    outer = []
    for f in range(n_folds):
        tr, va = fold != f, fold == f
        info: dict = {"fold": f, "n_test": int(va.sum())}
        if head == "ridge":
            A, B = _standardize(X[tr], X[va], log_features)
            out, loo = ridge_path(A, y[tr], B, alphas, loo=True)
            loo_s = {float(a): float(srocc(loo[float(a)], y[tr])) for a in alphas}
            best = max(loo_s, key=loo_s.get)
            pred[va] = out[best]
            for a in alphas:
                per_alpha[float(a)][va] = out[float(a)]
            info["options"] = {"alpha": best, "log_features": log_features}
            info["loo_srocc_on_training_part"] = {f"{k:g}": round(v, 4) for k, v in loo_s.items()}
        elif head == "mlp":
            from piaa.data.ratings import Scale
            from piaa.models.giaa import GenericHead

            sc = Scale(*SCALE)
            opts = dict(MLP_OPTIONS if mlp_options is None else mlp_options)
            pred[va] = GenericHead(sc, **opts).fit(X[tr], sc.soft_onehot(y[tr])).predict(X[va])
            info["options"] = opts
        else:
            raise InputError(f"head must be 'ridge' or 'mlp', got {head!r}")
        info["srocc"] = round(float(srocc(pred[va], y[va])), 4)
        info["plcc"] = round(float(plcc(pred[va], y[va])), 4)
        outer.append(info)
    per_subset = {}
    for g in sorted(set(np.asarray(subsets).tolist()), key=str):
        m = np.asarray(subsets) == g
        per_subset[str(g)] = {"srocc": round(float(srocc(pred[m], y[m])), 4), "n": int(m.sum())}
    s = np.array([o["srocc"] for o in outer])
    p = np.array([o["plcc"] for o in outer])
    rep = {"head": head, "folds": outer, "srocc": round(float(s.mean()), 4), "srocc_std": round(float(s.std()), 4),
           "plcc": round(float(p.mean()), 4), "plcc_std": round(float(p.std()), 4),
           "pooled_srocc": round(float(srocc(pred, y)), 4), "per_subset": per_subset}
    if head == "ridge":  # for reference only: every strength's validation SROCC (not used for any choice)
        rep["every_alpha_validation_srocc"] = {
            f"{a:g}": round(float(np.mean([srocc(per_alpha[float(a)][fold == f], y[fold == f])
                                           for f in range(n_folds)])), 4) for a in alphas}
    return rep, pred


def extract(paths, backbones: Sequence[str], variant: str, engine: str = "auto", progress: bool = False):
    from piaa.training.oasis import extract_features

    X = extract_features(paths, backbones, variant, engine=engine, progress=progress)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise InsufficientDataError(f"{int(bad.sum())} BIQ2021 image(s) gave no features (e.g. {paths[int(np.flatnonzero(bad)[0])]})")
    return X


def _stamp() -> dict:
    return {"date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()}}


PROTOCOL = ("5-fold CV on BIQ2021 train.csv (4,000 photos), folds stratified by subset ss01/ss02/ss03; ridge "
            "strength chosen by leave-one-out SROCC on each fold's training part; SROCC/PLCC per validation fold, "
            "averaged")


def run_quality_benchmark(backbones: Sequence[str] = ("efficientnet_lite0",), variant: str = "multilevel",
                          head: str = "ridge", log_features: bool = False, seed: int = 0,
                          data_dir: Optional[Path] = None, engine: str = "auto", progress: bool = False) -> dict:
    """The CV of ``cross_validate`` on BIQ2021 ``train.csv``; a JSON-able report."""
    images, y, subsets, paths = load_biq2021(data_dir)
    t0 = time.perf_counter()
    X = extract(paths, backbones, variant, engine, progress)
    feat_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    cv, _ = cross_validate(X, y, subsets, head=head, log_features=log_features, seed=seed)
    return {"benchmark": "quality-biq2021-train-5fold", "backbones": list(backbones), "variant": variant,
            "feature_dim": int(X.shape[1]), "n_images": len(images), "alphas": list(ALPHAS), "seed": seed,
            "protocol": PROTOCOL, **cv, "features_s": round(feat_s, 1), "cv_s": round(time.perf_counter() - t1, 1),
            **_stamp()}


def format_quality_report(rep: dict) -> str:
    lines = [f"BIQ2021 quality, 5-fold CV on train.csv  backbones={'+'.join(rep['backbones'])}  "
             f"variant={rep['variant']}  dim={rep['feature_dim']}  head={rep['head']}",
             f"{'fold':<6} {'SROCC':>7} {'PLCC':>7}  options"]
    for f in rep["folds"]:
        lines.append(f"{f['fold']:<6} {f['srocc']:7.4f} {f['plcc']:7.4f}  {f['options']}")
    lines.append(f"{'mean':<6} {rep['srocc']:7.4f} {rep['plcc']:7.4f}   (std {rep['srocc_std']:.4f} / "
                 f"{rep['plcc_std']:.4f}; pooled SROCC {rep['pooled_srocc']:.4f})")
    lines.append("per subset SROCC: " + ", ".join(f"{k} {v['srocc']:.3f} (n={v['n']})"
                                                  for k, v in rep["per_subset"].items()))
    if "every_alpha_validation_srocc" in rep:
        lines.append("every strength (reference, not used to choose): "
                     + ", ".join(f"{k}: {v:.4f}" for k, v in rep["every_alpha_validation_srocc"].items()))
    return "\n".join(lines)


def train_quality_model(output: Path, backbones: Sequence[str] = ("efficientnet_lite0",),
                        variant: str = "multilevel", head_kind: str = "mlp", log_features: bool = False,
                        seed: int = 0, name: Optional[str] = None, data_dir: Optional[Path] = None,
                        engine: str = "auto", progress: bool = False) -> dict:
    """Measure the recipe (CV), fit it on all 4,000 photos of train.csv, write the model file.

    ``head_kind="mlp"`` (the shipped recipe: it beat the ridge in CV, docs/benchmarks/quality.md): GenericHead
    with :data:`MLP_OPTIONS` on an 11-bucket 0-1 scale. ``"ridge"``: strength by leave-one-out on all photos.
    """
    from piaa.metrics import srocc
    from piaa.models.giaa import GenericHead
    from piaa.models.scorer import make_model_state
    from piaa.state import save_state

    name = name or "biq2021-quality-lite0"  # the photos-only model
    images, y, subsets, paths = load_biq2021(data_dir)
    X = extract(paths, backbones, variant, engine, progress)
    cv, _ = cross_validate(X, y, subsets, head=head_kind, log_features=log_features, seed=seed)
    if head_kind == "ridge":
        alpha, loo_table = choose_alpha(X, y, log_features=log_features)
        head = RidgeHead(SCALE, alpha=alpha, log_features=log_features).fit(X, y)
        options = {"alpha": alpha, "log_features": log_features}
        how = f"ridge regression (alpha {alpha:g})"
        loader = RidgeHead.from_state_dict
    elif head_kind == "mlp":
        from piaa.data.ratings import Scale

        sc = Scale(*SCALE)
        options, loo_table = {**MLP_OPTIONS, "seed": seed}, None
        head = GenericHead(sc, **options).fit(X, sc.soft_onehot(y))
        how = "GenericHead MLP (11 buckets on 0-1, expectation = score)"
        loader = GenericHead.from_state_dict
    else:
        raise InputError(f"head must be 'ridge' or 'mlp', got {head_kind!r}")
    backbone = "+".join(backbones)
    metrics = {"protocol": PROTOCOL, "srocc": cv["srocc"], "srocc_std": cv["srocc_std"], "plcc": cv["plcc"],
               "plcc_std": cv["plcc_std"], "per_subset": cv["per_subset"],
               "srocc_folds": [f["srocc"] for f in cv["folds"]], **_stamp()}
    extra = {"criterion": "quality", "head": head_kind, "head_options": options,
             "selection_loo_srocc": {f"{k:g}": v for k, v in loo_table.items()} if loo_table else None,
             "n_train_images": int(len(X)),
             "scale": "0-1 (BIQ2021 MOS: mean of 30 ratings 1-5, scaled)", "licence_note": LICENCE_NOTE,
             "limitations": "Learned from 256 px copies of BIQ2021 training photos (own photos, deliberately "
                            "distorted captures, Unsplash); the whole photo is judged downscaled to the network's "
                            "input size, so pixel-level noise in a large file counts only as far as it survives "
                            "that downscale. Technical quality, not beauty or taste."}
    desc = (f"{how} on {backbone} {variant} features -> technical photo quality 0-1 (higher = better), trained "
            f"on BIQ2021 MOS")
    ref = head.predict(X)
    state16 = make_model_state(head, name, backbone, variant, TRAINING_DATA, desc, metrics=metrics,
                               dtype="float16", extra=extra)
    diff16 = float(np.max(np.abs(loader(state16).predict(X) - ref)))
    if diff16 <= 1e-3:
        state, dtype = state16, "float16"
    else:
        state, dtype = make_model_state(head, name, backbone, variant, TRAINING_DATA, desc, metrics=metrics,
                                        dtype="float32", extra=extra), "float32"
    state["meta"]["model"]["weights_dtype"] = dtype
    state["meta"]["model"]["max_abs_score_diff_vs_float64"] = diff16 if dtype == "float16" else None
    save_state(output, state)
    return {"output": str(output), "head": head_kind, "options": options, "loo_srocc": loo_table,
            "cv": {k: cv[k] for k in ("srocc", "srocc_std", "plcc", "plcc_std", "per_subset")},
            "weights_dtype": dtype, "fp16_max_abs_diff": diff16, "size_bytes": Path(output).stat().st_size,
            "train_srocc": round(float(srocc(ref, y)), 4)}
