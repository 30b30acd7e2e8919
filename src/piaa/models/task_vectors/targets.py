"""Training targets of a task: per-image score distributions on the 10 template values.

A rating r on the task's scale is spread over the two template values around it (linear interpolation), so the
target's expectation under the template is exactly r. An image's target is the average over its raters; for
tasks that publish only a per-image mean (OASIS valence norms, MOS files) the mean itself is spread the same way
(a "mean-based soft target").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from piaa.data.ratings import soft_onehot as _soft_onehot
from piaa.models.task_vectors.spec import N_OUT
from piaa.errors import InputError


def soft_onehot(scores, lo: float, hi: float, n: int = N_OUT) -> np.ndarray:
    """[m, n] rows summing to 1 with ``row @ linspace(lo, hi, n) == score`` (scores clipped to [lo, hi])."""
    return _soft_onehot(scores, lo, hi, n)


def image_targets(ratings: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    """Per-image mean of the soft one-hot rows of its ratings; index = image, columns t0..t9, plus 'mean'."""
    if ratings.empty:
        raise InputError("a task needs at least one rating")
    soft = soft_onehot(ratings["score"].to_numpy(), lo, hi)
    df = pd.DataFrame(soft, columns=[f"t{i}" for i in range(N_OUT)])
    df["image"] = ratings["image"].to_numpy()
    df["mean"] = ratings["score"].to_numpy(dtype=float)
    return df.groupby("image", sort=True).mean()
