"""A person's profile in the service: fitted from their stars and comparisons, assessed, explained in words.

The fit is the profiles' default method, probe-prior (the generic score plus a ridge correction under the shipped
population taste prior), extended to comparisons with a Bradley–Terry term
(:func:`piaa.personalize.pairwise.fit_prior_probe_pairwise`). Stars 1–5 are mapped linearly onto the generic
model's score range before fitting and predictions are mapped back, as :class:`piaa.Profile` does, so scores are
on the rating scale.

Self-assessment: k-fold cross-validation on the person's own star ratings with
:func:`piaa.profiles.assess.cross_validate` (SROCC of the profile and of the generic model on the same held-out
photos); comparisons that touch a held-out photo are left out of that fold's fit. For the page the same held-out
predictions are counted as pairs: "of the pairs of your photos with different stars, how often does the profile put
the one you liked more first" — a number a photographer can read without knowing what SROCC is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from piaa.errors import InputError
from piaa.personalize.pairwise import fit_prior_probe_pairwise
from piaa.profiles.ratings_import import MIN_RATINGS

RATING_SCALE = (1.0, 5.0)
METHOD = "probe-prior"


class NotEnoughRatings(InputError):
    """Too few (or too uniform) ratings and comparisons to learn a profile from."""


def to_model_scale(r, model_scale) -> np.ndarray:
    lo, hi = model_scale
    return lo + (np.asarray(r, dtype=float) - RATING_SCALE[0]) * (hi - lo) / (RATING_SCALE[1] - RATING_SCALE[0])


def to_rating_scale(s, model_scale) -> np.ndarray:
    lo, hi = model_scale
    return RATING_SCALE[0] + (np.asarray(s, dtype=float) - lo) * (RATING_SCALE[1] - RATING_SCALE[0]) / (hi - lo)


def check_enough(n_ratings: int, n_comparisons: int, distinct: int) -> None:
    """A profile needs ``MIN_RATINGS`` judgements (ratings + comparisons), with some order among them."""
    n = n_ratings + n_comparisons
    if n < MIN_RATINGS:
        raise NotEnoughRatings(f"a profile needs at least {MIN_RATINGS} ratings or comparisons; you have {n_ratings} "
                               f"rating(s) and {n_comparisons} comparison(s) — rate {MIN_RATINGS - n} more photo(s)")
    if n_comparisons == 0 and distinct < 2:
        raise NotEnoughRatings("all your ratings are equal, so they say nothing about what you prefer; give some "
                               "photos more or fewer stars, or compare pairs")


@dataclass
class Fitted:
    estimator: object
    meta: dict


def fit(X: np.ndarray, generic: np.ndarray, rated: Sequence[int], stars: Sequence[float],
        pairs: Sequence[Tuple[int, int]], model_scale: Tuple[float, float], folds: int = 5,
        seed: int = 0) -> Fitted:
    """Fit on feature rows ``X`` of every photo involved (``generic``: their generic scores); ``rated`` are row
    indices with ``stars``; ``pairs`` are (better row, worse row)."""
    rated = np.asarray(rated, dtype=int)
    stars = np.asarray(stars, dtype=float)
    pairs = [tuple(map(int, p)) for p in pairs]
    check_enough(len(rated), len(pairs), len(np.unique(stars)))
    y = to_model_scale(stars, model_scale)
    est = fit_prior_probe_pairwise(X, generic, rated, y, pairs)
    assessment = assess(X, generic, rated, y, pairs, folds=folds, seed=seed)
    meta = {"method": METHOD, "fit": "probe-prior + Bradley-Terry comparisons" if pairs else "probe-prior",
            "n_ratings": int(len(rated)), "n_comparisons": int(len(pairs)), "model_scale": list(model_scale),
            "scale": list(RATING_SCALE), "assessment": assessment}
    return Fitted(est, meta)


def assess(X, generic, rated, y, pairs, folds: int = 5, seed: int = 0) -> Optional[dict]:
    """Cross-validated self-assessment on the star ratings (None with fewer than 4 ratings or all equal)."""
    from piaa.profiles.assess import cross_validate

    if len(rated) < 4 or len(np.unique(y)) < 2:
        return None
    counts = {"pairs": 0, "profile": 0.0, "generic": 0.0}
    g_rated = np.asarray(generic, dtype=float)[rated]

    def fit_predict(tr, te):
        held = set(rated[te].tolist())
        keep = [p for p in pairs if p[0] not in held and p[1] not in held]
        est = fit_prior_probe_pairwise(X, generic, rated[tr], y[tr], keep)
        pred = np.asarray(est.predict(X[rated[te]], offset=g_rated[te]), dtype=float)
        _count_pairs(counts, pred, g_rated[te], y[te])
        return pred

    rec = cross_validate(fit_predict, y, g_rated, k=folds, seed=seed)
    if counts["pairs"]:
        rec["pairs_compared"] = int(counts["pairs"])
        rec["pairs_right_profile"] = round(counts["profile"] / counts["pairs"], 4)
        rec["pairs_right_generic"] = round(counts["generic"] / counts["pairs"], 4)
    rec["summary"] = summary(rec)
    return rec


def _count_pairs(counts: dict, pred, gen, y) -> None:
    i, j = np.nonzero(y[:, None] > y[None, :])          # i liked more than j
    if not len(i):
        return
    counts["pairs"] += len(i)
    for key, s in (("profile", pred), ("generic", gen)):
        d = s[i] - s[j]
        counts[key] += float((d > 0).sum() + 0.5 * (d == 0).sum())


def summary(rec: Optional[dict]) -> str:
    """How well the profile knows its person, in plain words."""
    if not rec or rec.get("pairs_compared") is None:
        return "Not enough varied ratings yet to check how well your profile knows you."
    p, g = rec["pairs_right_profile"], rec["pairs_right_generic"]
    n = rec.get("n")
    if p < 0.55:
        level = "barely knows you yet"
    elif p < 0.65:
        level = "is getting to know you"
    elif p < 0.75:
        level = "knows you fairly well"
    else:
        level = "knows you well"
    text = (f"Your profile {level}: for photos it had not seen, it put the one you liked more first in "
            f"{round(100 * p)} of 100 pairs (the model everybody gets: {round(100 * g)}). "
            f"Checked on your {n} star ratings.")
    se = rec.get("gain_se")
    m, gs = rec.get("method_srocc"), rec.get("generic_srocc")
    if m is not None and gs is not None and se is not None and abs(m - gs) < 2 * se:
        text += " With this many ratings the difference is still within chance; more ratings make it clearer."
    elif m is not None and gs is not None and m <= gs:
        text += " It is not better than the general model yet: rate more, and more varied, photos."
    return text


def linear_scorer(est) -> Tuple[np.ndarray, float]:
    """(weights on raw features, constant) of a fitted probe-prior: personal = generic + X @ w + c."""
    w = np.asarray(est.coef_, dtype=np.float64) / np.asarray(est.feature_scale_, dtype=np.float64)
    c = float(est.bias_) - float(np.asarray(est.feature_mean_, dtype=np.float64) @ w)
    return w.astype(np.float32), c


def personal_scores(est, X: np.ndarray, generic: np.ndarray) -> np.ndarray:
    """The personal scores (model scale) of feature rows ``X`` — float32 product, so 6,000 photos take ms."""
    w, c = linear_scorer(est)
    return np.asarray(generic, dtype=np.float64) + (X @ w).astype(np.float64) + c


def similar(X_all: np.ndarray, target: np.ndarray, est=None, top: int = 5) -> Tuple[np.ndarray, np.ndarray]:
    """(indices, cosine similarities) of the rows of ``X_all`` most like ``target`` (standardized features), best
    first."""
    if est is not None and hasattr(est, "feature_mean_"):
        mean, scale = est.feature_mean_, est.feature_scale_
    else:
        from piaa.personalize.default_prior import load_default_prior

        pr = load_default_prior()
        mean, scale = pr.feature_mean, pr.feature_scale
    Z = (np.asarray(X_all, dtype=np.float64) - mean) / scale
    z = (np.asarray(target, dtype=np.float64) - mean) / scale
    sims = (Z @ z) / (np.linalg.norm(Z, axis=1) * np.linalg.norm(z) + 1e-12)
    order = np.argsort(-sims, kind="stable")[:top]
    return order, sims[order]


__all__ = ["fit", "assess", "summary", "NotEnoughRatings", "check_enough", "personal_scores", "similar",
           "to_model_scale", "to_rating_scale", "Fitted", "RATING_SCALE", "METHOD", "MIN_RATINGS"]
