"""Facts about the library's photos that the ranking filters, the photo view and culling use, computed once:
technical quality (the photo-quality model on the features already in memory: no second network pass) and
capture time (EXIF headers, read once per photo file version).
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

log = logging.getLogger("piaa.serve")
_UNSET = object()


class PhotoFacts:
    """The per-server caches (``ServiceState.facts``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.computing: Dict[str, threading.Lock] = {}   # one per fact: a second asker waits, not recomputes
        self.model = _UNSET              # the quality scorer, None when there is none
        self.quality = None              # (feature matrix it was computed on, scores)
        self.times: Dict[tuple, Optional[datetime]] = {}   # (id, size, mtime_ns) -> capture time
        self.groups = None               # (feature matrix, bursts: lists of row indices)
        self.group_of = None             # (feature matrix, each row's group index, -1 alone)
        self.picks: Dict[int, tuple] = {}  # person -> (groups, what their picks depend on, the picks)
        self.names = None                # (feature matrix, the rows' photo names)
        self.name_ranks = None           # (feature matrix, each row's place in name order)
        self.folders = None              # (feature matrix, [(folder, photos below it)])
        self.too_small = None            # (feature matrix, ids of photos too small to judge)
        self.row_times = None            # (feature matrix, the rows' capture times, the same as seconds)


def quality_model(state):
    """The photo-quality scorer when one is installed that reads the same features as the library's model
    (``biq2021-quality-lite0`` next to the default beauty model), else None."""
    facts = state.facts
    if facts.model is not _UNSET:
        return facts.model
    from piaa.profiles.cull import find_quality_model

    q = None
    try:
        cand, _ = find_quality_model("auto")
        base = state.library.scorer
        if cand is not None and tuple(cand.backbones) == tuple(base.backbones) and cand.variant == base.variant:
            q = cand
    except Exception:   # a missing or broken quality model only hides the quality column; say why in the log
        log.exception("the photo-quality model could not be loaded; no quality scores")
    facts.model = q
    return q


def quality(state) -> Optional[np.ndarray]:
    """Technical quality of every photo of ``library.matrix()`` (same order), None without a quality model."""
    q = quality_model(state)
    if q is None:
        return None
    def compute(mat):
        ids, X, _ = mat
        out = np.asarray(q.score_features(X), dtype=float) if len(ids) else np.zeros(0)
        return -out if getattr(q, "lower_better", False) else out
    return _per_matrix(state, "quality", compute)


def quality_of(state, image_id: int) -> Optional[float]:
    q = quality(state)
    if q is None:
        return None
    k = np.flatnonzero(state.library.matrix()[0] == image_id)
    return round(float(q[int(k[0])]), 4) if len(k) else None


def capture_times(state, ids: Sequence[int]) -> Dict[int, Optional[datetime]]:
    """Capture time of each photo (EXIF; None when it has none), cached per photo file version."""
    from piaa.io.exif import capture_time

    cache = state.facts.times
    out: Dict[int, Optional[datetime]] = {}
    for i in ids:
        p = state.library.path(int(i))
        try:
            st = p.stat() if p is not None else None
        except OSError:
            st = None
        if st is None:
            out[int(i)] = None
            continue
        key = (int(i), st.st_size, st.st_mtime_ns)
        if key not in cache:
            cache[key] = capture_time(p)
        out[int(i)] = cache[key]
    return out


def _per_matrix(state, slot: str, compute):
    """``compute(matrix)``, kept in ``state.facts.<slot>`` until the feature matrix changes (a rescan)."""
    mat = state.library.matrix()
    facts = state.facts
    with facts.lock:
        busy = facts.computing.setdefault(slot, threading.Lock())
    with busy:
        with facts.lock:
            cached = getattr(facts, slot)
            if cached is not None and cached[0] is mat:
                return cached[1]
        out = compute(mat)
        with facts.lock:
            setattr(facts, slot, (mat, out))
        return out


def cached(state, slot: str):
    """What ``slot`` holds for the current feature matrix, or None while it is not computed (never waits)."""
    mat = state.library.matrix()
    with state.facts.lock:
        got = getattr(state.facts, slot)
    return got[1] if got is not None and got[0] is mat else None


def folders(state) -> List[Tuple[str, int]]:
    """(folder, photos below it) of every folder that holds analysed photos, by name."""
    def compute(_):
        count: Dict[str, int] = {}
        for n in names(state):
            parts = n.split("/")[:-1]
            for k in range(1, len(parts) + 1):
                key = "/".join(parts[:k])
                count[key] = count.get(key, 0) + 1
        return sorted(count.items())
    return _per_matrix(state, "folders", compute)


#: A photo whose shorter side has fewer pixels than this is never offered for rating: a 12 x 9 px image shown
#: at 600 px is a blur, and a person's stars on it would teach the profile nothing about their taste.
MIN_SIDE = 100


def _short_side(path) -> Optional[int]:
    from PIL import Image

    try:
        with Image.open(path) as im:          # the header only: no decoding
            return min(im.size)
    except Exception:  # unreadable now: not this check's business (the photo view says why)
        return None


def too_small(state) -> set:
    """Ids of the analysed photos whose shorter side is below ``MIN_SIDE`` pixels (read once per scan)."""
    lib = state.library

    def compute(mat):
        out = set()
        for i in mat[0]:
            p = lib.path(int(i))
            side = _short_side(p) if p is not None else None
            if side is not None and side < MIN_SIDE:
                out.add(int(i))
        return out
    return _per_matrix(state, "too_small", compute)


def names(state) -> list:
    """The name of every photo of ``library.matrix()`` (same order)."""
    lib = state.library
    return _per_matrix(state, "names", lambda mat: [lib.name(int(i)) for i in mat[0]])


def name_ranks(state) -> np.ndarray:
    """Each row's place when the rows are sorted by name (ties by position): sorting 20,000 names costs more
    than the rest of a ranking request, so it is done once per scan."""
    def compute(_):
        order = sorted(range(len(names(state))), key=names(state).__getitem__)
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order))
        return ranks
    return _per_matrix(state, "name_ranks", compute)


def row_times(state) -> Tuple[List[Optional[datetime]], np.ndarray]:
    """(capture times, the same as POSIX seconds with NaN for none) of every photo of ``library.matrix()``:
    read once per feature matrix, so ordering by date or grouping bursts never reads 20,000 headers again."""
    def compute(mat):
        by_id = capture_times(state, [int(i) for i in mat[0]])
        times = [by_id[int(i)] for i in mat[0]]
        return times, np.array([t.timestamp() if t is not None else np.nan for t in times], dtype=float)
    return _per_matrix(state, "row_times", compute)


def capture_seconds(state) -> np.ndarray:
    return row_times(state)[1]


def burst_groups(state, times: Sequence[Optional[datetime]]):
    """``piaa cull``'s groups over ``library.matrix()`` rows, computed once per feature matrix (the grouping
    compares every photo with every other: seconds for a large library, so never per request)."""
    from piaa.profiles.bursts import groups_of

    return _per_matrix(state, "groups", lambda mat: groups_of(mat[1], times))


def group_of(state) -> np.ndarray:
    """Each row's index in the burst groups (-1: alone); the groups must be known (``cached(state, "groups")``)."""
    def compute(mat):
        out = np.full(len(mat[0]), -1)
        for gi, g in enumerate(cached(state, "groups") or []):
            out[g] = gi
        return out
    return _per_matrix(state, "group_of", compute)


def warm(state) -> None:
    """Everything above, for the library as it is now (run after each analysis pass, before "ready")."""
    if not len(state.library.matrix()[0]):
        return
    names(state)
    name_ranks(state)
    folders(state)
    quality(state)
    too_small(state)
    burst_groups(state, row_times(state)[0])
    group_of(state)
