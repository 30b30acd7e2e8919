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
        return {"trait weights (w_b): + = you like the photos that raters high in this trait like; it describes "
                "those raters, not you":
                {f"{k}: {describe_trait(k)}": float(v) for k, v in dict(tw()).items()}}
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


# ---- what the questionnaire labels mean (PA_IAA's trait head) -------------------------------------------------
#: OASIS-beauty questionnaire columns: what each is, said plainly. The PA_IAA weights describe the *raters who
#: like an image* (people high in the trait liked it), never the person the profile belongs to.
TRAIT_DESCRIPTIONS = {
    "PHQ": "PHQ-9 score: a depression questionnaire (sensitive: a mental-health measure)",
    "TEPS_ant": "TEPS anticipatory pleasure: how much one looks forward to pleasant things",
    "TEPS_con": "TEPS consummatory pleasure: how much one enjoys pleasant things in the moment",
    "age": "age",
    "politic": "political orientation (self-rated, liberal to conservative)",
    "gender": "gender",
    "mood_1": "mood when rating",
    "education": "education level",
    "income": "income level",
}


def describe_trait(name: str) -> str:
    return TRAIT_DESCRIPTIONS.get(str(name), f"{name} (a questionnaire answer of the OASIS raters)")


# ---- the taste in the person's own photos -------------------------------------------------------------------
def taste_in_photos(profile, k: int = 3, directions: int = 3) -> Optional[Dict[str, Any]]:
    """The profile's taste shown on the person's own rated photos (which must still be on disk):

    * ``lifted`` / ``lowered``: the photos the personal part of the model scores most above / below the
      generic model (on the person's scale) — where the person's taste departs from the crowd's;
    * ``directions`` (probe-prior): the axes of the population taste prior the person's model leans on most,
      each shown by the person's photos at its two ends.

    ``None`` when the method has no personal part separate from the generic score, or no photo is readable.
    """
    import os

    est = profile.estimator
    if not getattr(profile, "uses_offset", False):
        return None
    rated = [(p, s) for p, s, *_ in profile.ratings if os.path.isfile(p)]
    if len(rated) < 2:
        return None
    paths = [p for p, _ in rated]
    personal = np.asarray(est.predict(paths, offset=np.zeros(len(paths))), dtype=float)
    span = (profile.scale[1] - profile.scale[0]) / max(profile.model_scale[1] - profile.model_scale[0], 1e-12)
    personal = personal * span
    ok = np.flatnonzero(np.isfinite(personal))
    if len(ok) < 2:
        return None
    personal = personal - personal[ok].mean()      # relative to the person's average photo
    order = ok[np.argsort(-personal[ok])]

    def item(i, value=None):
        return {"path": paths[i], "your_rating": rated[i][1],
                "shift": None if value is None else round(float(value), 3)}

    out: Dict[str, Any] = {
        "lifted": [item(i, personal[i]) for i in order[:k] if personal[i] > 0],
        "lowered": [item(i, personal[i]) for i in order[::-1][:k] if personal[i] < 0],
    }
    dirs = _prior_directions(est, paths, ok, directions, k=2)
    for d in dirs or []:
        d["score_spread"] = round(d["score_spread"] * span, 3)   # on the person's scale
    if dirs:
        out["directions"] = [{**d, "towards": [item(i) for i in d.pop("hi")], "away_from": [item(i) for i in d.pop("lo")]}
                             for d in dirs]
    return out


def _prior_directions(est, paths, ok, n: int, k: int):
    coef = getattr(est, "coef_", None)
    get_prior = getattr(est, "_prior", None)
    if coef is None or not callable(get_prior):
        return None
    try:
        prior, _ = get_prior()
    except Exception:  # the prior file moved: no directions, the rest still shows
        return None
    from piaa.features import FeatureExtractor

    X = FeatureExtractor(est.backbone, est.variant).extract([paths[i] for i in ok]).features
    good = np.isfinite(X).all(axis=1)
    if good.sum() < 2:
        return None
    F = prior.factor64
    # F = U S Vᵀ through the small r x r eigenproblem of FᵀF (a full SVD of 3120 x 605 takes seconds)
    s2, V = np.linalg.eigh(F.T @ F)
    order = np.argsort(-s2)[:20]
    S = np.sqrt(np.clip(s2[order], 1e-300, None))
    U = (F @ V[:, order]) / S
    P = prior.standardize(X[good]) @ U            # the person's photos along each direction
    c = U.T @ np.asarray(coef, dtype=float)       # the person's weight along each direction
    pull = np.abs(c) * P.std(axis=0)              # how much each direction moves their photos' scores
    share = S ** 2 / float(np.sum(F * F))
    idx = np.asarray(ok)[good]
    res = []
    for j in np.argsort(-pull)[:n]:
        proj = P[:, j] * np.sign(c[j])            # high = what the person's model favours along it
        srt = np.argsort(-proj)
        res.append({"direction": int(j) + 1, "share_of_how_people_differ": round(float(share[j]), 3),
                    "score_spread": round(float(pull[j]), 3),
                    "hi": [int(idx[i]) for i in srt[:k]], "lo": [int(idx[i]) for i in srt[::-1][:k]]})
    return res


def similar_rated(profile, photo, k: int = 5):
    """The person's own rated photos most similar to ``photo`` (:func:`piaa.profiles.core.similar_rows`, the one
    definition the service's "why" uses too), with their ratings: ``[{"path", "your_rating", "similarity"}]``."""
    import os

    from piaa.features import FeatureExtractor
    from piaa.profiles.core import similar_rows

    est = profile.estimator
    backbone = getattr(est, "backbone", None)
    variant = getattr(est, "variant", None)
    if not isinstance(backbone, str) or not isinstance(variant, str):
        from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT

        sc = profile.scorer
        backbone = str(getattr(sc, "backbone", DEFAULT_BACKBONE)).split("+")[0]
        variant = getattr(sc, "variant", DEFAULT_VARIANT)
    rated = [(p, s) for p, s, *_ in profile.ratings if os.path.isfile(p)]
    if not rated:
        return [], None
    fx = FeatureExtractor(backbone, variant)
    q = fx.extract([str(photo)])
    if q.errors:
        return None, q.errors[0]
    R = fx.extract([p for p, _ in rated]).features
    idx, sims = similar_rows(R, q.features[0], top=k)
    return [{"path": rated[i][0], "your_rating": rated[i][1], "similarity": round(float(v), 3)}
            for i, v in zip(idx, sims)], None
