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


def star_agreement(stars: np.ndarray, scale: Tuple[float, float] = (1.0, 5.0)) -> Tuple[np.ndarray, np.ndarray]:
    """(agreement, raters) per photo from a members x photos matrix of the members' own stars (NaN = not rated).

    Agreement is only said where people said something: 1 - the stars' standard deviation over its largest
    possible value (half the scale's width: 5★ against 1★ is 0, equal stars 1), for photos that at least two
    members rated; NaN elsewhere (one member's stars, or predictions nobody gave, agree with nothing: they
    read as 100 % and 98 %)."""
    S = np.atleast_2d(np.asarray(stars, dtype=float))
    raters = np.isfinite(S).sum(axis=0)
    out = np.full(S.shape[1], np.nan)
    cols = raters >= 2
    if cols.any():
        half = (scale[1] - scale[0]) / 2.0
        out[cols] = np.clip(1.0 - np.nanstd(S[:, cols], axis=0) / half, 0.0, 1.0)
    return out, raters


__all__ = ["percentiles", "combine", "star_agreement"]
