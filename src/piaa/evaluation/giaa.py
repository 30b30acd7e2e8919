"""4-fold GIAA benchmark on OASIS beauty (docs/design.md §3.1): train on three image subsets, test on the fourth.

Targets are the per-image distributions of the OASIS-beauty ratings (1–7). For every outer fold the head's
options are chosen by leave-one-subset-out CV on the three *training* subsets only, then the head is fitted on
all three and evaluated once on the held-out subset: SROCC and PLCC of the expected score against the mean
beauty, binary ACC at the scale midpoint (4), and EMD (r = 2) between predicted and true distributions.
Several backbones may be given: their features are concatenated (e.g. lite0 + lite2).
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.models.giaa import DEFAULT_GRID, GenericHead, distributions_from_ratings, select_params
from piaa.training.oasis import extract_features, load_oasis  # noqa: F401  (re-exported)
from piaa.errors import InputError


def giaa_fold_metrics(pred_dist: np.ndarray, true_dist: np.ndarray, values: np.ndarray, threshold: float) -> dict:
    from piaa.metrics import binary_accuracy, emd, plcc, srocc

    pred = pred_dist @ values
    true = true_dist @ values
    return {"srocc": srocc(pred, true), "plcc": plcc(pred, true), "acc": binary_accuracy(pred, true, threshold),
            "emd": emd(pred_dist, true_dist, r=2), "n_test": int(len(pred))}


def run_giaa_benchmark(backbones: Sequence[str] = (DEFAULT_BACKBONE,), variant: str = DEFAULT_VARIANT,
                       head_options: Optional[dict] = None, grid: Optional[Sequence[dict]] = DEFAULT_GRID,
                       seed: int = 0, data_dir: Optional[Path] = None, engine: str = "auto",
                       progress: bool = True, features: Optional[np.ndarray] = None,
                       fold_backbones: Optional[Dict[str, str]] = None) -> dict:
    """Run the 4-fold benchmark; returns a JSON-able report (per fold, mean, std, chosen options, timings).

    ``grid=None`` skips option selection and uses ``head_options`` as given. ``fold_backbones``: {test subset:
    backbone} -- per-fold fine-tuned trunks (``piaa.evaluation.giaa_trunk``) instead of ``backbones`` for all folds.
    """
    from piaa.evaluation.leakage import check_trunk_unseen

    ds, images, subsets, paths = load_oasis(data_dir)
    memo: dict = {}
    for name in sorted(set(subsets.tolist())):  # a fold's trunk never trained on that fold's photos
        bb = fold_backbones[name] if fold_backbones else "+".join(backbones)
        check_trunk_unseen(bb, [p for p, s in zip(paths, subsets) if s == name], f"GIAA fold {name}", memo)
    t0 = time.perf_counter()
    if fold_backbones:
        fold_X = {n: extract_features(paths, [b], variant, engine=engine, progress=progress)
                  for n, b in fold_backbones.items()}
        X = next(iter(fold_X.values()))
    else:
        X = extract_features(paths, backbones, variant, engine=engine, progress=progress) if features is None \
            else features
    feat_s = time.perf_counter() - t0
    D = distributions_from_ratings(ds, images)
    ok = np.isfinite(X).all(axis=1)
    values = ds.scale.values
    threshold = ds.scale.midpoint
    base = {"seed": seed, **(head_options or {})}
    folds: List[dict] = []
    bar = None
    names = sorted(set(subsets.tolist()))
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(names), desc="GIAA folds", unit="fold", leave=False)
    for name in names:
        if fold_backbones:
            X = fold_X[name]
            ok = np.isfinite(X).all(axis=1)
        test = (subsets == name) & ok
        train = (subsets != name) & ok
        t1 = time.perf_counter()
        table = None
        opts = dict(base)
        if grid:
            opts, table = select_params(X[train], D[train], ds.scale, grid=grid, base=base, seed=seed,
                                        groups=subsets[train])
        select_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        head = GenericHead(ds.scale, **opts).fit(X[train], D[train])
        fit_s = time.perf_counter() - t2
        m = giaa_fold_metrics(head.predict_distribution(X[test]), D[test], values, threshold)
        folds.append({"test_subset": name, **m, "n_train": int(train.sum()), "options": _jsonable(opts),
                      "cv_table": table, "select_s": round(select_s, 2), "fit_s": round(fit_s, 2)})
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    summary = {}
    for k in ("srocc", "plcc", "acc", "emd"):
        vals = np.array([f[k] for f in folds], dtype=float)
        summary[k] = {"mean": float(vals.mean()), "std": float(vals.std(ddof=0))}
    return {
        "benchmark": "giaa-oasis-beauty-4fold",
        "backbones": list(backbones) if not fold_backbones else ["per-fold trunk"],
        "fold_backbones": fold_backbones,
        "variant": variant,
        "feature_dim": int(X.shape[1]),
        "head_options": _jsonable(base),
        "grid": _jsonable(list(grid) if grid else None),
        "selection": "leave-one-subset-out CV on the 3 training subsets of each fold" if grid else "none",
        "acc_threshold": threshold,
        "emd_r": 2,
        "n_images": int(ok.sum()),
        "n_feature_errors": int((~ok).sum()),
        "folds": folds,
        "summary": summary,
        "features_s": round(feat_s, 2),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if hasattr(obj, "buckets") and hasattr(obj, "min"):
        return {"min": obj.min, "max": obj.max, "buckets": obj.buckets}
    return obj


def format_report(rep: dict) -> str:
    """A small text table of a benchmark report (per fold and mean ± std)."""
    lines = [f"GIAA 4-fold OASIS beauty  backbones={'+'.join(rep['backbones'])}  variant={rep['variant']}"
             f"  dim={rep['feature_dim']}  selection: {rep['selection']}",
             f"{'fold':<10} {'SROCC':>7} {'PLCC':>7} {'ACC':>7} {'EMD':>7}  options"]
    for f in rep["folds"]:
        opts = {k: v for k, v in f["options"].items() if k != "seed"}
        lines.append(f"{f['test_subset']:<10} {f['srocc']:7.4f} {f['plcc']:7.4f} {f['acc']:7.4f} {f['emd']:7.4f}  {opts}")
    s = rep["summary"]
    lines.append(f"{'mean':<10} {s['srocc']['mean']:7.4f} {s['plcc']['mean']:7.4f} {s['acc']['mean']:7.4f} "
                 f"{s['emd']['mean']:7.4f}")
    lines.append(f"{'std':<10} {s['srocc']['std']:7.4f} {s['plcc']['std']:7.4f} {s['acc']['std']:7.4f} "
                 f"{s['emd']['std']:7.4f}")
    return "\n".join(lines)


def speed_benchmark(paths: Sequence[Path], model: Optional[str] = None, engines=("torch", "onnx"),
                    repeats: int = 1) -> Dict:
    """End-to-end scoring throughput of a scoring model per engine (decode + resize + network + head), via
    ``piaa.features.throughput.compare_engines`` (no feature cache)."""
    from piaa.features.throughput import compare_engines
    from piaa.models.scorer import load_scorer

    scorer = load_scorer(model)
    if len(scorer.backbones) > 1:
        raise InputError(f"{scorer.name} concatenates {scorer.backbone}; the speed benchmark times "
                         "single-backbone models")
    rep = compare_engines(list(paths), scorer.backbone, scorer.variant, head_fn=scorer.score_features,
                          engines=engines, repeats=repeats)
    rep["model"] = scorer.name
    return rep
