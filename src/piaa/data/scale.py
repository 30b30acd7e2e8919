"""A rating scale and score <-> distribution conversion (numpy only: scoring imports this without pandas)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def soft_onehot(scores, lo: float, hi: float, n: int) -> np.ndarray:
    """Scores -> ``[m, n]`` rows summing to 1 over ``linspace(lo, hi, n)`` whose expectation is the score.

    Each score (clipped to [lo, hi]) is split between its two neighbouring bucket values, so a published mean
    becomes a training distribution without losing its decimals (a one-hot at the rounded value would).
    """
    s = np.clip(np.asarray(scores, dtype=np.float64), lo, hi)
    pos = (s - lo) / (hi - lo) * (n - 1)
    left = np.clip(np.floor(pos).astype(int), 0, max(n - 2, 0))
    right = np.minimum(left + 1, n - 1)
    frac = pos - left
    out = np.zeros((len(s), n))
    rows = np.arange(len(s))
    out[rows, left] = 1.0 - frac
    out[rows, right] += frac
    return out


@dataclass(frozen=True)
class Scale:
    """A rating scale: ``[min, max]`` split into ``buckets`` equally spaced score values."""

    min: float
    max: float
    buckets: int

    @property
    def values(self) -> np.ndarray:
        """The score value of each bucket (e.g. 1..7 for a 7-point scale)."""
        return np.linspace(self.min, self.max, self.buckets)

    @property
    def midpoint(self) -> float:
        return (self.min + self.max) / 2.0

    def soft_onehot(self, scores) -> np.ndarray:
        """Scores -> distributions over this scale's buckets with those expectations (see ``soft_onehot``)."""
        return soft_onehot(scores, self.min, self.max, self.buckets)

    def to_bucket(self, scores) -> np.ndarray:
        """Index of the nearest bucket for each score."""
        s = np.asarray(scores, dtype=float)
        idx = np.rint((s - self.min) / (self.max - self.min) * (self.buckets - 1))
        return np.clip(idx, 0, self.buckets - 1).astype(int)
