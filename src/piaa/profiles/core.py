"""The profile core: every operation on a person's taste, written once, on feature rows (or image inputs) and ids.

``piaa.Profile`` (the CLI's profiles, ``piaa rank`` / ``explain``) and ``piaa serve`` are thin callers: they
fetch ratings, comparisons and features from their own store (the profile store file / the service's
database) and hand them here. Nothing in this module knows where the data lives.

- **fit**: through the personalizer registry (:func:`personalizer_class` honours a stored ``method``); star
  ratings and, for probe-prior, "which of two is better" comparisons in one Bradley–Terry fit.
- **scale**: ratings are mapped linearly from the person's scale onto the generic model's score range before
  fitting (:func:`to_model_scale`), predictions back with :func:`to_person_scale`, which keeps them inside the
  scale by a strictly increasing map (:func:`onto_scale`), so ranks and stars are unchanged.
- **assess**: k-fold self-assessment (:func:`piaa.profiles.assess.cross_validate`, which also counts the
  held-out pairs) and its plain words (:func:`plain_words`).
- **similar**: the one similarity of photos ("looks most like"): cosine of the square-rooted, normalized
  backbone features, as ``piaa cull`` groups (:func:`similar_rows`).
- **state**: fitted state to and from bytes (no pickle) and the ``piaa-profile`` export document.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from piaa.errors import InputError, PiaaError
from piaa.profiles.ratings_import import MIN_RATINGS

#: The service's stars (and the scale its profiles are kept on).
STAR_SCALE = (1.0, 5.0)
#: The generic score range assumed when a model does not state one.
DEFAULT_MODEL_SCALE = (1.0, 7.0)
#: Share of the scale, at each end, in which scores that would leave the scale are compressed.
SCALE_MARGIN = 0.1
#: The one method that learns from comparisons too (piaa.personalize.pairwise).
PAIRWISE_METHODS = ("probe-prior",)


class MethodUnavailable(PiaaError, ValueError):
    """The named personalization method is not installed (or none is usable)."""


class NotEnoughRatings(InputError):
    """Too few (or too uniform) ratings and comparisons to learn a profile from."""


# ---- methods ---------------------------------------------------------------------------------------------------
def personalizer_class(method: str):
    """The registered personalizer class of ``method`` or :class:`MethodUnavailable` naming the installed ones."""
    from piaa.personalize.registry import get_personalizer_class, list_personalizers

    try:
        return get_personalizer_class(method)
    except KeyError:
        raise MethodUnavailable(f"personalization method {method!r} is not available in this installation; "
                                f"available: {', '.join(list_personalizers()) or 'none'}") from None


def uses_offset(method: str) -> bool:
    return bool(personalizer_class(method).uses_offset)


def load_estimator(method: str, state: Dict[str, Any]):
    """A fitted personalizer of the stored ``method`` from its ``state_dict``."""
    return personalizer_class(method).from_state_dict(state)


def estimator_from_bytes(method: str, blob: bytes):
    from piaa.state import state_from_bytes

    cls = personalizer_class(method)            # an unknown method is named before the bytes are read
    return cls.from_state_dict(state_from_bytes(blob))


def estimator_to_bytes(est) -> bytes:
    from piaa.state import state_to_bytes

    return state_to_bytes(est.state_dict())


# ---- scales ----------------------------------------------------------------------------------------------------
def map_scale(x, src: Tuple[float, float], dst: Tuple[float, float]) -> np.ndarray:
    """The linear map of ``src`` onto ``dst``."""
    x = np.asarray(x, dtype=float)
    if src[1] == src[0]:
        return x
    return dst[0] + (x - src[0]) * (dst[1] - dst[0]) / (src[1] - src[0])


def onto_scale(x, scale: Tuple[float, float], margin: float = SCALE_MARGIN) -> np.ndarray:
    """Keep personal scores on the person's scale without changing their order.

    A personalizer's correction can carry a prediction past the ends of the scale (5.29 of 5). The middle of the
    scale is left as it is; within ``m = margin x (max - min)`` of each end, and beyond, a score ``d`` past the
    start of that zone becomes ``m * d / (d + m)``: it approaches the end but never passes it. The map is
    continuous, has slope 1 where the compression starts and is strictly increasing (a rational curve, so even
    scores far outside stay distinct in floating point): ranks, stars (score quintiles) and every SROCC stay
    exactly what they were, while no score reads as an impossible rating. NaN stays NaN.
    """
    x = np.asarray(x, dtype=float)
    lo, hi = float(scale[0]), float(scale[1])
    if not hi > lo:
        return x
    m = margin * (hi - lo)
    out = x.copy()
    top, bottom = hi - m, lo + m
    up = x > top
    d = x[up] - top
    out[up] = top + m * d / (d + m)
    down = x < bottom
    d = bottom - x[down]
    out[down] = bottom - m * d / (d + m)
    return out


def to_model_scale(ratings, scale, model_scale) -> np.ndarray:
    """Ratings on the person's scale -> the generic model's score range (what personalizers are fitted on)."""
    return map_scale(ratings, tuple(scale), tuple(model_scale))


def to_person_scale(model_scores, model_scale, scale) -> np.ndarray:
    """Model-scale scores -> the person's scale, kept inside it (:func:`onto_scale`): what a person is shown."""
    return onto_scale(map_scale(model_scores, tuple(model_scale), tuple(scale)), tuple(scale))


# ---- fit -------------------------------------------------------------------------------------------------------
def _take(X, idx):
    idx = np.asarray(idx, dtype=int)
    if isinstance(X, np.ndarray):
        return X[idx]
    return [X[i] for i in idx]


def check_enough(n_ratings: int, n_comparisons: int, distinct: int) -> None:
    """A profile needs ``MIN_RATINGS`` judgements (ratings + comparisons), with some order among them."""
    n = n_ratings + n_comparisons
    if n < MIN_RATINGS:
        raise NotEnoughRatings(f"a profile needs at least {MIN_RATINGS} ratings or comparisons; you have {n_ratings} "
                               f"rating(s) and {n_comparisons} comparison(s) — rate {MIN_RATINGS - n} more photo(s)")
    if n_comparisons == 0 and distinct < 2:
        raise NotEnoughRatings("all your ratings are equal, so they say nothing about what you prefer; give some "
                               "photos more or fewer stars, or compare pairs")


def fit_estimator(method: str, X, offset, rated, y, pairs: Sequence[Tuple[int, int]] = (),
                  params: Optional[Dict[str, Any]] = None):
    """Fit ``method`` on the inputs ``X`` (feature rows, or whatever the method reads: image paths...).

    ``rated``: indices into ``X`` with targets ``y`` on the model's scale; ``pairs``: (better, worse) indices;
    ``offset``: the generic score of every row of ``X`` (used when the method learns a correction to it)."""
    from piaa.personalize.registry import make_personalizer

    rated = np.asarray(rated, dtype=int)
    y = np.asarray(y, dtype=float)
    pairs = [(int(a), int(b)) for a, b in pairs]
    params = dict(params or {})
    if pairs:
        if method not in PAIRWISE_METHODS:
            raise InputError(f"method {method!r} learns from star ratings only; comparisons need "
                             f"{' or '.join(PAIRWISE_METHODS)}")
        from piaa.personalize.pairwise import fit_prior_probe_pairwise
        from piaa.personalize.probe import feature_rows

        proto = make_personalizer(method, **params)
        return fit_prior_probe_pairwise(feature_rows(X, proto.backbone, proto.variant), offset, rated, y, pairs,
                                        prior=params.get("prior"), mix=params.get("mix"))
    est = make_personalizer(method, **params)
    off = None
    if personalizer_class(method).uses_offset and offset is not None:
        off = np.asarray(offset, dtype=float)[rated]
    return est.fit(_take(X, rated), y, offset=off)


def predict(est, X, offset=None) -> np.ndarray:
    """Model-scale predictions of ``est`` for ``X`` (``offset``: their generic scores, for offset methods)."""
    off = offset if getattr(est, "uses_offset", False) else None
    return np.asarray(est.predict(X, offset=off), dtype=float).reshape(-1)


def linear_scorer(est) -> Optional[Tuple[np.ndarray, float]]:
    """(weights on raw features, constant) when ``est`` is a linear correction of the generic score (the probes):
    personal = generic + X @ w + c, so a whole library is one float32 matrix-vector product. None otherwise."""
    need = ("coef_", "feature_mean_", "feature_scale_", "bias_")
    if not all(hasattr(est, a) for a in need) or not getattr(est, "uses_offset", False):
        return None
    w = np.asarray(est.coef_, dtype=np.float64) / np.asarray(est.feature_scale_, dtype=np.float64)
    c = float(est.bias_) - float(np.asarray(est.feature_mean_, dtype=np.float64) @ w)
    return w.astype(np.float32), c


def predict_rows(est, X: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Model-scale predictions for many feature rows: the float32 product for linear corrections, else
    :func:`predict`."""
    lin = linear_scorer(est)
    if lin is None:
        return predict(est, X, offset)
    w, c = lin
    return np.asarray(offset, dtype=np.float64) + (np.asarray(X, dtype=np.float32) @ w).astype(np.float64) + c


@dataclass
class Fitted:
    """A fitted profile: the estimator, its method, the self-assessment and how it was fitted."""
    estimator: Any
    method: str
    uses_offset: bool
    assessment: Optional[Dict[str, Any]]
    fit: str
    n_ratings: int
    n_comparisons: int
    notes: List[str] = field(default_factory=list)


def fit(method: str, X, offset, rated, ratings, pairs: Sequence[Tuple[int, int]] = (), *,
        scale=STAR_SCALE, model_scale=DEFAULT_MODEL_SCALE, params: Optional[Dict[str, Any]] = None,
        lower_better: bool = False, folds: int = 5, seed: int = 0, assess: bool = True,
        progress: bool = False) -> Fitted:
    """Fit a profile with ``method`` and assess it.

    ``X``: the inputs of every photo involved (feature rows, or paths for methods that read images);
    ``offset``: their generic scores (NaN-free); ``rated``: indices with ``ratings`` on the person's ``scale``;
    ``pairs``: (better, worse) indices."""
    personalizer_class(method)
    rated = np.asarray(rated, dtype=int)
    y = to_model_scale(np.asarray(ratings, dtype=float), scale, model_scale)
    pairs = [(int(a), int(b)) for a, b in pairs]
    est = fit_estimator(method, X, offset, rated, y, pairs, params)
    assessment = None
    if assess:
        assessment = assess_fit(method, X, offset, rated, y, pairs, params=params, lower_better=lower_better,
                                folds=folds, seed=seed, progress=progress)
    how = f"{method} + Bradley-Terry comparisons" if pairs else method
    return Fitted(est, method, uses_offset(method), assessment, how, int(len(rated)), int(len(pairs)))


# ---- self-assessment -------------------------------------------------------------------------------------------
def assess_fit(method: str, X, offset, rated, y, pairs=(), params=None, lower_better: bool = False,
               folds: int = 5, seed: int = 0, progress: bool = False) -> Optional[Dict[str, Any]]:
    """k-fold cross-validation on the star ratings (comparisons touching a held-out photo are left out of that
    fold's fit); None with fewer than 4 ratings or all equal. The record carries :func:`plain_words`."""
    from piaa.profiles.assess import cross_validate

    rated = np.asarray(rated, dtype=int)
    y = np.asarray(y, dtype=float)
    if len(rated) < 4 or len(np.unique(y)) < 2:
        return None
    off = None if offset is None else np.asarray(offset, dtype=float)
    baseline = None if off is None else (-1.0 if lower_better else 1.0) * off[rated]

    def fit_predict(tr, te):
        held = set(rated[te].tolist())
        keep = [p for p in pairs if p[0] not in held and p[1] not in held]
        est = fit_estimator(method, X, off, rated[tr], y[tr], keep, params)
        return predict(est, _take(X, rated[te]), None if off is None else off[rated[te]])

    rec = cross_validate(fit_predict, y, baseline, k=folds, seed=seed, progress=progress)
    rec["summary"] = plain_words(rec)
    return rec


#: Below this many ratings the cross-validated check is too noisy to praise a profile: 12 ratings cycling 1-5,
#: which teach nothing, scored "83 of 100 pairs" on the browser test's library.
PRAISE_MIN_RATINGS = 20


def plain_words(rec: Optional[Dict[str, Any]]) -> str:
    """How well the profile knows its person, in words a photographer reads without knowing SROCC.

    The count is of held-out pairs ("of 100 pairs of your photos with different stars, how often did it put the
    one you liked more first"); a coin flip gets 50. The pairs of a few photos are far from independent, so
    the verdict is judged against the uncertainty of a share measured on ``n`` ratings (2 standard errors of a
    proportion from ``n`` draws): below that band it says it cannot tell yet rather than praise noise."""
    if not rec or rec.get("pairs_right_profile") is None:
        return "Not enough varied ratings yet to check how well your profile knows you."
    p, g = float(rec["pairs_right_profile"]), rec.get("pairs_right_generic")
    n = int(rec.get("n") or 0)
    # the held-out pairs, not the ratings, are what was counted: 12 ratings in 5 folds leave at most 9 pairs
    draws = min(n, int(rec.get("pairs_compared") or n))
    band = 2.0 * float(np.sqrt(max(p * (1.0 - p), 0.05) / max(draws, 1)))
    right = f"{round(100 * p)} of 100 pairs"
    generic = f" (the model everybody gets: {round(100 * g)}; a coin flip: 50)" if g is not None else \
        " (a coin flip: 50)"
    seen = (f"for photos it had not seen, it put the one you liked more first in {right}{generic}. "
            f"Checked on your {n} star ratings.")
    if p - band <= 0.5 or n < PRAISE_MIN_RATINGS:
        level = ("does not know you yet" if p <= 0.5 else "cannot tell yet whether it knows you")
        text = f"Your profile {level}: {seen}"
        if p > 0.5:
            text += (f" With {n} ratings that is still within chance (±{round(100 * min(band, 0.5))} pairs); "
                     f"more, and more varied, ratings make it clear (at least {PRAISE_MIN_RATINGS}).")
        return text
    level = ("is getting to know you" if p < 0.65 else "knows you fairly well" if p < 0.75 else "knows you well")
    text = f"Your profile {level}: {seen}"
    m, gs, se = rec.get("method_srocc"), rec.get("generic_srocc"), rec.get("gain_se")
    if g is not None and p <= g:
        text += " It is not better than the general model yet: rate more, and more varied, photos."
    elif m is not None and gs is not None and se is not None and abs(m - gs) < 2 * se:
        text += " Whether it beats the general model is still within chance; more ratings make it clearer."
    return text


# ---- similar photos --------------------------------------------------------------------------------------------
def embed(features: np.ndarray) -> np.ndarray:
    """Rows -> unit vectors for cosine similarity (square root of the non-negative pooled activations)."""
    X = np.asarray(features, dtype=np.float64)
    X = np.sqrt(np.clip(X, 0.0, None))
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(n > 0, n, 1.0)


def similar_rows(rows: np.ndarray, target: np.ndarray, top: int = 5) -> Tuple[np.ndarray, np.ndarray]:
    """(indices, similarities) of the ``rows`` most like ``target``, best first: the one definition of "looks
    like" (cosine of :func:`embed`), used by ``piaa explain``, ``piaa cull`` and the service's "why"."""
    rows = np.asarray(rows, dtype=np.float64)
    if not len(rows):
        return np.zeros(0, dtype=int), np.zeros(0)
    good = np.flatnonzero(np.isfinite(rows).all(axis=1))
    sims = embed(rows[good]) @ embed(np.asarray(target, dtype=np.float64).reshape(1, -1))[0]
    order = np.argsort(-sims, kind="stable")[:top]
    return good[order], sims[order]


#: A look-alike is strong when fewer than this share of the library's photos look more like the photo.
STRONG_LIKENESS = 0.10


def likeness_floor(library_rows: np.ndarray, target: np.ndarray, share: float = STRONG_LIKENESS) -> float:
    """The similarity (as :func:`similar_rows` measures it) above which a photo is among the ``share`` of
    ``library_rows`` most like ``target``: below it a "look-alike" is a weak one (cosines of these features are
    high even for unrelated photos, so a fixed threshold would mean nothing)."""
    rows = np.asarray(library_rows, dtype=np.float64)
    rows = rows[np.isfinite(rows).all(axis=1)] if len(rows) else rows
    if len(rows) < 2:
        return float("inf")
    sims = embed(rows) @ embed(np.asarray(target, dtype=np.float64).reshape(1, -1))[0]
    return float(np.quantile(sims, 1.0 - share))


# ---- the exchange document -------------------------------------------------------------------------------------
def export_document(name: str, method: str, meta: Dict[str, Any], state: Dict[str, Any],
                    ratings: Sequence[Tuple[str, float, Optional[str]]], created: Optional[str] = None,
                    updated: Optional[str] = None, comparisons: Sequence[Tuple[Any, Any]] = ()) -> Dict[str, Any]:
    """The ``piaa-profile`` JSON document (see :mod:`piaa.profiles.exchange`) of a profile from any store."""
    from piaa.profiles.exchange import FORMAT, FORMAT_VERSION, encode_array

    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name, "method": method,
           "created": created, "updated": updated or created, "meta": meta,
           "ratings": [{"image": str(i), "score": float(s), "origin": o} for i, s, o in ratings],
           "state": {"meta": state["meta"], "arrays": {k: encode_array(v) for k, v in state["arrays"].items()}}}
    if comparisons:
        doc["comparisons"] = [{"better": b, "worse": w} for b, w in comparisons]
    return doc


__all__ = ["MethodUnavailable", "NotEnoughRatings", "personalizer_class", "uses_offset", "load_estimator",
           "estimator_from_bytes", "estimator_to_bytes", "map_scale", "onto_scale", "to_model_scale",
           "to_person_scale", "check_enough", "fit_estimator", "predict", "predict_rows", "linear_scorer",
           "Fitted", "fit", "assess_fit", "plain_words", "embed", "similar_rows", "export_document",
           "STAR_SCALE", "DEFAULT_MODEL_SCALE", "MIN_RATINGS"]
