"""What a team likes: several people's taste over the same photos combined into one order, with how much they
agree on each photo.

Each member's scores (their own stars where they gave them, their profile's prediction elsewhere) are turned into
percentile ranks within the library (0 = that member's least liked photo, 1 = most liked), so a generous rater and
a strict one weigh the same and no score scale has to match. The team's score of a photo is the mean percentile;
its agreement is ``1 - 2 * std`` of the members' percentiles (1 = all place it alike; 0 = half love it, half hate
it; the standard deviation of values in [0, 1] is at most 0.5).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from scipy.stats import rankdata

from piaa.errors import InvalidParameterError


def percentiles(scores: np.ndarray) -> np.ndarray:
    """Rows of scores -> rows of percentile ranks in [0, 1] (ties share the mean rank; NaN stays NaN)."""
    S = np.atleast_2d(np.asarray(scores, dtype=float))
    out = np.full(S.shape, np.nan)
    for k, row in enumerate(S):
        ok = np.isfinite(row)
        n = int(ok.sum())
        if n == 1:
            out[k, ok] = 0.5
        elif n > 1:
            out[k, ok] = (rankdata(row[ok]) - 1) / (n - 1)
    return out


def combine(scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(team score, agreement) per photo from a members x photos score matrix (NaN = that member has no score)."""
    P = percentiles(scores)
    if P.shape[0] == 0:
        raise InvalidParameterError("a team ranking needs at least one member's scores")
    cols = np.isfinite(P).any(axis=0)
    team, spread = np.full(P.shape[1], np.nan), np.zeros(P.shape[1])
    team[cols] = np.nanmean(P[:, cols], axis=0)
    spread[cols] = np.nanstd(P[:, cols], axis=0)
    return team, np.clip(1.0 - 2.0 * spread, 0.0, 1.0)


__all__ = ["percentiles", "combine"]
