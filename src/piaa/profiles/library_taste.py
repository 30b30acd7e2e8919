"""The library model of the profile core: the taste of the people who share their ratings of one library.

A shared library (a family, a photo club, a shop's catalogue) knows more about a newcomer than their first
hundred ratings do: how the others rated the same photos (BENCHMARKS.md "Learning from everyone").
:func:`fit_library_taste` builds the evaluated ``community`` method's model over the library's feature rows from
the members' star ratings (:class:`piaa.personalize.community.LibraryCommunity`: one code path for ``piaa
evaluate`` and ``piaa serve``): the members' means shrunk towards a ridge content head on the features, the
factors of their deviations plus the taste prior's feature kernel refitted on them, and the fold-in's settings
chosen on the members for each number of ratings a person has. Every member's ranking starts from it
(:meth:`LibraryTaste.scores`: at zero ratings the library's baseline; with ratings, the person's fold-in), and a
profile fitted on top of it learns the person's correction to the library's baseline.

The CLI (``piaa train beauty``) and the service (``piaa serve``'s background refit) both call this module; the
service only fetches ratings by photo id and hands them here.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from piaa.personalize.community import LibraryCommunity

#: Fewest people with ratings before a library model is used (one person is a profile, not a community).
MIN_PEOPLE = 2
#: Fewest ratings a member needs to count as one of the library's teachers.
MIN_MEMBER_RATINGS = 3
#: Support size whose fold-in settings are chosen on the members themselves (the service's first suggestions).
SEARCH_SHOTS = 10


@dataclass
class LibraryTaste:
    """A fitted library model over photo ids ``ids`` (star scale). ``people``: members who taught it;
    ``ratings``: their ratings; ``seconds``: the fit's wall time. ``community``: the
    :class:`~piaa.personalize.community.LibraryCommunity` — the evaluated ``community`` method's model, with
    the fold-in's settings chosen per number of the person's ratings."""

    ids: np.ndarray
    community: LibraryCommunity
    people: int
    ratings: int
    seconds: float
    fitted_at: float

    def __post_init__(self):
        self._row = {int(i): k for k, i in enumerate(self.ids)}

    @property
    def model(self):
        """The community model (its ``baseline``: the zero-rating scores of every row)."""
        return self.community.model

    def rows_of(self, photo_ids) -> Tuple[np.ndarray, np.ndarray]:
        """(rows, mask of the ids the model knows) for photo ids."""
        rows = np.array([self._row.get(int(i), -1) for i in photo_ids], dtype=int)
        return rows, rows >= 0

    def baseline(self, photo_ids) -> np.ndarray:
        """The library's zero-rating scores (stars) of photo ids; NaN for photos it does not know."""
        rows, ok = self.rows_of(photo_ids)
        out = np.full(len(rows), np.nan)
        out[ok] = self.community.baseline[rows[ok]]
        return out

    def scores(self, photo_ids, rated: Dict[int, float]) -> np.ndarray:
        """A person's scores (stars) of ``photo_ids``: the library's baseline with their own ``rated``
        (photo id -> stars) folded in, with the settings chosen for that many ratings; NaN for photos the model
        does not know."""
        rows, ok = self.rows_of(photo_ids)
        items = [(self._row[int(i)], float(r)) for i, r in rated.items() if int(i) in self._row]
        out = np.full(len(rows), np.nan)
        if ok.any():
            out[ok] = self.community.predict([k for k, _ in items], [r for _, r in items], rows[ok])
        return out

    def suggest(self, rated: Dict[int, float], pool, n: int) -> list:
        """Up to ``n`` photo ids of ``pool`` to ask a person who rated ``rated`` next: those whose stars teach
        their fold-in most (:meth:`LibraryCommunity.suggest`; on AVT-AI newcomers, 10 of them gain +0.013 SROCC
        over zero ratings where 10 random ones gain +0.005, BENCHMARKS.md)."""
        rows = [self._row[int(i)] for i in rated if int(i) in self._row]
        cand = [self._row[int(i)] for i in pool if int(i) in self._row]
        return [int(self.ids[k]) for k in self.community.suggest(rows, cand, n)]

    def describe(self) -> Dict:
        """What ``GET /api/me`` shows; ``noise`` / ``content_weight``: the settings for a person with
        :data:`SEARCH_SHOTS` ratings (each person gets those of their own number of ratings)."""
        s = self.community.settings(SEARCH_SHOTS)
        return {"people": int(self.people), "ratings": int(self.ratings), "seconds": round(float(self.seconds), 3),
                "fitted_at": float(self.fitted_at), "noise": float(s["noise"]),
                "content_weight": float(s["content_weight"])}


def fit_library_taste(ids: Sequence[int], X: np.ndarray, ratings: Sequence[Tuple[object, int, float]],
                      seed: int = 0) -> Optional[LibraryTaste]:
    """The library model from ``ratings`` [(member, photo id, stars)] over the photos ``ids`` with feature rows
    ``X``; None when fewer than :data:`MIN_PEOPLE` members have rated at least :data:`MIN_MEMBER_RATINGS` of
    these photos. The model is the evaluated ``community`` method's (:class:`LibraryCommunity`: the members'
    means shrunk towards a ridge content head on the features, their deviations' factors, the fold-in's
    settings chosen on the members per number of ratings), so what ``piaa evaluate`` measures is what a
    newcomer gets. The generic model's score is not part of it: the members' own means teach the content head
    (the service's earlier base, the generic score, ranked AVT-AI newcomers no better; BENCHMARKS.md)."""
    t0 = time.perf_counter()
    ids = np.asarray(ids, dtype=np.int64)
    row = {int(i): k for k, i in enumerate(ids)}
    r = pd.DataFrame([(str(u), row[int(i)], float(s)) for u, i, s in ratings if int(i) in row],
                     columns=["user", "image", "score"])
    if r.empty:
        return None
    n = r.groupby("user")["image"].transform("size")
    r = r[n >= MIN_MEMBER_RATINGS]
    people = int(r["user"].nunique())
    if people < MIN_PEOPLE:
        return None
    community = LibraryCommunity(r, np.asarray(X, dtype=np.float64), len(ids), seed=seed)
    return LibraryTaste(ids=ids, community=community, people=people, ratings=int(len(r)),
                        seconds=time.perf_counter() - t0, fitted_at=time.time())
