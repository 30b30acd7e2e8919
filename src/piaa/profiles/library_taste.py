"""The library model of the profile core: the taste of the people who share their ratings of one library.

A shared library (a family, a photo club, a shop's catalogue) knows more about a newcomer than their first
hundred ratings do: how the others rated the same photos (BENCHMARKS.md "Learning from everyone").
:func:`fit_library_taste` builds a :class:`piaa.personalize.community.CommunityTaste` over the library's
feature rows from the members' star ratings, on top of the default training data: the content score it shrinks
the community means towards is the generic model's score (trained on OASIS) plus a ridge correction fitted to
the members' means, and its content kernel is the shipped taste prior's feature kernel refitted on the members
who rated enough photos. Every member's ranking starts from it (:meth:`LibraryTaste.scores`: at zero ratings the
library's baseline; with ratings, the person's fold-in), and a profile fitted on top of it learns the person's
correction to the library's baseline (:meth:`LibraryTaste.offset`).

The CLI (``piaa train beauty``) and the service (``piaa serve``'s background refit) both call this module; the
service only fetches ratings by photo id and hands them here.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from piaa.personalize.community import CommunityTaste, SettingsSearch, fit_community

#: Fewest people with ratings before a library model is used (one person is a profile, not a community).
MIN_PEOPLE = 2
#: Fewest ratings a member needs to count as one of the library's teachers.
MIN_MEMBER_RATINGS = 3
#: Support size whose fold-in settings are chosen on the members themselves (the service's first suggestions).
SEARCH_SHOTS = 10


@dataclass
class LibraryTaste:
    """A fitted library model over photo ids ``ids`` (star scale). ``people``: members who taught it;
    ``ratings``: their ratings; ``seconds``: the fit's wall time; ``settings``: the fold-in's noise/content."""

    ids: np.ndarray
    model: CommunityTaste
    people: int
    ratings: int
    seconds: float
    fitted_at: float
    settings: Dict = field(default_factory=dict)

    def __post_init__(self):
        self._row = {int(i): k for k, i in enumerate(self.ids)}

    def rows_of(self, photo_ids) -> Tuple[np.ndarray, np.ndarray]:
        """(rows, mask of the ids the model knows) for photo ids."""
        rows = np.array([self._row.get(int(i), -1) for i in photo_ids], dtype=int)
        return rows, rows >= 0

    def baseline(self, photo_ids) -> np.ndarray:
        """The library's zero-rating scores (stars) of photo ids; NaN for photos it does not know."""
        rows, ok = self.rows_of(photo_ids)
        out = np.full(len(rows), np.nan)
        out[ok] = self.model.baseline[rows[ok]]
        return out

    def scores(self, photo_ids, rated: Dict[int, float]) -> np.ndarray:
        """A person's scores (stars) of ``photo_ids``: the library's baseline with their own ``rated``
        (photo id -> stars) folded in; NaN for photos the model does not know."""
        rows, ok = self.rows_of(photo_ids)
        items = [(self._row[int(i)], float(r)) for i, r in rated.items() if int(i) in self._row]
        out = np.full(len(rows), np.nan)
        if ok.any():
            out[ok] = self.model.predict([k for k, _ in items], [r for _, r in items], rows[ok])
        return out

    def describe(self) -> Dict:
        return {"people": int(self.people), "ratings": int(self.ratings), "seconds": round(float(self.seconds), 3),
                "fitted_at": float(self.fitted_at), **{k: v for k, v in self.settings.items() if k != "srocc"}}


def fit_library_taste(ids: Sequence[int], X: np.ndarray, generic: np.ndarray,
                      ratings: Sequence[Tuple[object, int, float]], search: bool = True,
                      shots: int = SEARCH_SHOTS) -> Optional[LibraryTaste]:
    """The library model from ``ratings`` [(member, photo id, stars)] over the photos ``ids`` with feature rows
    ``X`` and generic scores ``generic`` (on the star scale); None when fewer than :data:`MIN_PEOPLE` members have
    rated at least :data:`MIN_MEMBER_RATINGS` of these photos. ``search``: choose the fold-in's settings on the
    members (:class:`SettingsSearch`), else the defaults."""
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
    X = np.asarray(X, dtype=np.float64)
    g = np.asarray(generic, dtype=float)
    content = _content_on_generic(X, g, r, len(ids))
    model = fit_community(r, X, len(ids), content_scores=content, min_ratings=MIN_MEMBER_RATINGS)
    settings = {"noise": 3.0, "content_weight": 0.3}
    if search and people >= 6:
        found = SettingsSearch(r, X, len(ids), min_ratings=max(shots + 5, 15)).best(shots)
        if found.get("srocc") is not None:
            settings = {"noise": found["noise"], "content_weight": found["content_weight"], "srocc": found["srocc"]}
    model = model.with_settings(noise=settings["noise"], content_weight=settings["content_weight"])
    return LibraryTaste(ids=ids, model=model, people=people, ratings=int(len(r)),
                        seconds=time.perf_counter() - t0, fitted_at=time.time(), settings=settings)


def _content_on_generic(X: np.ndarray, g: np.ndarray, r: pd.DataFrame, n: int) -> np.ndarray:
    """The generic score (the default training data's view), calibrated to the members' means and corrected
    by a ridge head on the features fitted to what it gets wrong (strength by leave-one-out over photos)."""
    from piaa.personalize.community import content_head

    means = r.groupby("image")["score"].mean()
    counts = np.bincount(r["image"].to_numpy(), minlength=n).astype(float)
    mean = np.full(n, np.nan)
    mean[means.index.to_numpy()] = means.to_numpy()
    rated = counts > 0
    gg = np.where(np.isfinite(g), g, np.nanmean(g) if np.isfinite(g).any() else 0.0)
    if rated.sum() >= 3 and np.ptp(gg[rated]) > 0:
        b, a = np.polyfit(gg[rated], mean[rated], 1)
    else:
        b, a = 1.0, 0.0
    calibrated = a + b * gg
    resid = content_head(mean - calibrated, counts, X, None)
    return calibrated + np.where(np.isfinite(resid), resid, 0.0)
