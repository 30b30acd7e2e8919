"""Honest self-assessment: does a profile know its person better than the generic model does?

k-fold cross-validation on the person's own ratings: the personalizer is fitted on k-1 folds and predicts the
held-out fold, so every rating is predicted by a model that never saw it. Per fold, the SROCC of its
predictions and the generic model's SROCC on the very same held-out photos are computed; the headline numbers
are their means over the folds (a paired comparison), with the standard error of the per-fold differences as
the noise band. The SROCC of the pooled out-of-fold predictions is kept too; it mixes the folds' different
calibrations into one ranking and underestimated the gain over the generic model on OASIS raters (see
docs/benchmarks/profiles.md), so it is not the headline.
Nothing here is tuned on the held-out folds (the personalizer's own choices, e.g. the probe's ridge strength,
are made inside each training fold).
"""
from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np

from piaa.metrics import srocc


def fold_ids(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Shuffled fold labels 0..k-1, sizes differing by at most one."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n) % k
    rng.shuffle(ids)
    return ids


def choose_k(n: int, k: int = 5) -> int:
    """At most ``k`` folds and at least 2 held-out images per fold."""
    return max(2, min(k, n // 2))


def cross_validate(fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], y: np.ndarray,
                   generic: Optional[np.ndarray], k: int = 5, seed: int = 0,
                   progress: bool = False) -> Dict[str, object]:
    """``fit_predict(train_idx, test_idx) -> predictions for test_idx``; returns the assessment record."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    k = choose_k(n, k)
    folds = fold_ids(n, k, seed)
    oof = np.full(n, np.nan)
    g = None if generic is None else np.asarray(generic, dtype=float)
    fold_m, fold_g = [], []
    it = range(k)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="self-assessment", unit="fold", leave=False, dynamic_ncols=True)
    for f in it:
        test = np.flatnonzero(folds == f)
        train = np.flatnonzero(folds != f)
        pred = np.asarray(fit_predict(train, test), dtype=float).reshape(-1)
        oof[test] = pred
        fold_m.append(_safe_srocc(pred, y[test]))
        fold_g.append(None if g is None else _safe_srocc(g[test], y[test]))
    ok = np.isfinite(oof)
    pairs = [(a, b) for a, b in zip(fold_m, fold_g) if a is not None and b is not None]
    valid_m = [a for a in fold_m if a is not None]
    record = {
        "method_srocc": float(np.mean([a for a, _ in pairs])) if pairs else (float(np.mean(valid_m)) if valid_m else None),
        "generic_srocc": float(np.mean([b for _, b in pairs])) if pairs else None,
        "gain_se": None,
        "folds": int(k),
        "n": int(n),
        "n_predicted": int(ok.sum()),
        "seed": int(seed),
        "fold_srocc": [None if v is None else round(v, 4) for v in fold_m],
        "fold_generic_srocc": [None if v is None else round(v, 4) for v in fold_g],
        "pooled_method_srocc": _safe_srocc(oof[ok], y[ok]),
        "pooled_generic_srocc": None,
        "protocol": (f"{k}-fold cross-validation on the person's own ratings; mean per-fold SROCC of the profile "
                     "and of the generic model on the same held-out photos"),
    }
    if len(pairs) >= 2:
        d = np.array([a - b for a, b in pairs])
        record["gain_se"] = float(d.std(ddof=1) / np.sqrt(len(d)))
    if g is not None:
        okg = np.isfinite(g)
        record["pooled_generic_srocc"] = _safe_srocc(g[okg], y[okg])
    m, gsc = record["method_srocc"], record["generic_srocc"]
    record["better_than_generic"] = None if m is None or gsc is None else bool(m > gsc)
    return record


def _safe_srocc(a, b) -> Optional[float]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    v = float(srocc(a, b))
    return None if not np.isfinite(v) else v


def verdict(record: Dict[str, object]) -> str:
    """One line for a person: how well the profile knows them, and a warning when it is no better."""
    m, g = record.get("method_srocc"), record.get("generic_srocc")
    if m is None:
        return "this profile could not be assessed (its cross-validated predictions were constant or missing)"
    text = f"this profile knows you: {m:.2f}"
    if g is not None:
        text += f" vs generic {g:.2f}"
    text += f" (SROCC, {record.get('folds')}-fold cross-validation on your {record.get('n')} ratings)"
    se = record.get("gain_se")
    if g is not None and se is not None and abs(m - g) < 2 * se:
        text += f"\nnote: the difference is within the noise of {record.get('n')} ratings (±{2 * se:.2f}); " \
                "more ratings make the comparison sharper"
    if g is not None and m <= g:
        text += ("\nwarning: the profile is NOT better than the generic model on your own ratings; rate more photos "
                 "(or more varied ones), try another --method, or use the generic ranking")
    return text
