"""Honest self-assessment: does a profile know its person better than the generic model does?

k-fold cross-validation on the person's own ratings: the personalizer is fitted on k-1 folds and predicts the
held-out fold, so every rating is predicted by a model that never saw it. The pooled out-of-fold predictions
are compared with the ratings by SROCC; the generic model's SROCC on the very same images is the baseline.
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
    fold_srocc = []
    it = range(k)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="self-assessment", unit="fold", leave=False, dynamic_ncols=True)
    for f in it:
        test = np.flatnonzero(folds == f)
        train = np.flatnonzero(folds != f)
        pred = np.asarray(fit_predict(train, test), dtype=float).reshape(-1)
        oof[test] = pred
        fold_srocc.append(_safe_srocc(pred, y[test]))
    ok = np.isfinite(oof)
    record = {
        "method_srocc": _safe_srocc(oof[ok], y[ok]),
        "generic_srocc": None,
        "folds": int(k),
        "n": int(n),
        "n_predicted": int(ok.sum()),
        "seed": int(seed),
        "fold_srocc": [None if v is None else round(v, 4) for v in fold_srocc],
        "protocol": f"{k}-fold cross-validation on the person's own ratings; SROCC of pooled out-of-fold predictions",
    }
    if generic is not None:
        g = np.asarray(generic, dtype=float)
        okg = np.isfinite(g)
        record["generic_srocc"] = _safe_srocc(g[okg], y[okg])
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
    if g is not None and m <= g:
        text += ("\nwarning: the profile is NOT better than the generic model on your own ratings; rate more photos "
                 "(or more varied ones), try another --method, or use the generic ranking")
    return text
