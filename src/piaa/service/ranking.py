"""The library as one person sees it: every analysed photo scored for them, filtered, ordered and paged —
what ``GET /api/ranking`` answers, kept out of the route so the route only reads the query.

The taste order is :func:`piaa.profiles.ranking.best_first` (the order ``piaa rank`` uses): the person's own
stars where they gave them, else the prediction; photos with the same stars by the prediction, then by name.
Predicted stars are :func:`piaa.profiles.ranking.quantile_stars` of the prediction over the whole library.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from piaa.profiles.ranking import best_first, quantile_stars
from piaa.service import marking, personal, photo_facts, queries

ORDERS = {"taste": "your taste (best first)", "quality": "technical quality (best first)",
          "date": "capture time (oldest first; photos without one last)", "name": "name"}


@dataclass(frozen=True)
class Filters:
    """Which photos to show: at least ``min_stars`` (own stars where given, predicted ones elsewhere), one
    ``flag`` ("pick", "reject", "none" = unflagged), below one ``folder`` (as photo names show it); without the
    photos the person rejected (``hide_rejects``)."""
    min_stars: Optional[int] = None
    flag: Optional[str] = None
    folder: Optional[str] = None
    hide_rejects: bool = False


@dataclass
class LibraryView:
    """Every analysed photo (the rows of ``library.matrix()``) as the person sees it."""
    sc: personal.Scores
    ids: np.ndarray
    score: np.ndarray             # own stars where used, else the prediction (1-5)
    use: np.ndarray               # True where ``score`` is the person's own stars
    stars: np.ndarray             # predicted stars (quintile of the prediction)
    mine: Dict[int, float]
    marks: Dict[int, tuple]       # id -> (flag, label)
    names: List[str]
    name_ranks: np.ndarray        # each row's place in name order
    quality: Optional[np.ndarray]
    user: int = 0
    _flags: Optional[list] = None

    @property
    def basis(self) -> str:
        return "profile" if self.sc.profile is not None else ("library" if self.sc.library is not None else "generic")

    def flag(self, k: int) -> Optional[str]:
        return self.marks.get(int(self.ids[k]), (None, None))[0]

    @property
    def flags(self) -> list:
        """Every row's flag (None, "pick", "reject"), listed once per request."""
        if self._flags is None:
            none = (None, None)
            self._flags = [self.marks.get(i, none)[0] for i in self.ids.tolist()] if self.marks else \
                [None] * len(self.ids)
        return self._flags


def view(state, user_id: int, use_ratings: bool = True) -> LibraryView:
    sc = personal.scores(state, user_id)
    ids, pred = sc.ids, sc.score
    mine = queries.own_ratings(state.db, user_id) if len(ids) else {}
    own = np.array([mine.get(i, np.nan) for i in ids.tolist()], dtype=float) if mine else np.full(len(ids), np.nan)
    use = np.isfinite(own) if use_ratings else np.zeros(len(ids), dtype=bool)
    return LibraryView(sc, ids, np.where(use, own, pred), use, quantile_stars(pred), mine,
                       marking.marks_of(state.db, user_id), photo_facts.names(state), photo_facts.name_ranks(state),
                       photo_facts.quality(state), user_id)


def matches(v: LibraryView, f: Filters) -> np.ndarray:
    """Boolean mask over the view's rows."""
    keep = np.ones(len(v.ids), dtype=bool)
    if f.min_stars is not None:
        keep &= np.where(v.use, v.score, v.stars) >= f.min_stars
    if f.flag is not None or f.hide_rejects:
        flags = v.flags
        if f.flag is not None:
            keep &= np.array([(x is None) if f.flag == "none" else (x == f.flag) for x in flags], dtype=bool)
        if f.hide_rejects:
            keep &= np.array([x != "reject" for x in flags], dtype=bool)
    if f.folder is not None:
        prefix = f.folder.strip("/") + "/"
        keep &= np.array([n.startswith(prefix) for n in v.names], dtype=bool)
    return keep


def ordered(state, v: LibraryView, order: str) -> np.ndarray:
    """Row indices in the asked order (``ORDERS``)."""
    if order == "quality" and v.quality is not None:
        return best_first(v.quality, tie=v.score, names=v.name_ranks)
    if order == "date":
        t = photo_facts.capture_seconds(state)
        return np.lexsort((v.name_ranks, np.where(np.isfinite(t), t, 0.0), ~np.isfinite(t)))
    if order == "name":
        return np.argsort(v.name_ranks, kind="stable")
    return best_first(v.score, tie=v.sc.score, names=v.name_ranks)


def suggested(state, v: LibraryView, groups, times) -> list:
    """:func:`piaa.profiles.bursts.suggest` for this person — every group with its pick and reasons — kept
    until what it depends on changes (their scores, stars or flags, technical quality, the groups): the library
    page and the Cull view ask for it on every page. The checks at 100 % count once published
    (:mod:`piaa.service.cull_checks`): a frame with closed eyes, a soft subject or motion blur is then not the
    pick while another frame passes, unless the person's own stars or flags choose it."""
    from piaa.profiles.bursts import suggest

    h = hashlib.blake2b(np.ascontiguousarray(v.sc.score, dtype=np.float64).tobytes(), digest_size=16)
    h.update(repr(sorted(v.mine.items())).encode())
    h.update(repr(sorted((i, m[0]) for i, m in v.marks.items() if m[0])).encode())
    if v.quality is not None:
        h.update(np.ascontiguousarray(v.quality, dtype=np.float64).tobytes())
    generation, verdicts = state.checks.for_groups(groups)
    h.update(f"checks {generation}".encode())
    key = h.hexdigest()
    got = state.facts.picks.get(v.user)
    if got is not None and got[0] is groups and got[1] == key:
        return got[2]
    own = [v.mine.get(i) for i in v.ids.tolist()]
    out = suggest(v.sc.X, times, v.sc.score, v.quality, own, v.flags, groups=groups, verdicts=verdicts)
    state.facts.picks[v.user] = (groups, key, out)
    return out


def stacked(state, v: LibraryView, rows: List[int],
            why: Optional[Dict[int, List[str]]] = None) -> Optional[List[List[int]]]:
    """``rows`` (matching, in order) as stacks: each burst or near-duplicate group one entry, at the place of
    its first frame, its pick first (the person's pick, else their best stars, else the best taste + quality
    — :func:`piaa.profiles.bursts.suggest`) when the pick matches, then the other matching frames in order.
    None while the library's groups are not known yet (they are computed after each scan). ``why`` (when given)
    gets each grouped row's reasons for not being the pick."""
    groups = photo_facts.cached(state, "groups")
    times = photo_facts.cached(state, "row_times")
    if groups is None or times is None:
        return None
    bursts = suggested(state, v, groups, times[0])
    picks = [b.pick for b in bursts]
    if why is not None:
        for b in bursts:
            why.update((k, r) for k, r in zip(b.members, b.reasons) if r)
    group_of = photo_facts.group_of(state)
    out: List[List[int]] = []
    where: Dict[int, int] = {}
    matching = set(rows)
    for k in rows:
        gi = int(group_of[k])
        if gi < 0:
            out.append([k])
        elif gi in where:
            if k != out[where[gi]][0]:
                out[where[gi]].append(k)
        else:
            where[gi] = len(out)
            top = picks[gi] if picks[gi] in matching else k
            out.append([top] + ([k] if k != top else []))
    return out


def record(state, v: LibraryView, k: int, taken) -> dict:
    """One photo of the answer (``RankedImage``)."""
    i = int(v.ids[k])
    f, lab = v.marks.get(i, (None, None))
    return {"id": i, "name": v.names[k], "score": round(float(v.score[k]), 4),
            "source": "rating" if v.use[k] else v.basis, "predicted": round(float(v.sc.score[k]), 4),
            "stars": int(v.stars[k]), "rating": v.mine.get(i), "generic": round(float(v.sc.generic_stars[k]), 4),
            "quality": None if v.quality is None else round(float(v.quality[k]), 4),
            "taken": taken.isoformat() if taken else None, "flag": f, "label": lab}


def rank(state, user_id: int, order: str = "taste", filters: Filters = Filters(), use_ratings: bool = True,
         offset: int = 0, limit: int = 100, stack: bool = False) -> dict:
    """The ``Ranking`` answer: one page of the filtered, ordered library and what it is based on; with
    ``stack``, bursts and near-duplicates as one entry each (see :func:`stacked`)."""
    v = view(state, user_id, use_ratings)
    if order == "quality" and v.quality is None:          # no quality model installed: taste it is
        order = "taste"
    keep = matches(v, filters)
    chosen = [int(k) for k in ordered(state, v, order) if keep[k]]
    why: Dict[int, List[str]] = {}
    stacks = stacked(state, v, chosen, why) if stack else None
    entries = stacks if stacks is not None else [[k] for k in chosen]
    shown = entries[offset:offset + limit]
    page = [e[0] for e in shown]
    taken = photo_facts.capture_times(state, [int(v.ids[k]) for k in page])
    prof = None
    if v.sc.profile is not None:
        m = v.sc.profile.meta
        prof = {"n_ratings": m["n_ratings"], "n_comparisons": m["n_comparisons"],
                "created": v.sc.profile.created.isoformat()}
    lt = v.sc.library
    images = []
    for e in shown:
        rec = record(state, v, e[0], taken[int(v.ids[e[0]])])
        if len(e) > 1:
            rec["stack"] = [{"id": int(v.ids[k]), "name": v.names[k], "reasons": why.get(k)} for k in e]
        images.append(rec)
    return {"images": images, "total": len(entries), "photos": len(chosen), "stacked": stacks is not None,
            "offset": offset, "limit": limit, "basis": v.basis, "profile": prof, "order": ORDERS[order],
            "unscored": len(state.library.ids()) - len(v.ids),
            "library_taste": None if lt is None else {"people": lt.people, "ratings": lt.ratings},
            "folders": [{"name": n, "photos": c} for n, c in photo_facts.folders(state)],
            "checks": state.checks.word(photo_facts.cached(state, "groups"))}
