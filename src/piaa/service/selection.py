"""Which photos to offer a person for rating: the active-learning selector over the library's features (built
once per feature matrix and kept on the server's state), with random choices when it is not installed, not
ready, or fails — a suggestion must never fail the request. Photos too small to judge
(:data:`piaa.service.photo_facts.MIN_SIDE`) are never offered."""
from __future__ import annotations

import logging
import secrets
from typing import List, Optional

import numpy as np

from piaa.service import photo_facts
from piaa.service.deps import ServiceState

log = logging.getLogger("piaa.serve")


def selector(state: ServiceState):
    """(ids, ActiveSelector) over the library's current features, built once per feature matrix; None when the
    active-learning selector (``piaa.personalize.active``) is not installed or the features are not ready."""
    try:
        from piaa.personalize.active import ActiveSelector
    except ImportError:
        return None
    lib = state.library
    if not lib.ready:
        return None
    mat = lib.matrix()
    small = photo_facts.too_small(state)
    with state.lock:
        cached = state.selector
        if cached is None or cached[0] is not mat:
            ids, X, g = mat
            if small:
                keep = np.array([int(i) not in small for i in ids], dtype=bool)
                ids, X, g = ids[keep], X[keep], g[keep]
            try:
                cached = (mat, ids, ActiveSelector(X, None, g) if len(ids) >= 2 else None)
            except Exception:
                log.exception("active-learning selector could not be built; suggestions are random")
                cached = (mat, ids, None)
            state.selector = cached
    return None if cached[2] is None else (cached[1], cached[2])


def active(state: ServiceState, mine, choose):
    """``choose(selector, rated rows, their stars or None)`` -> (photo ids, strategy) with the active-learning
    selector, or None (no selector, or it failed: a suggestion must never fail the request; the log says why)."""
    sel = selector(state)
    if sel is None:
        return None
    ids, chooser = sel
    row = {int(i): k for k, i in enumerate(ids)}
    rated = [(row[i], r) for i, r in mine.items() if i in row]
    try:
        picks, strategy = choose(chooser, [k for k, _ in rated], [r for _, r in rated] if rated else None)
    except Exception:
        log.exception("active-learning selection failed, choosing at random")
        return None
    return [int(ids[k]) for k in picks], strategy


def _offerable(state: ServiceState) -> List[int]:
    lib = state.library
    small = photo_facts.too_small(state) if lib.ready else set()
    return [i for i in lib.ids() if lib.error(i) is None and i not in small]


def offerable(state: ServiceState, ids) -> List[int]:
    """``ids`` (None: none) without the photos too small to judge."""
    small = photo_facts.too_small(state) if state.library.ready else set()
    return [int(i) for i in ids or () if int(i) not in small]


def random_unrated(state: ServiceState, mine, n: int):
    pool = [i for i in _offerable(state) if i not in mine]
    if not pool:
        return []
    rng = np.random.default_rng(secrets.randbits(64))
    return [int(i) for i in rng.choice(pool, size=min(n, len(pool)), replace=False)]


SKIP_PATTERN = r"^(\d{1,12}-\d{1,12}(,\d{1,12}-\d{1,12})*)?$"


def skipped(skip: str) -> set:
    """``"3-7,9-12"`` (validated by ``SKIP_PATTERN``) -> {frozenset({3, 7}), frozenset({9, 12})}; a photo paired
    with itself names no pair and is ignored."""
    out = set()
    for part in filter(None, skip.split(",")):
        a, _, b = part.partition("-")
        if int(a) != int(b):
            out.add(frozenset((int(a), int(b))))
    return out


def random_pair(state: ServiceState, mine, compared) -> Optional[List[int]]:
    """Two photos not yet compared with each other, unrated ones first; None when there is no such pair."""
    good = _offerable(state)
    rng = np.random.default_rng(secrets.randbits(64))
    for pool in ([i for i in good if i not in mine], good):
        if len(pool) < 2:
            continue
        order = [int(i) for i in rng.permutation(pool)]
        for k, a in enumerate(order):          # the first free pair in a random order
            for b in order[k + 1:]:
                if frozenset((a, b)) not in compared:
                    return [a, b]
    return None
