"""Facts about the library's photos that the ranking filters, the photo view and culling use, computed once:
technical quality (the photo-quality model on the features already in memory: no second network pass) and
capture time (EXIF headers, read once per photo file version).
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Dict, Optional, Sequence

import numpy as np

log = logging.getLogger("piaa.serve")
_UNSET = object()


class PhotoFacts:
    """The per-server caches (``ServiceState.facts``)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.model = _UNSET              # the quality scorer, None when there is none
        self.quality = None              # (feature matrix it was computed on, scores)
        self.times: Dict[tuple, Optional[datetime]] = {}   # (id, size, mtime_ns) -> capture time
        self.groups = None               # (feature matrix, bursts: lists of row indices)


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
    mat = state.library.matrix()
    facts = state.facts
    with facts.lock:
        if facts.quality is not None and facts.quality[0] is mat:
            return facts.quality[1]
    ids, X, _ = mat
    out = np.asarray(q.score_features(X), dtype=float) if len(ids) else np.zeros(0)
    if getattr(q, "lower_better", False):
        out = -out
    with facts.lock:
        facts.quality = (mat, out)
    return out


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


def burst_groups(state, times: Sequence[Optional[datetime]]):
    """``piaa cull``'s groups over ``library.matrix()`` rows, computed once per feature matrix (the grouping
    compares every photo with every other: seconds for a large library, so never per request)."""
    from piaa.profiles.bursts import groups_of

    mat = state.library.matrix()
    facts = state.facts
    with facts.lock:
        if facts.groups is not None and facts.groups[0] is mat:
            return facts.groups[1]
    groups = groups_of(mat[1], times)
    with facts.lock:
        facts.groups = (mat, groups)
    return groups
