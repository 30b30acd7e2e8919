"""Culling a shoot: group near-duplicates and bursts, keep the best of each group, mark the rest.

1. **Group.** Two photos belong together when their image features are very similar (a near-duplicate, taken
   whenever), or similar *and* taken within a few seconds of each other (a burst; EXIF capture time,
   :mod:`piaa.io.exif`). Groups are the connected components of these links (single linkage). The features are
   those the generic model already computed (cached), L2-normalized after a square root (pooled activations
   are non-negative and heavy-tailed; the root keeps a few strong channels from deciding the cosine alone). The
   two thresholds were chosen on synthetic bursts made from OASIS subsets 1-2 and checked on subsets 3-4
   (``bench/cull_grouping.py``, BENCHMARKS.md).
2. **Check at 100 %** (:mod:`piaa.profiles.cull_checks`, each check can be turned off): inside each group of
   two or more, frames whose subject has closed eyes lose, then frames that are soft on the subject or shaken
   — all judged relative to the group's best frame, from the native-resolution pixels
   (:mod:`piaa.profiles.photo_detail`).
3. **Choose.** Among the frames that pass, the one with the best combined score is the pick: the person's
   taste (their profile's prediction, or the generic model without a profile), plus — when a photo-quality
   model is installed — its technical quality, each standardized over the whole shoot and added with
   ``quality_weight``. A star the person already gave wins over every prediction: the highest-rated photo of
   a group is its pick; a photo they rejected is never picked while another is left. Every other frame gets
   its reasons in plain words (:func:`reasons_by_path`).
4. **Mark** (only when asked, :func:`piaa.profiles.xmp_write.plan_writes`): the pick gets the ``pick`` mark,
   the others the ``reject`` mark (configurable: stars, ``-1`` = rejected, a colour label or a keyword).
   Ratings and labels the person set are never replaced; photos alone in their group get no mark.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.errors import InputError
from piaa.profiles.core import embed  # noqa: F401 (the one similarity of photos; cull groups by it)
from piaa.profiles.cull_checks import CHECKS, MOTION_MARGIN, SOFT_MARGIN, FrameFacts, GroupVerdict

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
    checks: frozenset = frozenset(CHECKS)                # eyes, focus, motion (piaa.profiles.cull_checks)
    soft_margin: float = SOFT_MARGIN
    motion_margin: float = MOTION_MARGIN
    # also look for faces lying on their side / tilted 45 degrees in frames without an upright face: 4-5x the
    # detector's time on every face-less frame, so off by default (piaa score --faces always looks)
    turned_faces: bool = False

    def __post_init__(self):
        self.checks = frozenset(self.checks)
        if not self.checks <= set(CHECKS):
            raise InputError(f"unknown check(s) {', '.join(sorted(self.checks - set(CHECKS)))}; "
                             f"choose from {', '.join(CHECKS)}")
        for name in ("soft_margin", "motion_margin"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0 <= v < 1):
                raise InputError(f"{name} must be in [0, 1), not {v}")
        for name in ("duplicate_similarity", "burst_similarity"):
            v = getattr(self, name)
            if not (np.isfinite(v) and -1.0 <= v <= 1.0):
                raise InputError(f"{name} must be a cosine similarity in [-1, 1], not {v}")
        if not (np.isfinite(self.burst_seconds) and self.burst_seconds >= 0):
            raise InputError(f"burst_seconds must be >= 0, not {self.burst_seconds}")
        if not (np.isfinite(self.quality_weight) and self.quality_weight >= 0):
            raise InputError(f"quality_weight must be >= 0, not {self.quality_weight}")


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
    reasons: Dict[int, List[str]] = field(default_factory=dict)   # every other member's reasons, plain words
    facts: Dict[int, FrameFacts] = field(default_factory=dict)    # what the checks read, per member


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
    seconds: Dict[str, float] = field(default_factory=dict)   # where the time went (features, checks, ...)


def choose(groups: List[List[int]], taste: np.ndarray, quality: Optional[np.ndarray],
           own: Sequence[Optional[float]], quality_weight: float = 1.0,
           verdicts: Optional[Dict[int, GroupVerdict]] = None):
    """(combined score, [CullGroup]): the pick of each group (see the module docs). ``verdicts`` maps a group's
    index to the checks' verdict on it (indices into the group's members)."""
    from piaa.profiles.cull_checks import REASON_TASTE

    combined = _standardize(taste)
    if quality is not None and quality_weight > 0:
        q = _standardize(quality)
        combined = combined + quality_weight * np.where(np.isfinite(q), q, 0.0)
    out = []
    for gi, g in enumerate(groups):
        v = (verdicts or {}).get(gi)
        passed = [g[k] for k in v.passed] if v is not None else list(g)
        reasons = {g[k]: list(r) for k, r in v.reasons.items()} if v is not None else {}
        rated = [i for i in g if own[i] is not None and own[i] > 0]
        if rated:
            best = max(rated, key=lambda i: (own[i], _finite(combined[i])))
            reason = f"your own {own[best]:g}★"
            taste_word = "you rated another frame higher"
        else:
            not_rejected = [i for i in g if not (own[i] is not None and own[i] < 0)] or list(g)
            pool = [i for i in passed if i in not_rejected] or not_rejected
            scored = [i for i in pool if np.isfinite(combined[i])]
            best = max(scored, key=lambda i: combined[i]) if scored else pool[0]
            reason = "best score" if len(g) > 1 else "alone"
            if len(pool) < len(g) and len(g) > 1:
                reason = "best score of the frames that pass the checks"
            if not scored:
                reason = "no photo of the group could be scored"
            taste_word = REASON_TASTE
        for i in g:
            if i == best:
                reasons.pop(i, None)
                continue
            r = reasons.setdefault(i, [])
            if own[i] is not None and own[i] < 0:
                r.insert(0, "you rejected it")
            if not r:
                r.append(taste_word)
        facts = {g[k]: f for k, f in v.facts.items()} if v is not None else {}
        out.append(CullGroup(list(g), int(best), reason, reasons if len(g) > 1 else {}, facts))
    return combined, out


def _finite(v: float) -> float:
    return float(v) if np.isfinite(v) else -np.inf


# ---- the whole run ------------------------------------------------------------------------------------------
def find_quality_model(name: Optional[str] = "auto"):
    """The photo-quality scorer to combine with taste: ``"auto"`` = the joint photos + generated images model
    (``piaa-quality-lite0``, as the web app uses: it reads the thumbnail features taste already needs, so culling
    does not decode every photo a second time; the checks at 100 % judge focus and blur), else the model
    ``"quality"`` names, else a registered scoring model whose name says "quality" (``piaa models``);
    ``None``/``"none"`` = none, else the named model (``quality`` = the native model of ``piaa score --quality``,
    about twice the culling time on 24-megapixel photos). ``(scorer | None, note)``."""
    if name in (None, "none"):
        return None, None
    from piaa.models.scorer import JOINT_QUALITY_MODEL, QUALITY_MODEL, list_models, load_scorer

    if name == "auto":
        cands = [m for m in list_models() if "quality" in m.lower()]
        if not cands:
            return None, "no photo-quality model is installed: picks follow taste alone"
        name = next((m for m in (JOINT_QUALITY_MODEL, QUALITY_MODEL) if m in cands), cands[0])
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


def check_groups(paths: Sequence[str], groups: List[List[int]], settings: CullSettings, detector=None,
                 notes: Optional[List[str]] = None, threads: int = 2,
                 seconds: Optional[Dict[str, float]] = None, cache="default",
                 hashes: Optional[Sequence[Optional[str]]] = None,
                 small_copies: Optional[Dict[str, np.ndarray]] = None) -> Dict[int, GroupVerdict]:
    """The checks' verdict on every group of two or more (:mod:`piaa.profiles.cull_checks`), one group at a
    time (its frames' pixels are held only while it is judged). Without a face model the eyes are not checked
    and focus reads the in-focus region; a note in ``notes`` says so. ``seconds`` collects the time each step
    took, summed over the photos (threads overlap them: decode, faces, measure). ``detector=False``: no face
    detection (the face checks read nothing).

    ``cache``: where the faces and measurements of each photo are kept between runs
    (:mod:`piaa.profiles.detail_cache`; ``"default"`` = the feature cache, None = not kept): a photo checked
    before is not decoded again. ``hashes``: the photos' content hashes when the caller has them (the
    feature extractor's), else they are read. ``small_copies``: ``{path: the faces' colour copy}`` decoded
    already (:func:`piaa.detail.decode.small_copy_of`)."""
    import time

    from piaa.detail.decode import FACES_LONG_SIDE
    from piaa.io.images import ImageLoadError
    from piaa.profiles.cull_checks import judge, measure_group
    from piaa.profiles.detail_cache import DetailStore
    from piaa.profiles.photo_detail import FacesUnavailable, default_detector, inspect_many, is_default_detector

    checks = settings.checks
    if not checks:
        return {}
    want_faces = bool(checks & {"eyes", "focus"}) and detector is not False
    if want_faces and detector is None:
        try:
            detector = default_detector(turned=settings.turned_faces)
        except FacesUnavailable as exc:
            want_faces = False
            if notes is not None:
                notes.append(f"{exc}: eyes are not checked, focus is judged on the sharpest region")
    cache_faces = want_faces and detector is not None and is_default_detector(detector)
    multi = [gi for gi, g in enumerate(groups) if len(g) >= 2]
    if not multi:
        return {}
    if want_faces and detector is not None:
        from piaa.profiles.photo_detail import serialized

        detector = serialized(detector)
    store = DetailStore(cache)
    todo = sorted({i for gi in multi for i in groups[gi]})
    if store.cache is not None:
        given = list(hashes) if hashes is not None and len(hashes) == len(paths) else [None] * len(paths)
        missing = [i for i in todo if not given[i]]
        for i, h in zip(missing, store.hashes([paths[i] for i in missing])):
            given[i] = h
        t_load = time.perf_counter()
        known = store.load([paths[i] for i in todo], [given[i] for i in todo])
        known = {todo[k]: d for k, d in known.items()}
        for i in todo:
            if i not in known and given[i]:
                known[i] = _hash_only(paths[i], given[i])
        load_s = time.perf_counter() - t_load
    else:
        known, load_s = {}, 0.0
    # two groups in flight at once (each decoded and measured in one thread) keep both cores busy without
    # waiting at every group's end; a shoot of one big group is spread over the threads inside it
    inner = threads if len(multi) < 2 else 1

    def one(gi):
        g = groups[gi]
        for _attempt in range(2):
            found = inspect_many([paths[i] for i in g], detail=False, faces=want_faces, detector=detector,
                                 keep_pixels=True, threads=inner, faces_long_side=FACES_LONG_SIDE,
                                 known={k: known[i] for k, i in enumerate(g) if i in known},
                                 small_copies=small_copies, cache_faces=cache_faces)
            t = time.perf_counter()
            try:
                facts = measure_group(found, threads=inner)
                break
            except ImageLoadError:   # a photo the cache knew cannot be decoded now: check the group afresh
                for i in g:
                    known.pop(i, None)
        spent = {"measure": time.perf_counter() - t}
        for d in found:
            for k, v in d.seconds.items():
                spent[k] = spent.get(k, 0.0) + v
            d.native = None
        store.save(found)
        del found
        return gi, judge(facts, checks, settings.soft_margin, settings.motion_margin), spent

    if inner == 1 and threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as ex:
            done = list(ex.map(one, multi))
    else:
        done = [one(gi) for gi in multi]
    out: Dict[int, GroupVerdict] = {}
    for gi, verdict, spent in done:
        out[gi] = verdict
        if seconds is not None:
            for k, v in spent.items():
                seconds[k] = seconds.get(k, 0.0) + v
    if seconds is not None and store.cache is not None:
        seconds["cache"] = seconds.get("cache", 0.0) + load_s
    return out


def _hash_only(path: str, h: str):
    """A cache-less record that only knows the photo's content hash (so its results can be stored)."""
    from piaa.profiles.photo_detail import PhotoDetail

    d = PhotoDetail(path)
    d.hash = h
    return d


class _SmallCopies:
    """Keeps the thumbnails the feature extractor decodes where they are, pixel for pixel, the colour copy the
    face detector is shown (:func:`piaa.detail.decode.small_copy_of`: a 24 MP 3:2 JPEG at 1/8 is both), so the
    checks do not decode them a second time. At most ``budget`` bytes are kept (the rest are decoded again)."""

    def __init__(self, paths: Sequence[str], budget: int = 256 << 20):
        self.paths = paths
        self.budget = budget
        self.used = 0
        self.copies: Dict[str, np.ndarray] = {}

    def __call__(self, i: int, image) -> None:
        from piaa.detail.decode import small_copy_of

        if self.used >= self.budget:
            return
        a = small_copy_of(self.paths[i], image)
        if a is not None:
            self.copies[self.paths[i]] = a
            self.used += a.nbytes


def _load_detector_meanwhile(settings: CullSettings, detector):
    """Start loading the face model (importing dlib and reading its weights takes a second or two) in a thread
    while the thumbnails are scored; None when no face check is on or a detector was given."""
    if detector is not None or not (settings.checks & {"eyes", "focus"}):
        return None
    from concurrent.futures import ThreadPoolExecutor

    from piaa.profiles.photo_detail import default_detector

    ex = ThreadPoolExecutor(max_workers=1)
    fut = ex.submit(default_detector, turned=settings.turned_faces)
    ex.shutdown(wait=False)
    return fut


def _loaded(loading, notes: List[str]):
    """The detector the thread loaded, or ``False`` (no face checks) with a note when the model is missing."""
    from piaa.profiles.photo_detail import FacesUnavailable

    try:
        return loading.result()
    except FacesUnavailable as exc:
        notes.append(f"{exc}: eyes are not checked, focus is judged on the sharpest region")
        return False


def cull(paths: Sequence, profile=None, scorer=None, quality="auto", settings: Optional[CullSettings] = None,
         progress: bool = False, detector=None) -> CullResult:
    """Group ``paths`` and choose a pick per group (nothing is written; see :func:`marks_for`).

    ``profile``: a :class:`~piaa.profiles.profile.Profile` (its taste decides) or ``None`` (the generic model).
    ``quality``: a scorer, ``"auto"`` or ``None`` (see :func:`find_quality_model`). ``detector``: the face
    detector for the eye and focus checks (``None``: :func:`piaa.faces.detect_faces`)."""
    from piaa.features import FeatureExtractor
    from piaa.io.exif import capture_time
    from piaa.profiles.generic import generic_scores, load_generic, lower_better

    import time

    s = settings or CullSettings()
    paths = [str(p) for p in paths]
    t0 = time.perf_counter()
    loading = _load_detector_meanwhile(s, detector)
    scorer = scorer if scorer is not None else (profile.scorer if profile is not None else load_generic())
    errors: Dict[int, str] = {}
    fx = FeatureExtractor(scorer.backbone.split("+")[0], scorer.variant, progress=progress)
    copies = _SmallCopies(paths) if s.checks & {"eyes", "focus"} and detector is not False else None
    res = fx.extract(paths, on_decoded=copies)
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
    t1 = time.perf_counter()
    times = [capture_time(p) for p in paths]
    groups = group_indices(res.features, times, s)
    own = own_ratings(paths)
    notes = [q_note] if q_note else []
    t2 = time.perf_counter()
    spent: Dict[str, float] = {}
    if loading is not None:
        detector = _loaded(loading, notes)
    verdicts = check_groups(paths, groups, s, detector, notes, seconds=spent, cache=fx.cache, hashes=res.hashes,
                            small_copies=copies.copies if copies is not None else None)
    del copies
    combined, chosen = choose(groups, taste, qual, own, s.quality_weight, verdicts)
    seconds = {"scores": t1 - t0, "grouping": t2 - t1, "checks": time.perf_counter() - t2,
               **{f"checks_{k}": v for k, v in spent.items()}}
    return CullResult(paths, chosen, np.asarray(taste, float), qual, combined, own, times, dict(sorted(errors.items())),
                      s, source, None if q_scorer is None else getattr(q_scorer, "name", "quality"), notes,
                      {k: round(v, 3) for k, v in seconds.items()})


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
    def member(i, g):
        t = result.times[i]
        out = {"path": result.paths[i], "pick": None, "taste": _json_float(result.taste[i]),
               "quality": None if result.quality is None else _json_float(result.quality[i]),
               "combined": _json_float(result.combined[i]), "taken": t.isoformat() if t else None,
               "your_rating": result.own_ratings[i], "error": result.errors.get(i),
               "reasons": list(g.reasons.get(i, []))}
        if i in g.facts:
            out["detail"] = g.facts[i].record()
        return out

    groups = []
    for gi, g in enumerate(result.groups, 1):
        ms = [member(i, g) for i in [g.pick] + [i for i in g.members if i != g.pick]]
        for m in ms:
            m["pick"] = m["path"] == result.paths[g.pick]
        groups.append({"group": gi, "size": len(g.members), "pick": result.paths[g.pick], "why": g.reason,
                       "members": ms})
    multi = [g for g in result.groups if len(g.members) > 1]
    return {"photos": len(result.paths), "groups": len(result.groups), "groups_of_2_or_more": len(multi),
            "picks": len(multi), "rejects": sum(len(g.members) - 1 for g in multi),
            "taste": result.taste_source, "quality": result.quality_source,
            "settings": {**{k: getattr(result.settings, k) for k in ("duplicate_similarity", "burst_similarity",
                                                                     "burst_seconds", "quality_weight",
                                                                     "soft_margin", "motion_margin")},
                         "checks": [c for c in CHECKS if c in result.settings.checks]},
            "notes": result.notes, "errors": len(result.errors), "seconds": result.seconds, "group_list": groups}


def reasons_by_path(result: CullResult) -> Dict[str, dict]:
    """Per photo of a group of two or more: ``{"group", "pick", "reasons", "detail"}`` — the reasons in plain
    words why a frame is not kept ([] for the pick) and what the checks read. The service's cull view reads
    this (one call, no re-measuring)."""
    out: Dict[str, dict] = {}
    for gi, g in enumerate(result.groups, 1):
        if len(g.members) < 2:
            continue
        for i in g.members:
            out[result.paths[i]] = {"group": gi, "pick": i == g.pick, "reasons": list(g.reasons.get(i, [])),
                                    "detail": g.facts[i].record() if i in g.facts else None}
    return out


def _json_float(v) -> Optional[float]:
    v = float(v)
    return round(v, 4) if np.isfinite(v) else None
