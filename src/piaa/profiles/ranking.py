"""From scores to a ranking and to stars.

Stars (1-5) are score quantiles *within the ranked set*: the lowest 20% of the photos get 1 star, the next
20% 2 stars, ..., the top 20% 5 stars. Quantiles rather than fixed thresholds because a personal score has no
absolute meaning across people and shoots (a profile's 4.2 is not another profile's 4.2), while "top fifth of
this shoot" is what a photographer culls by. Tied scores share a star (average ranks). With few photos the
same rule applies to the mid-rank: one photo gets 3 stars.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.metrics import rankdata


def quantile_stars(scores: Sequence[float], higher_better: bool = True) -> np.ndarray:
    """Stars 1..5 by score quintile (ties share a star); NaN scores get 0 (= no star)."""
    s = np.asarray(scores, dtype=float)
    if not higher_better:
        s = -s
    out = np.zeros(len(s), dtype=int)
    ok = np.isfinite(s)
    n = int(ok.sum())
    if n == 0:
        return out
    r = rankdata(s[ok])                      # 1..n, average ranks for ties
    q = (r - 0.5) / n                        # mid-rank quantile in (0, 1)
    out[ok] = 1 + np.minimum(4, np.floor(q * 5).astype(int))
    return out


def rating_stars(value: float, scale: Sequence[float]) -> int:
    """A person's own rating on ``scale`` (lo, hi) as whole stars 1..5, linearly, halves rounded up: the one
    mapping from a rating to stars, so a photo someone rated gets the same stars from ``piaa rank --write-xmp``
    (its ratings from a CSV, 1-10 or 1-7) as from ``piaa serve``'s XMP export. A person's stars are their own,
    never a quintile of predictions (:func:`quantile_stars` is for the photos they did not rate)."""
    lo, hi = float(scale[0]), float(scale[1])
    v = 3.0 if hi <= lo else 1.0 + 4.0 * (float(value) - lo) / (hi - lo)
    return int(min(5, max(1, np.floor(v + 0.5))))


def best_first(scores: Sequence[float], tie: Optional[Sequence[float]] = None,
               names: Optional[Sequence[str]] = None, higher_better: bool = True) -> np.ndarray:
    """Row indices best first — the one ranking order of piaa (``piaa rank``, the web app's library): by score,
    then by ``tie`` (higher first: e.g. the prediction that orders photos given the same stars), then by name,
    then by input position; rows without a finite score last."""
    s = np.asarray(scores, dtype=float)
    s = s if higher_better else -s
    keys = [np.arange(len(s))]
    if names is not None:          # names, or numbers that sort as the names do (their places in name order)
        n = np.asarray(names) if len(s) else np.zeros(0)
        keys.append(n if n.dtype.kind in "iuf" else np.asarray([str(x) for x in names]))
    if tie is not None:
        t = np.asarray(tie, dtype=float)
        keys.append(-np.where(np.isfinite(t), t, -np.inf))
    keys += [-np.where(np.isfinite(s), s, -np.inf), ~np.isfinite(s)]
    return np.lexsort(keys)


def rank_records(paths: Sequence, scores: Sequence[float], errors: Optional[Dict[int, str]] = None,
                 top: Optional[int] = None, extra: Optional[Dict[str, Sequence]] = None,
                 higher_better: bool = True) -> List[dict]:
    """Records best-first: ``{"rank", "path", "score", "stars"}`` (+ ``extra`` columns), then the photos that
    could not be scored as ``{"path", "error"}``. ``top`` keeps the first N ranked records (errors are kept)."""
    errors = dict(errors or {})
    s = np.asarray(scores, dtype=float)
    stars = quantile_stars(np.where([i in errors for i in range(len(s))], np.nan, s), higher_better)
    order = [int(i) for i in best_first(s, names=[str(p) for p in paths], higher_better=higher_better)
             if np.isfinite(s[i]) and int(i) not in errors]
    if top is not None:
        order = order[: max(0, int(top))]
    recs = []
    for k, i in enumerate(order, 1):
        rec = {"rank": k, "path": str(paths[i]), "score": round(float(s[i]), 6), "stars": int(stars[i])}
        for name, col in (extra or {}).items():
            v = col[i]
            rec[name] = None if v is None or (isinstance(v, float) and not np.isfinite(v)) else \
                (round(float(v), 6) if isinstance(v, (float, np.floating)) else v)
        recs.append(rec)
    for i in range(len(s)):
        if i in errors or not np.isfinite(s[i]):
            recs.append({"rank": None, "path": str(paths[i]), "score": None, "stars": None,
                         "error": errors.get(i, "could not be scored")})
    return recs
