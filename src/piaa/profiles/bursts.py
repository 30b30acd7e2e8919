"""Bursts and near-duplicates of a library with a suggested pick per group — ``piaa cull``'s grouping and
choice (:mod:`piaa.profiles.cull`) on feature rows already in memory, plus the person's pick/reject flags.

What wins, per group (the person's own judgement always before any prediction):

1. a photo the person flagged *pick* (several: the one with more stars, then the better combined score);
2. else a photo the person gave stars (the most stars; ``cull.choose``);
3. else the best combined score — taste (their profile, or the generic model) plus technical quality, each
   standardized over the library — among the photos they did not reject (flag *reject*, or ``xmp:Rating -1``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.errors import InvalidParameterError
from piaa.profiles.cull import CullSettings, choose, group_indices
from piaa.profiles.cull_checks import GroupVerdict


@dataclass
class Burst:
    members: List[int]            # row indices, in capture order
    pick: int                     # row index of the suggested pick
    reason: str                   # "your pick" | "your own 4★" | "best score" | ...
    combined: List[Optional[float]]   # combined score of each member (same order), None when not scored
    reasons: List[List[str]] = field(default_factory=list)   # why each member (same order) is not the pick


def own_values(stars: Sequence[Optional[float]], flags: Sequence[Optional[str]]) -> List[Optional[float]]:
    """``cull.choose``'s view of the person: stars where given, ``-1`` for a photo flagged *reject*."""
    out: List[Optional[float]] = []
    for s, f in zip(stars, flags):
        out.append(-1.0 if f == "reject" else (float(s) if s is not None and s > 0 else None))
    return out


def groups_of(features: np.ndarray, times: Sequence[Optional[datetime]], settings: Optional[CullSettings] = None,
              min_size: int = 2) -> List[List[int]]:
    """``cull``'s groups of at least ``min_size`` photos (they depend on the photos only: callers may keep them)."""
    if len(times) != len(features):
        raise InvalidParameterError("features and times must describe the same photos")
    return [g for g in group_indices(features, times, settings or CullSettings()) if len(g) >= min_size]


def suggest(features: np.ndarray, times: Sequence[Optional[datetime]], taste: np.ndarray,
            quality: Optional[np.ndarray], stars: Sequence[Optional[float]], flags: Sequence[Optional[str]],
            settings: Optional[CullSettings] = None, min_size: int = 2,
            groups: Optional[List[List[int]]] = None,
            verdicts: Optional[Dict[int, GroupVerdict]] = None) -> List[Burst]:
    """Groups of at least ``min_size`` photos (in the order of their first capture) with a suggested pick;
    ``groups``: those of :func:`groups_of`, when already known; ``verdicts``: the checks at 100 % of those
    groups (:func:`piaa.profiles.cull.check_groups` on the photos' paths, keyed by the index in ``groups``),
    which also give each member its reasons."""
    s = settings or CullSettings()
    n = len(features)
    if not (len(times) == len(taste) == len(stars) == len(flags) == n) or (quality is not None and len(quality) != n):
        raise InvalidParameterError("features, times, taste, quality, stars and flags must describe the same photos")
    groups = groups if groups is not None else groups_of(features, times, s, min_size)
    own = own_values(stars, flags)
    combined, chosen = choose(groups, np.asarray(taste, float), None if quality is None else np.asarray(quality, float),
                              own, s.quality_weight, verdicts)
    out = []
    for g in chosen:
        picked = [i for i in g.members if flags[i] == "pick"]
        pick, reason = g.pick, g.reason
        if picked:
            pick = max(picked, key=lambda i: (own[i] if own[i] is not None else 0.0,
                                              combined[i] if np.isfinite(combined[i]) else -np.inf))
            reason = "your pick"
        why = dict(g.reasons)
        if pick != g.pick:   # the person's flag moved the pick: the checks' pick is now the one set aside
            why.pop(pick, None)
            why.setdefault(g.pick, ["you flagged another frame as your pick"])
        out.append(Burst(list(g.members), int(pick), reason,
                         [round(float(combined[i]), 4) if np.isfinite(combined[i]) else None for i in g.members],
                         [list(why.get(i, [])) for i in g.members]))
    return out


__all__ = ["Burst", "groups_of", "suggest", "own_values"]
