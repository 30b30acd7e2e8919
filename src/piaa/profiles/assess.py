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
    counts = {"pairs": 0, "profile": 0.0, "generic": 0.0}
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
        _count_pairs(counts, pred, None if g is None else g[test], y[test])
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
        "pairs_compared": int(counts["pairs"]),
        "pairs_right_profile": round(counts["profile"] / counts["pairs"], 4) if counts["pairs"] else None,
        "pairs_right_generic": (round(counts["generic"] / counts["pairs"], 4)
                                if counts["pairs"] and g is not None else None),
        "protocol": (f"{k}-fold cross-validation on the person's own ratings; mean per-fold SROCC of the profile "
                     "and of the generic model on the same held-out photos"),
    }
    if len(pairs) >= 2:
        d = np.array([a - b for a, b in pairs])
        record["gain_se"] = float(d.std(ddof=1) / np.sqrt(len(d)))
    if g is not None:
        okg = np.isfinite(g)
        record["pooled_generic_srocc"] = _safe_srocc(g[okg], y[okg])
    # the same shares under the names older records (and `verdict`) read
    record["method_pairs"], record["generic_pairs"] = record["pairs_right_profile"], record["pairs_right_generic"]
    m, gsc = record["method_srocc"], record["generic_srocc"]
    record["better_than_generic"] = None if m is None or gsc is None else bool(m > gsc)
    return record


def _count_pairs(counts: dict, pred, gen, y) -> None:
    """Add one held-out fold's pairs of photos rated differently, and how many of them the profile (and the
    generic model) order the way the person did (a tie in the prediction counts half)."""
    pred, y = np.asarray(pred, dtype=float), np.asarray(y, dtype=float)
    i, j = np.nonzero(y[:, None] > y[None, :])          # i liked more than j
    if not len(i):
        return
    counts["pairs"] += len(i)
    for key, s in (("profile", pred), ("generic", gen)):
        if s is None:
            continue
        s = np.asarray(s, dtype=float)
        d = s[i] - s[j]
        counts[key] += float((d > 0).sum() + 0.5 * (d == 0).sum())


def pair_agreement(pred, y) -> Optional[float]:
    """Share of the pairs of photos rated differently that ``pred`` orders the same way (a tie in ``pred``
    counts half): the plain-language twin of a rank correlation (0.5 = coin flip, 1 = every pair right)."""
    pred, y = np.asarray(pred, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(pred) & np.isfinite(y)
    counts = {"pairs": 0, "profile": 0.0, "generic": 0.0}
    _count_pairs(counts, pred[ok], None, y[ok])
    return counts["profile"] / counts["pairs"] if counts["pairs"] else None


def pairs_from_srocc(rho: float) -> float:
    """Pair agreement implied by a Spearman correlation for normally distributed scores (Greiner's relation:
    Pearson r = 2 sin(pi rho / 6), Kendall tau = 2 arcsin(r) / pi, agreement = (1 + tau) / 2); used for
    profiles assessed before the pair agreement was recorded."""
    r = 2.0 * np.sin(np.pi * float(rho) / 6.0)
    return float((1.0 + 2.0 * np.arcsin(np.clip(r, -1, 1)) / np.pi) / 2.0)


def _safe_srocc(a, b) -> Optional[float]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    v = float(srocc(a, b))
    return None if not np.isfinite(v) else v


def verdict(record: Dict[str, object]) -> str:
    """A few lines for a person: how well the profile orders their photos, in pairs out of 10, next to the
    generic model; SROCC as the detail; a warning when the profile is no better."""
    m, g = record.get("method_srocc"), record.get("generic_srocc")
    if m is None:
        return "this profile could not be assessed (its cross-validated predictions were constant or missing)"
    pm = record.get("method_pairs")
    pg = record.get("generic_pairs")
    pm = pairs_from_srocc(m) if pm is None else pm
    pg = (pairs_from_srocc(g) if g is not None else None) if pg is None else pg
    # whole pairs, as people count; one decimal when rounding would hide the difference
    fmt = ".1f" if pg is not None and round(10 * pm) == round(10 * pg) and abs(pm - pg) >= 0.005 else ".0f"
    text = (f"out of 10 pairs of your photos that you rated differently, this profile orders about "
            f"{10 * pm:{fmt}} the way you did")
    if pg is not None:
        text += f"; the generic model about {10 * pg:{fmt}}"
    text += (f"\n(tested on photos it had not learned from: {record.get('folds')}-fold cross-validation on your "
             f"{record.get('n')} ratings; detail: SROCC {m:.2f}" + (f" vs generic {g:.2f}" if g is not None else "")
             + "; 5 of 10 is a coin flip)")
    se = record.get("gain_se")
    if g is not None and se is not None and abs(m - g) < 2 * se:
        text += f"\nnote: the difference is within the noise of {record.get('n')} ratings (±{2 * se:.2f} SROCC); " \
                "more ratings make the comparison sharper"
    if g is not None and m <= g:
        text += ("\nwarning: the profile is NOT better than the generic model on your own ratings; rate more photos "
                 "(or more varied ones), try another --method, or use the generic ranking")
    return text
