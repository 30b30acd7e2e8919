"""Evaluation metrics as pure numpy functions.

All functions take array-likes, never modify their inputs and return Python floats (or numpy arrays where
noted). Conventions:

* **Degenerate correlations are NaN, never an exception.** ``srocc``/``plcc`` return ``nan`` when fewer than
  two pairs remain or when either side is constant (the correlation is undefined there). Averaging code should
  use ``np.nanmean`` and report how many people were undefined.
* **NaN inputs**: ``nan_policy="propagate"`` (default) returns ``nan`` if any value is NaN;
  ``nan_policy="omit"`` drops the pairs where either side is NaN.
* **Ranks** use the average rank for ties (as ``scipy.stats.rankdata(method="average")``), so ``srocc`` equals
  ``scipy.stats.spearmanr`` — the tests check this against scipy; the implementation is plain numpy.
* **Binary accuracy**: a score is *positive* when ``score >= threshold`` (inclusive), on both sides. For AVA
  the threshold is 5, for other scales the midpoint of the scale.
* **EMD** follows NIMA (Talebi & Milanfar 2018): for each row, ``(mean_k |CDF_p(k) − CDF_q(k)|^r)^(1/r)``,
  then the mean over rows; ``r = 2`` is the usual choice.
"""

from __future__ import annotations

import math

import numpy as np
from piaa.errors import InputError

__all__ = [
    "binary_accuracy",
    "distribution_mean",
    "distribution_std",
    "emd",
    "emd_rows",
    "mse",
    "plcc",
    "rankdata",
    "srocc",
]


def _pair(a, b, nan_policy: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Validate and flatten two paired samples; ``None`` means the result is NaN."""
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise InputError(f"paired samples differ in length: {x.size} vs {y.size}")
    if nan_policy not in ("propagate", "omit"):
        raise InputError("nan_policy must be 'propagate' or 'omit'")
    bad = np.isnan(x) | np.isnan(y)
    if bad.any():
        if nan_policy == "propagate":
            return None
        x, y = x[~bad], y[~bad]
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return x, y


def rankdata(a) -> np.ndarray:
    """1-based ranks of a 1-D sample, ties getting the average of the ranks they span (float array)."""
    x = np.asarray(a, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return np.empty(0, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = xs[1:] != xs[:-1]
    group = np.cumsum(new_group) - 1  # tie-group index of each sorted position
    starts = np.flatnonzero(new_group)  # 0-based first position of each group
    counts = np.diff(np.append(starts, n))
    avg = starts + (counts + 1) / 2.0  # mean of the 1-based ranks starts+1 .. starts+counts
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = avg[group]
    return ranks


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    dx = x - x.mean()
    dy = y - y.mean()
    denom = math.sqrt(float(np.dot(dx, dx)) * float(np.dot(dy, dy)))
    if denom == 0.0 or not np.isfinite(denom):
        return float("nan")
    r = float(np.dot(dx, dy)) / denom
    return max(-1.0, min(1.0, r))


def plcc(a, b, *, nan_policy: str = "propagate") -> float:
    """Pearson linear correlation coefficient; ``nan`` if n < 2 or either side is constant."""
    pair = _pair(a, b, nan_policy)
    if pair is None:
        return float("nan")
    return _pearson(*pair)


def srocc(a, b, *, nan_policy: str = "propagate") -> float:
    """Spearman rank-order correlation (Pearson on average-tie ranks); ``nan`` if n < 2 or a side is
    constant."""
    pair = _pair(a, b, nan_policy)
    if pair is None:
        return float("nan")
    x, y = pair
    return _pearson(rankdata(x), rankdata(y))


def binary_accuracy(pred, true, threshold: float) -> float:
    """Fraction of items on the same side of ``threshold``; ``score >= threshold`` counts as positive for
    both predictions and ground truth. ``nan`` for empty input."""
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(true, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise InputError(f"pred and true differ in length: {p.size} vs {t.size}")
    if p.size == 0:
        return float("nan")
    return float(np.mean((p >= threshold) == (t >= threshold)))


def mse(a, b) -> float:
    """Mean squared error over all elements (for distributions: mean over rows and buckets)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise InputError(f"shapes differ: {x.shape} vs {y.shape}")
    if x.size == 0:
        return float("nan")
    return float(np.mean((x - y) ** 2))


def _as_distributions(p, normalize: bool) -> np.ndarray:
    d = np.asarray(p, dtype=np.float64)
    if d.ndim == 1:
        d = d[None, :]
    if d.ndim != 2 or d.shape[1] == 0:
        raise InputError(f"expected distributions of shape (N,) or (rows, N), got {np.shape(p)}")
    if np.any(d < 0):
        raise InputError("distributions must be non-negative")
    if normalize:
        s = d.sum(axis=1, keepdims=True)
        if np.any(s <= 0):
            raise InputError("a distribution row sums to zero")
        d = d / s
    return d


def emd_rows(p, q, r: float = 2, *, normalize: bool = True) -> np.ndarray:
    """Per-row NIMA EMD ``(mean_k |CDF_p(k) − CDF_q(k)|^r)^(1/r)`` for distributions over ordered buckets.

    ``p`` and ``q`` have shape ``(N,)`` or ``(rows, N)``. With ``normalize`` (default) each row is divided by
    its sum first, so vote counts (AVA histograms) can be passed directly.
    """
    if r <= 0:
        raise InputError("r must be positive")
    P = _as_distributions(p, normalize)
    Q = _as_distributions(q, normalize)
    if P.shape != Q.shape:
        raise InputError(f"shapes differ: {np.shape(p)} vs {np.shape(q)}")
    diff = np.abs(np.cumsum(P, axis=1) - np.cumsum(Q, axis=1))
    return np.mean(diff**r, axis=1) ** (1.0 / r)


def emd(p, q, r: float = 2, *, normalize: bool = True) -> float:
    """NIMA earth mover's distance averaged over rows (see :func:`emd_rows`)."""
    return float(np.mean(emd_rows(p, q, r, normalize=normalize)))


def distribution_mean(p, values) -> np.ndarray | float:
    """Expected score ``Σ_k p_k · values_k / Σ_k p_k`` of distributions over buckets (last axis).

    Returns a float for a single distribution, else an array with the leading shape of ``p``.
    """
    d = np.asarray(p, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).ravel()
    if d.shape[-1] != v.size:
        raise InputError(f"{d.shape[-1]} buckets but {v.size} bucket values")
    s = d.sum(axis=-1)
    out = (d @ v) / s
    return float(out) if np.ndim(out) == 0 else out


def distribution_std(p, values) -> np.ndarray | float:
    """Standard deviation of the score under distributions over buckets (last axis)."""
    d = np.asarray(p, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).ravel()
    if d.shape[-1] != v.size:
        raise InputError(f"{d.shape[-1]} buckets but {v.size} bucket values")
    s = d.sum(axis=-1)
    m = (d @ v) / s
    var = (d @ (v**2)) / s - m**2
    out = np.sqrt(np.maximum(var, 0.0))
    return float(out) if np.ndim(out) == 0 else out
