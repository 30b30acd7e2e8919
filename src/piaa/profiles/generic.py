"""The generic model as profiles use it: scores for a list of photos, per-photo errors, its score range.

Profiles need the generic score three times: as the baseline of the self-assessment ("does this profile know
you better than the model everybody gets?"), as the offset of personalizers that learn a correction to it
(the probe, PA_IAA fusion), and for ranking without a profile. ``piaa.load_scorer()`` is the one source.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from piaa.errors import PiaaError


@dataclass
class GenericScores:
    scores: np.ndarray            # NaN where the photo could not be scored
    errors: Dict[int, str]


class GenericModelUnavailable(PiaaError, RuntimeError):
    """The generic scoring model cannot be loaded (unknown name, missing or unreadable file)."""


def load_generic(name: Optional[str] = None):
    """``piaa.load_scorer(name)`` with a message that says what is missing when it cannot load."""
    from piaa.models.scorer import load_scorer

    from piaa.errors import UnknownNameError

    try:
        return load_scorer(name) if name is not None else load_scorer()
    except UnknownNameError:
        raise  # a name typed wrong: its own message lists the known ones
    except (KeyError, FileNotFoundError, ValueError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise GenericModelUnavailable(f"the generic model could not be loaded: {msg}") from None


def score_range(scorer) -> Optional[Tuple[float, float]]:
    r = getattr(scorer, "score_range", None)
    if r is None:
        return None
    lo, hi = (float(r[0]), float(r[1]))
    return (lo, hi) if hi > lo else None


def lower_better(scorer) -> bool:
    return bool(getattr(scorer, "lower_better", False))


def scorer_name(scorer) -> Optional[str]:
    for attr in ("name", "model_name"):
        v = getattr(scorer, attr, None)
        if isinstance(v, str):
            return v
    return type(scorer).__name__


def generic_scores(scorer, paths: Sequence) -> GenericScores:
    """Run ``scorer.score`` on ``paths`` and normalize what it returns (an array, a list of numbers, a list of
    records ``{"score": ...}`` / ``{"error": ...}``, or an object with ``.scores``/``.errors``)."""
    items = [str(p) for p in paths]
    n = len(items)
    if n == 0:
        return GenericScores(np.zeros(0), {})
    out = scorer.score(items)
    errors: Dict[int, str] = {}
    if hasattr(out, "scores"):
        scores = np.asarray(out.scores, dtype=float).reshape(-1)
        errors = {int(k): str(v) for k, v in dict(getattr(out, "errors", {}) or {}).items()}
    elif isinstance(out, np.ndarray):
        scores = np.asarray(out, dtype=float).reshape(-1)
    else:
        vals = []
        for i, rec in enumerate(list(out)):
            if isinstance(rec, dict):
                if rec.get("error"):
                    errors[i] = str(rec["error"])
                    vals.append(np.nan)
                else:
                    vals.append(float(rec.get("score", np.nan)))
            elif hasattr(rec, "score"):
                err = getattr(rec, "error", None)
                if err:
                    errors[i] = str(err)
                vals.append(np.nan if err or rec.score is None else float(rec.score))
            else:
                vals.append(np.nan if rec is None else float(rec))
        scores = np.asarray(vals, dtype=float)
    if scores.shape[0] != n:
        raise RuntimeError(f"generic scorer returned {scores.shape[0]} scores for {n} photos")
    for i in np.flatnonzero(~np.isfinite(scores)):
        errors.setdefault(int(i), "could not be scored")
    return GenericScores(scores, errors)
