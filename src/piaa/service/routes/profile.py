"""The caller's taste: ``/api/profile`` (fit, read, delete), ``/api/ranking``, ``/api/suggestions``, "why".

The profile logic is :mod:`piaa.profiles.core`, reached through :mod:`piaa.service.personal`; the ranking's
filters and orders are :mod:`piaa.service.ranking`, the choice of photos to rate :mod:`piaa.service.selection`.
"""
from __future__ import annotations

from typing import Literal, Optional

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Response

from piaa.profiles import core
from piaa.service import personal, queries, selection
from piaa.service import ranking as ranked
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, responses
from piaa.service.routes.library import ImageId, known
from piaa.service.schemas import MAX_ID, ProfileOut, Ranking, Suggestions, Why

router = APIRouter(route_class=StrictJSONRoute, tags=["profile"])


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


@router.get("/ranking", response_model=Ranking, responses=responses(*AUTH, 422))
def ranking(caller: Auth, state: State, limit: int = Query(100, ge=1, le=100000),
            offset: int = Query(0, ge=0, le=MAX_ID, description="skip this many photos (paging)"),
            use_ratings: bool = Query(True, description="rank the photos you rated by your own stars"),
            order: Literal["taste", "quality", "date", "name"] = Query(
                "taste", description="; ".join(f"{k}: {v}" for k, v in ranked.ORDERS.items())),
            min_stars: Optional[int] = Query(None, ge=1, le=5, description="only photos with at least N stars: "
                                             "your own where you gave them, the predicted ones elsewhere"),
            flag: Optional[Literal["pick", "reject", "none"]] = Query(
                None, description="only your picks, your rejects, or the photos you did not flag"),
            folder: Optional[str] = Query(None, min_length=1, max_length=1000,
                                          description="only photos below this folder (as their name shows it)"),
            hide_rejects: bool = Query(False, description="leave out the photos you rejected"),
            stack: bool = Query(False, description="show each burst or near-duplicate group as one photo (its "
                                                   "pick), with its other frames in `stack`")):
    """Photos best first by the caller's taste: their own stars for the photos they rated (``use_ratings=false``:
    predictions only), the profile's prediction for the rest (before there is a profile: the library's taste —
    what the members who share their ratings liked, with the caller's own ratings folded in — when the server
    has one, else the generic model's). ``library_taste`` says how many people taught the library model the
    ranking starts from (null when it starts from the generic model).
    ``score`` is on the 1-5 rating scale; ``predicted`` is the model's score, ``stars`` the predicted stars (score
    quintile within the library), ``rating`` the caller's own, ``source`` what ``score`` is; ``quality`` the
    technical-quality model's score, ``taken`` the capture time, ``flag`` / ``label`` the caller's marks.
    Filtered by ``min_stars``, ``flag``, ``folder``, ``hide_rejects``, ordered by ``order`` (``order`` in the
    answer says what it is in words), paged by ``offset`` / ``limit``; ``total`` counts the entries that match
    (stacks count once), ``photos`` the photos; ``folders`` lists the library's folders."""
    return ranked.rank(state, caller.id, order, ranked.Filters(min_stars, flag, folder, hide_rejects), use_ratings,
                       offset, limit, stack)


@router.get("/suggestions", response_model=Suggestions, responses=responses(*AUTH, 422))
def suggestions(caller: Auth, state: State, n: int = Query(10, ge=1, le=200)):
    """Photos the caller has not rated, chosen to teach the profile most: with a library model, the photos
    whose stars teach the caller's fold-in into it most (``strategy`` "library"); else the active-learning
    selector when installed and the photos are analysed; random otherwise — ``strategy`` says which."""
    lib = state.library
    mine = queries.own_ratings(state.db, caller.id)
    chosen = selection.offerable(state, personal.library_suggestions(state, caller.id, n))   # the model they teach
    if chosen:
        return {"images": [{"id": i, "name": lib.name(i)} for i in chosen], "strategy": "library"}
    act = selection.active(state, mine, lambda sel, rows, stars: (
        sel.select(rows, stars, n), f"active ({getattr(sel, 'strategy', 'default')})"))
    if act is not None:
        out = [i for i in act[0] if i not in mine]
        if out or not act[0]:
            return {"images": [{"id": i, "name": lib.name(i)} for i in out], "strategy": act[1]}
    chosen = selection.random_unrated(state, mine, n)
    return {"images": [{"id": i, "name": lib.name(i)} for i in chosen], "strategy": "random"}


@router.get("/suggestions/pair", response_model=Suggestions, responses=responses(*AUTH, 409, 422))
def suggest_pair(caller: Auth, state: State,
                 skip: str = Query("", max_length=2000, pattern=selection.SKIP_PATTERN,
                                   description="pairs to leave out this time, '3-7,9-12' (the page's ↓ skip)")):
    """Two photos to compare ("which do you prefer?"): the pair whose answer teaches the profile most (the
    active-learning selector when installed and the photos are analysed; it learns from the caller's stars and
    comparisons), else two random unrated photos (any two when fewer than two are unrated). A pair the caller
    has already compared (or asks to ``skip``) is never offered; 409 when no such pair is left (or the library
    has fewer than two photos)."""
    lib = state.library
    mine, comps = queries.own_ratings(state.db, caller.id), queries.judgements(state.db, caller.id)[1]
    skipped = selection.skipped(skip)
    compared = {frozenset(c) for c in comps} | skipped
    sel = selection.selector(state)
    if sel is not None:
        row = {int(i): k for k, i in enumerate(sel[0])}
        pairs = [(row[b], row[w]) for b, w in comps if b in row and w in row]
        avoid = [tuple(row[i] for i in p) for p in skipped if all(i in row for i in p)]
        act = selection.active(state, mine, lambda s, rows, stars: (
            list(s.select_pair(rows, stars, pairs=pairs, avoid=avoid)), "active"))
        if act is not None:
            return {"images": [{"id": i, "name": lib.name(i)} for i in act[0]], "strategy": act[1]}
    pair = selection.random_pair(state, mine, compared)
    if pair is None:
        raise HTTPException(409, "no pair of photos left to compare" if compared else
                            "fewer than two photos to compare")
    return {"images": [{"id": i, "name": lib.name(i)} for i in pair], "strategy": "random"}


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
