"""What a fitted personalizer says about a person's taste, in named numbers.

Preferred: the personalizer's own ``explain()`` (a JSON-able dict). Otherwise the public accessors of the
known methods are read (duck-typed, so no method module is imported here):

- ``trait_weights()`` (PA_IAA fusion): ``w_b`` per trait; positive = the person likes images that people high
  in that trait like.
- ``coefficients()`` + the bank's ``task_names`` (task vectors): λ averaged over the layers per task = how much
  of each task model (rater population / criterion / database) the personal model is built from; plus each
  task model's zero-shot SROCC on the person's ratings (``task_srocc_``), which set the starting weights.

Returns ``None`` when nothing interpretable is exposed (e.g. the probe's weights over thousands of feature
dimensions).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np


def explain_estimator(est) -> Optional[Dict[str, Any]]:
    fn = getattr(est, "explain", None)
    if callable(fn):
        return fn()
    tw = getattr(est, "trait_weights", None)
    if callable(tw):
        return {"trait weights (w_b; + = likes what people high in the trait like)":
                {str(k): float(v) for k, v in dict(tw()).items()}}
    coef = getattr(est, "coefficients", None)
    if callable(coef):
        lam = np.asarray(coef(), dtype=float)
        names = _task_names(est, lam.shape[-1])
        out = {"task weights (mean coefficient over layers)":
               {n: float(v) for n, v in zip(names, lam.reshape(-1, lam.shape[-1]).mean(axis=0))}}
        ts = getattr(est, "task_srocc_", None)
        if ts is not None and len(ts) == len(names):
            out["zero-shot SROCC of each task model on your ratings"] = {n: float(v) for n, v in zip(names, ts)}
        return out
    return None


def _task_names(est, k: int):
    bank = getattr(est, "bank", None)
    names = getattr(bank, "task_names", None)
    if names is not None and len(names) == k:
        return [str(n) for n in names]
    return [f"task {i}" for i in range(k)]
