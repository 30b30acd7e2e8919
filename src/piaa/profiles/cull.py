"""Culling a shoot: group near-duplicates and bursts, keep the best of each group, mark the rest.

1. **Group.** Two photos belong together when their image features are very similar (a near-duplicate, taken
   whenever), or similar *and* taken within a few seconds of each other (a burst; EXIF capture time,
   :mod:`piaa.io.exif`). Groups are the connected components of these links (single linkage). The features are
   those the generic model already computed (cached), L2-normalized after a square root (pooled activations
   are non-negative and heavy-tailed; the root keeps a few strong channels from deciding the cosine alone). The
   two thresholds were chosen on synthetic bursts made from OASIS subsets 1-2 and checked on subsets 3-4
   (``bench/cull_grouping.py``, BENCHMARKS.md).
2. **Choose.** In each group the photo with the best combined score is the pick: the person's taste (their
   profile's prediction, or the generic model without a profile), plus — when a photo-quality model is
   installed — its technical quality, each standardized over the whole shoot and added with
   ``quality_weight``. A star the person already gave wins over every prediction: the highest-rated photo of
   a group is its pick; a photo they rejected is never picked while another is left.
3. **Mark** (only when asked, :func:`piaa.profiles.xmp_write.plan_writes`): the pick gets the ``pick`` mark,
   the others the ``reject`` mark (configurable: stars, ``-1`` = rejected, a colour label or a keyword).
   Ratings and labels the person set are never replaced; photos alone in their group get no mark.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.profiles.core import embed  # noqa: F401 (the one similarity of photos; cull groups by it)

#: Chosen on synthetic bursts of OASIS subsets 1-2 (bench/cull_grouping.py); see BENCHMARKS.md.
DUPLICATE_SIMILARITY = 0.88
BURST_SIMILARITY = 0.79
BURST_SECONDS = 3.0


@dataclass
class CullSettings:
    duplicate_similarity: float = DUPLICATE_SIMILARITY   # link whenever taken
    burst_similarity: float = BURST_SIMILARITY           # link when also taken within burst_seconds
    burst_seconds: float = BURST_SECONDS
    quality_weight: float = 1.0

    def __post_init__(self):
        for name in ("duplicate_similarity", "burst_similarity"):
            v = getattr(self, name)
            if not (np.isfinite(v) and -1.0 <= v <= 1.0):
                raise ValueError(f"{name} must be a cosine similarity in [-1, 1], not {v}")
        if not (np.isfinite(self.burst_seconds) and self.burst_seconds >= 0):
            raise ValueError(f"burst_seconds must be >= 0, not {self.burst_seconds}")
        if not (np.isfinite(self.quality_weight) and self.quality_weight >= 0):
            raise ValueError(f"quality_weight must be >= 0, not {self.quality_weight}")


def links(E: np.ndarray, seconds: np.ndarray, s: CullSettings, block: int = 1024):
    """Pairs (i, j, similarity) that belong together (:func:`piaa.profiles.similar_pairs.links`: exact, without
    comparing every pair at full width)."""
    from piaa.profiles.similar_pairs import links as similar_links

    return similar_links(E, seconds, s.duplicate_similarity, s.burst_similarity, s.burst_seconds, block)


def group_indices(features: np.ndarray, times: Sequence[Optional[datetime]],
                  settings: Optional[CullSettings] = None) -> List[List[int]]:
    """Connected components of the links, each sorted by capture time (then input order); groups in the order
    of their first photo. Rows with non-finite features are singletons."""
    s = settings or CullSettings()
    n = len(features)
    ok = np.isfinite(np.asarray(features, dtype=np.float64)).all(axis=1) if n else np.zeros(0, bool)
    secs = np.array([t.timestamp() if t is not None else np.nan for t in times], dtype=float)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    idx = np.flatnonzero(ok)
    if len(idx) > 1:
        E = embed(np.asarray(features)[idx])
        for i, j, _ in links(E, secs[idx], s):
            a, b = find(int(idx[i])), find(int(idx[j]))
            if a != b:
                parent[max(a, b)] = min(a, b)
    comps: Dict[int, List[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)

    def when(i):
        return (0, secs[i], i) if np.isfinite(secs[i]) else (1, 0.0, i)

    groups = [sorted(g, key=when) for g in comps.values()]
    return sorted(groups, key=lambda g: when(g[0]))


def _standardize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.where(ok, 0.0, np.nan)
    sd = x[ok].std()
    return (x - x[ok].mean()) / (sd if sd > 0 else 1.0)


@dataclass
class CullGroup:
    members: List[int]
    pick: int
    reason: str


@dataclass
class CullResult:
    paths: List[str]
    groups: List[CullGroup]
    taste: np.ndarray                         # the person's (or generic) score, NaN when not scored
    quality: Optional[np.ndarray]             # technical quality when a quality model ran
    combined: np.ndarray
    own_ratings: List[Optional[float]]
    times: List[Optional[datetime]]
    errors: Dict[int, str] = field(default_factory=dict)
    settings: CullSettings = field(default_factory=CullSettings)
    taste_source: str = "generic"
    quality_source: Optional[str] = None
    notes: List[str] = field(default_factory=list)


def choose(groups: List[List[int]], taste: np.ndarray, quality: Optional[np.ndarray],
           own: Sequence[Optional[float]], quality_weight: float = 1.0):
    """(combined score, [CullGroup]): the pick of each group (see the module docs)."""
    combined = _standardize(taste)
    if quality is not None and quality_weight > 0:
        q = _standardize(quality)
        combined = combined + quality_weight * np.where(np.isfinite(q), q, 0.0)
    out = []
    for g in groups:
        rated = [i for i in g if own[i] is not None and own[i] > 0]
        if rated:
            best = max(rated, key=lambda i: (own[i], _finite(combined[i])))
            reason = f"your own {own[best]:g}★"
        else:
            not_rejected = [i for i in g if not (own[i] is not None and own[i] < 0)] or list(g)
            scored = [i for i in not_rejected if np.isfinite(combined[i])]
            best = max(scored, key=lambda i: combined[i]) if scored else g[0]
            reason = "best score" if len(g) > 1 else "alone"
            if not scored:
                reason = "no photo of the group could be scored"
        out.append(CullGroup(list(g), int(best), reason))
    return combined, out


def _finite(v: float) -> float:
    return float(v) if np.isfinite(v) else -np.inf


# ---- the whole run ------------------------------------------------------------------------------------------
def find_quality_model(name: Optional[str] = "auto"):
    """The photo-quality scorer to combine with taste: ``"auto"`` = a registered scoring model whose name says
    "quality" (``piaa models``), ``None``/``"none"`` = none, else the named model. ``(scorer | None, note)``."""
    if name in (None, "none"):
        return None, None
    from piaa.models.scorer import list_models, load_scorer

    if name == "auto":
        cands = [m for m in list_models() if "quality" in m.lower()]
        if not cands:
            return None, "no photo-quality model is installed: picks follow taste alone"
        name = cands[0]
    return load_scorer(name), None


def own_ratings(paths: Sequence) -> List[Optional[float]]:
    """The person's own star rating of each photo (sidecar or embedded XMP; -1 = they rejected it; ``None``
    when unrated, unreadable, or a rating piaa wrote)."""
    from piaa.profiles.xmp import XMPError
    from piaa.profiles.xmp_files import read_rating
    from piaa.profiles.xmp_marks import persons_value

    out: List[Optional[float]] = []
    for p in paths:
        try:
            found = read_rating(p)
            v = persons_value(found.packet, "rating") if found.packet is not None else None
            out.append(float(v) if v is not None and float(v) != 0 else None)
        except (XMPError, OSError, ValueError):
            out.append(None)
    return out


def cull(paths: Sequence, profile=None, scorer=None, quality="auto", settings: Optional[CullSettings] = None,
         progress: bool = False) -> CullResult:
    """Group ``paths`` and choose a pick per group (nothing is written; see :func:`marks_for`).

    ``profile``: a :class:`~piaa.profiles.profile.Profile` (its taste decides) or ``None`` (the generic model).
    ``quality``: a scorer, ``"auto"`` or ``None`` (see :func:`find_quality_model`)."""
    from piaa.features import FeatureExtractor
    from piaa.io.exif import capture_time
    from piaa.profiles.generic import generic_scores, load_generic, lower_better

    s = settings or CullSettings()
    paths = [str(p) for p in paths]
    scorer = scorer if scorer is not None else (profile.scorer if profile is not None else load_generic())
    errors: Dict[int, str] = {}
    fx = FeatureExtractor(scorer.backbone.split("+")[0], scorer.variant, progress=progress)
    res = fx.extract(paths)
    errors.update(res.errors)
    if profile is not None:
        taste, perr = profile.score_with_errors(paths)
        source = f"profile {profile.name!r} ({profile.method})"
    else:
        g = generic_scores(scorer, paths)
        taste, perr = g.scores, g.errors
        if lower_better(scorer):
            taste = -taste
        source = f"generic model {getattr(scorer, 'name', '?')}"
    for i, e in perr.items():
        errors.setdefault(i, e)
    q_scorer, q_note = (quality, None) if quality not in ("auto", None, "none") and not isinstance(quality, str) \
        else find_quality_model(quality)
    qual = None
    if q_scorer is not None:
        qg = generic_scores(q_scorer, paths)
        qual = -qg.scores if lower_better(q_scorer) else qg.scores
    times = [capture_time(p) for p in paths]
    groups = group_indices(res.features, times, s)
    own = own_ratings(paths)
    combined, chosen = choose(groups, taste, qual, own, s.quality_weight)
    return CullResult(paths, chosen, np.asarray(taste, float), qual, combined, own, times, dict(sorted(errors.items())),
                      s, source, None if q_scorer is None else getattr(q_scorer, "name", "quality"),
                      [q_note] if q_note else [])


def marks_for(result: CullResult, pick, reject) -> List[dict]:
    """Records for :func:`piaa.profiles.xmp_write.plan_writes`: the pick of every group of two or more photos
    gets ``pick``, the others ``reject`` (a :class:`~piaa.profiles.xmp_marks.Mark` or ``None`` = no mark)."""
    recs = []
    for gi, g in enumerate(result.groups, 1):
        if len(g.members) < 2:
            continue
        for i in g.members:
            mk = pick if i == g.pick else reject
            if mk is None or i in result.errors:
                continue
            recs.append({"path": result.paths[i], "score": _json_float(result.combined[i]), "mark": mk,
                         "info": {"Cull": "pick" if i == g.pick else "reject", "CullGroup": str(gi)}})
    return recs


def report(result: CullResult) -> dict:
    """The JSON report: settings, every group with its members (pick first), scores, times, own stars."""
    def member(i):
        t = result.times[i]
        return {"path": result.paths[i], "pick": None, "taste": _json_float(result.taste[i]),
                "quality": None if result.quality is None else _json_float(result.quality[i]),
                "combined": _json_float(result.combined[i]), "taken": t.isoformat() if t else None,
                "your_rating": result.own_ratings[i], "error": result.errors.get(i)}

    groups = []
    for gi, g in enumerate(result.groups, 1):
        ms = [member(i) for i in [g.pick] + [i for i in g.members if i != g.pick]]
        for m in ms:
            m["pick"] = m["path"] == result.paths[g.pick]
        groups.append({"group": gi, "size": len(g.members), "pick": result.paths[g.pick], "why": g.reason,
                       "members": ms})
    multi = [g for g in result.groups if len(g.members) > 1]
    return {"photos": len(result.paths), "groups": len(result.groups), "groups_of_2_or_more": len(multi),
            "picks": len(multi), "rejects": sum(len(g.members) - 1 for g in multi),
            "taste": result.taste_source, "quality": result.quality_source,
            "settings": {k: getattr(result.settings, k) for k in ("duplicate_similarity", "burst_similarity",
                                                                  "burst_seconds", "quality_weight")},
            "notes": result.notes, "errors": len(result.errors), "group_list": groups}


def _json_float(v) -> Optional[float]:
    v = float(v)
    return round(v, 4) if np.isfinite(v) else None
