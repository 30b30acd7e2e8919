"""The caller's taste: ``/api/profile`` (fit, read, delete), ``/api/ranking``, ``/api/suggestions``, "why".

The profile logic is :mod:`piaa.profiles.core`, reached through :mod:`piaa.service.personal`.
"""
from __future__ import annotations

import logging
import secrets
from typing import List, Literal, Optional

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Response

from piaa.profiles import core
from piaa.service import marking, personal, photo_facts, queries
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import Auth, ServiceState, State
from piaa.service.errors import AUTH, responses
from piaa.service.routes.library import ImageId, known
from piaa.service.schemas import MAX_ID, ProfileOut, Ranking, Suggestions, Why

router = APIRouter(route_class=StrictJSONRoute, tags=["profile"])
log = logging.getLogger("piaa.serve")


@router.post("/profile", response_model=ProfileOut, responses=responses(*AUTH, 409))
def fit_profile(caller: Auth, state: State):
    """Fit the caller's profile on all their ratings and comparisons; returns method, counts and the
    self-assessment. 409 below the minimum (10 ratings + comparisons, not all equal stars): the request is
    well formed, the caller's stored data is not enough yet."""
    try:
        return personal.fit(state, caller.id)
    except core.NotEnoughRatings as exc:
        raise HTTPException(409, str(exc)) from None


@router.get("/profile", response_model=ProfileOut, responses=responses(*AUTH, 404))
def get_profile(caller: Auth, state: State):
    head = queries.profile_head(state.db, caller.id)
    if head is None:
        raise HTTPException(404, "you have no profile yet: rate photos, then POST /api/profile")
    return personal.record(head[2], head[3])


@router.delete("/profile", status_code=204, response_class=Response, responses=responses(*AUTH, 404))
def delete_profile(caller: Auth, state: State):
    n = queries.delete_profile(state.db, caller.id)
    state.profiles.pop(caller.id, None)
    if not n:
        raise HTTPException(404, "you have no profile")
    return Response(status_code=204)


ORDERS = {"taste": "your taste (best first)", "quality": "technical quality (best first)",
          "date": "capture time (oldest first; photos without one last)", "name": "name"}


@router.get("/ranking", response_model=Ranking, responses=responses(*AUTH, 422))
def ranking(caller: Auth, state: State, limit: int = Query(100, ge=1, le=100000),
            offset: int = Query(0, ge=0, le=MAX_ID, description="skip this many photos (paging)"),
            use_ratings: bool = Query(True, description="rank the photos you rated by your own stars"),
            order: Literal["taste", "quality", "date", "name"] = Query(
                "taste", description="; ".join(f"{k}: {v}" for k, v in ORDERS.items())),
            min_stars: Optional[int] = Query(None, ge=1, le=5, description="only photos with at least N stars: "
                                             "your own where you gave them, the predicted ones elsewhere"),
            flag: Optional[Literal["pick", "reject", "none"]] = Query(
                None, description="only your picks, your rejects, or the photos you did not flag"),
            folder: Optional[str] = Query(None, min_length=1, max_length=1000,
                                          description="only photos below this folder (as their name shows it)")):
    """Photos best first by the caller's taste: their own stars for the photos they rated (``use_ratings=false``:
    predictions only), the profile's prediction for the rest (before there is a profile: the library's taste —
    what the members who share their ratings liked, with the caller's own ratings folded in — when the server
    has one, else the generic model's). ``library_taste`` says how many people taught the library model the
    ranking starts from (null when it starts from the generic model).
    ``score`` is on the 1-5 rating scale; ``predicted`` is the model's score, ``stars`` the predicted stars (score
    quintile within the library), ``rating`` the caller's own, ``source`` what ``score`` is; ``quality`` the
    technical-quality model's score, ``taken`` the capture time, ``flag`` / ``label`` the caller's marks.
    Filtered by ``min_stars``, ``flag``, ``folder``, ordered by ``order``, paged by ``offset`` / ``limit``;
    ``total`` counts the photos that match."""
    from piaa.profiles.ranking import quantile_stars

    sc = personal.scores(state, caller.id)
    ids, pred = sc.ids, sc.score
    mine = queries.own_ratings(state.db, caller.id) if len(ids) else {}
    marks = marking.marks_of(state.db, caller.id)
    lib = state.library
    stars = quantile_stars(pred)
    own = np.array([mine.get(int(i), np.nan) for i in ids], dtype=float)
    use = np.isfinite(own) if use_ratings else np.zeros(len(ids), dtype=bool)
    score = np.where(use, own, pred)
    names = [lib.name(int(i)) for i in ids]
    flags = [marks.get(int(i), (None, None))[0] for i in ids]
    keep = np.ones(len(ids), dtype=bool)
    if min_stars is not None:
        keep &= np.where(use, own, stars) >= min_stars
    if flag is not None:
        keep &= np.array([(f is None) if flag == "none" else (f == flag) for f in flags], dtype=bool)
    if folder is not None:
        prefix = folder.strip("/") + "/"
        keep &= np.array([n.startswith(prefix) for n in names], dtype=bool)
    q = photo_facts.quality(state)
    by_taste = np.lexsort((ids, -pred, -score))
    if order == "quality" and q is not None:
        idx = np.lexsort((ids, -score, -np.where(np.isfinite(q), q, -np.inf)))
    elif order == "date":
        times = photo_facts.capture_times(state, [int(i) for i in ids])
        idx = sorted(range(len(ids)), key=lambda k: (times[int(ids[k])] is None, times[int(ids[k])] or 0, names[k]))
    elif order == "name":
        idx = sorted(range(len(ids)), key=lambda k: (names[k], int(ids[k])))
    else:
        idx = by_taste
    chosen = [int(k) for k in idx if keep[k]]
    page = chosen[offset:offset + limit]
    taken = photo_facts.capture_times(state, [int(ids[k]) for k in page])
    basis = "profile" if sc.profile is not None else ("library" if sc.library is not None else "generic")
    out = []
    for k in page:
        i = int(ids[k])
        t = taken[i]
        f, lab = marks.get(i, (None, None))
        out.append({"id": i, "name": names[k], "score": round(float(score[k]), 4),
                    "source": "rating" if use[k] else basis, "predicted": round(float(pred[k]), 4),
                    "stars": int(stars[k]), "rating": mine.get(i), "generic": round(float(sc.generic_stars[k]), 4),
                    "quality": None if q is None else round(float(q[k]), 4), "taken": t.isoformat() if t else None,
                    "flag": f, "label": lab})
    prof = None
    if sc.profile is not None:
        m = sc.profile.meta
        prof = {"n_ratings": m["n_ratings"], "n_comparisons": m["n_comparisons"],
                "created": sc.profile.created.isoformat()}
    taught = None if sc.library is None else {"people": sc.library.people, "ratings": sc.library.ratings}
    return {"images": out, "total": len(chosen), "offset": offset, "limit": limit, "basis": basis, "profile": prof,
            "unscored": len(lib.ids()) - len(ids), "library_taste": taught}


def _selector(state: ServiceState):
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
    with state.lock:
        cached = state.selector
        if cached is None or cached[0] is not mat:
            ids, X, g = mat
            try:
                cached = (mat, ids, ActiveSelector(X, None, g) if len(ids) >= 2 else None)
            except Exception:
                log.exception("active-learning selector could not be built; suggestions are random")
                cached = (mat, ids, None)
            state.selector = cached
    return None if cached[2] is None else (cached[1], cached[2])


def _active(state: ServiceState, mine, choose):
    """``choose(selector, rated rows, their stars or None)`` -> (photo ids, strategy) with the active-learning
    selector, or None (no selector, or it failed: a suggestion must never fail the request; the log says why)."""
    sel = _selector(state)
    if sel is None:
        return None
    ids, selector = sel
    row = {int(i): k for k, i in enumerate(ids)}
    rated = [(row[i], r) for i, r in mine.items() if i in row]
    try:
        picks, strategy = choose(selector, [k for k, _ in rated], [r for _, r in rated] if rated else None)
    except Exception:
        log.exception("active-learning selection failed, choosing at random")
        return None
    return [int(ids[k]) for k in picks], strategy


def _random_unrated(state: ServiceState, mine, n: int):
    lib = state.library
    pool = [i for i in lib.ids() if i not in mine and lib.error(i) is None]
    if not pool:
        return []
    rng = np.random.default_rng(secrets.randbits(64))
    return [int(i) for i in rng.choice(pool, size=min(n, len(pool)), replace=False)]


@router.get("/suggestions", response_model=Suggestions, responses=responses(*AUTH, 422))
def suggestions(caller: Auth, state: State, n: int = Query(10, ge=1, le=200)):
    """Photos the caller has not rated, chosen to teach the profile most: with a library model, the photos
    whose stars teach the caller's fold-in into it most (``strategy`` "library"); else the active-learning
    selector when installed and the photos are analysed; random otherwise — ``strategy`` says which."""
    lib = state.library
    mine = queries.own_ratings(state.db, caller.id)
    chosen = personal.library_suggestions(state, caller.id, n)     # the model the caller's ratings teach
    if chosen:
        return {"images": [{"id": i, "name": lib.name(i)} for i in chosen], "strategy": "library"}
    act = _active(state, mine, lambda sel, rows, stars: (
        sel.select(rows, stars, n), f"active ({getattr(sel, 'strategy', 'default')})"))
    if act is not None:
        out = [i for i in act[0] if i not in mine]
        if out or not act[0]:
            return {"images": [{"id": i, "name": lib.name(i)} for i in out], "strategy": act[1]}
    return {"images": [{"id": i, "name": lib.name(i)} for i in _random_unrated(state, mine, n)], "strategy": "random"}


SKIP_PATTERN = r"^(\d{1,12}-\d{1,12}(,\d{1,12}-\d{1,12})*)?$"


def _skipped(skip: str) -> set:
    """``"3-7,9-12"`` (validated by ``SKIP_PATTERN``) -> {frozenset({3, 7}), frozenset({9, 12})}; a photo paired
    with itself names no pair and is ignored."""
    out = set()
    for part in filter(None, skip.split(",")):
        a, _, b = part.partition("-")
        if int(a) != int(b):
            out.add(frozenset((int(a), int(b))))
    return out


@router.get("/suggestions/pair", response_model=Suggestions, responses=responses(*AUTH, 409, 422))
def suggest_pair(caller: Auth, state: State,
                 skip: str = Query("", max_length=2000, pattern=SKIP_PATTERN,
                                   description="pairs to leave out this time, '3-7,9-12' (the page's ↓ skip)")):
    """Two photos to compare ("which do you prefer?"): the pair whose answer teaches the profile most (the
    active-learning selector when installed and the photos are analysed; it learns from the caller's stars and
    comparisons), else two random unrated photos (any two when fewer than two are unrated). A pair the caller
    has already compared (or asks to ``skip``) is never offered; 409 when no such pair is left (or the library
    has fewer than two photos)."""
    lib = state.library
    mine, comps = queries.own_ratings(state.db, caller.id), queries.judgements(state.db, caller.id)[1]
    skipped = _skipped(skip)
    compared = {frozenset(c) for c in comps} | skipped
    sel = _selector(state)
    if sel is not None:
        row = {int(i): k for k, i in enumerate(sel[0])}
        pairs = [(row[b], row[w]) for b, w in comps if b in row and w in row]
        avoid = [tuple(row[i] for i in p) for p in skipped if all(i in row for i in p)]
        act = _active(state, mine, lambda s, rows, stars: (
            list(s.select_pair(rows, stars, pairs=pairs, avoid=avoid)), "active"))
        if act is not None:
            return {"images": [{"id": i, "name": lib.name(i)} for i in act[0]], "strategy": act[1]}
    pair = _random_pair(state, mine, compared)
    if pair is None:
        raise HTTPException(409, "no pair of photos left to compare" if compared else
                            "fewer than two photos to compare")
    return {"images": [{"id": i, "name": lib.name(i)} for i in pair], "strategy": "random"}


def _random_pair(state: ServiceState, mine, compared) -> Optional[List[int]]:
    """Two photos not yet compared with each other, unrated ones first; None when there is no such pair."""
    lib = state.library
    good = [i for i in lib.ids() if lib.error(i) is None]
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


def _stars(r: float) -> str:
    return "★" * int(round(r)) + f" {r:g}" if r != round(r) else "★" * int(r)


@router.get("/images/{image_id}/why", response_model=Why, responses=responses(*AUTH, 404, 422))
def why(caller: Auth, state: State, image_id: int = ImageId, n: int = Query(5, ge=1, le=20)):
    """The caller's own rated photos most like this one, with their stars, and the scores."""
    known(state, image_id)
    sc = personal.scores(state, caller.id)
    pos = np.flatnonzero(sc.ids == image_id)
    if not len(pos):
        raise HTTPException(422, f"photo {image_id} has no features: {state.library.error(image_id) or 'pending'}")
    k = int(pos[0])
    mine = queries.own_ratings(state.db, caller.id)
    lib = state.library
    similar = [{"id": i, "name": lib.name(i), "rating": mine[i], "similarity": round(s, 3), "weak": weak}
               for i, s, weak in personal.similar(state, sc, image_id, mine, n)]
    return {"image": image_id, "name": lib.name(image_id), "score": round(float(sc.score[k]), 4),
            "generic": round(float(sc.generic_stars[k]), 4), "rating": mine.get(image_id), "similar": similar,
            "explanation": explain_text(sc.profile is not None, float(sc.score[k]), float(sc.generic_stars[k]),
                                        mine.get(image_id), similar)}


def explain_text(has_profile: bool, score: float, generic: float, own: Optional[float], similar: list) -> str:
    """The "why" in words: the caller's own stars first (the ranking places a photo they rated by them), then
    the model's scores, then the look-alikes, weak ones said to be weak."""
    text = ""
    if own is not None:
        text = (f"You rated it {_stars(own)}: your own stars place it in your ranking, whatever the model says. "
                f"For a photo like it that you have not rated, ")
        text += (f"your profile would give {score:.1f} of 5 (the general model {generic:.1f})." if has_profile else
                 f"the general model gives {generic:.1f} of 5.")
    elif not has_profile:
        text = (f"No profile yet: this is the general model's score, {generic:.1f} of 5. Rate photos and build a "
                f"profile to see your own.")
    else:
        delta = score - generic
        direction = "up" if delta > 0.05 else ("down" if delta < -0.05 else "hardly")
        text = (f"Your profile gives it {score:.1f} of 5; the general model {generic:.1f}. Your taste "
                f"moves it {direction}" + (f" by {abs(delta):.1f}" if direction != "hardly" else "") + ".")
    strong = [s for s in similar if not s["weak"]][:3]
    weak = [s for s in similar if s["weak"]][:3 - len(strong)] if len(strong) < 3 else []
    if strong:
        text += " It looks most like these photos you rated: " + ", ".join(
            f"{s['name']} ({_stars(s['rating'])})" for s in strong) + "."
    if weak:
        text += (" " + ("Less alike" if strong else "None of the photos you rated looks much like it; the nearest")
                 + " (a weak likeness): " + ", ".join(f"{s['name']} ({_stars(s['rating'])})" for s in weak) + ".")
    return text
