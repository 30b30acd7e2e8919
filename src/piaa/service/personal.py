"""A person's profile in the service: their judgements from the database, the library's feature rows, and
:mod:`piaa.profiles.core` for everything else (fit, self-assessment, scale, similar photos, export).

This module only translates between photo ids (the database) and feature rows (the library's matrix); no
profile logic lives here. Profiles are kept on the star scale 1-5 (``core.STAR_SCALE``).

With the library model on (:mod:`piaa.service.community`, :mod:`piaa.profiles.library_taste`) everyone starts
from the library's taste instead of the generic model: a person's scores are the library's baseline with their
own stars folded in, and a profile is fitted as a correction to the library's baseline (its ``meta["base"]`` says
so). A profile that learned from comparisons too is scored with the then-current baseline as its offset (the
fold-in reads stars only); one of stars only is ranked by the fold-in, which already holds a feature-based
correction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from fastapi import HTTPException

from piaa.profiles import core
from piaa.service import queries
from piaa.service.deps import ServiceState

log = logging.getLogger("piaa.serve")


def method_of(state: ServiceState) -> str:
    """The personalization method new profiles are fitted with (``Settings.method``, else piaa's default)."""
    from piaa.profiles.profile import default_method, resolve_method

    return resolve_method(state.settings.method) if state.settings.method else default_method()


def wait_features(state: ServiceState) -> None:
    lib = state.library
    if not lib.wait_ready(state.settings.feature_wait):
        p = lib.progress
        raise HTTPException(503, f"photo features are still being computed ({p.done}/{p.total}); try again shortly",
                            headers={"Retry-After": "10"})


def record(meta: dict, created) -> dict:
    """The profile as the API shows it (``schemas.ProfileOut``)."""
    a = meta.get("assessment") or {}
    return {"method": meta["method"], "fit": meta.get("fit"), "n_ratings": meta["n_ratings"],
            "n_comparisons": meta["n_comparisons"], "created": created.isoformat() if created else None,
            "assessment": meta.get("assessment"), "summary": a.get("summary") or core.plain_words(None)}


def fit(state: ServiceState, user_id: int) -> dict:
    """Fit the caller's profile on all their ratings and comparisons, store it, return its record."""
    ratings, comps = queries.judgements(state.db, user_id)
    core.check_enough(len(ratings), len(comps), len({r for _, r in ratings}))
    wait_features(state)
    ids = sorted({i for i, _ in ratings} | {i for c in comps for i in c})
    ok, X, g = state.library.rows(ids)
    row = {i: k for k, i in enumerate(i for i, good in zip(ids, ok) if good)}
    rated = [(row[i], r) for i, r in ratings if i in row]
    pairs = [(row[b], row[w]) for b, w in comps if b in row and w in row]
    try:
        core.check_enough(len(rated), len(pairs), len({r for _, r in rated}))
    except core.NotEnoughRatings as exc:
        left = len(ratings) - len(rated) + len(comps) - len(pairs)
        raise core.NotEnoughRatings(f"{exc} ({left} of your judgements involve photos that cannot be read)") from None
    method = method_of(state)
    lt = library_model(state)
    base = None
    if lt is not None:  # the correction is learned on top of the library's taste, not the generic model's
        g, base = _library_offset(state, lt, [i for i, good in zip(ids, ok) if good], g), lt
    fitted = core.fit(method, X, g, [r for r, _ in rated], [v for _, v in rated], pairs,
                      scale=core.STAR_SCALE, model_scale=state.library.score_range)
    meta = {"method": method, "fit": fitted.fit, "n_ratings": fitted.n_ratings,
            "n_comparisons": fitted.n_comparisons, "model_scale": list(state.library.score_range),
            "scale": list(core.STAR_SCALE), "uses_offset": fitted.uses_offset, "assessment": fitted.assessment,
            "generic_model": state.library.scorer.name}
    if base is not None:
        meta.update({"base": "library", "library_people": base.people})
    pid, created = queries.save_profile(state.db, user_id, method, meta, core.estimator_to_bytes(fitted.estimator))
    state.profiles[user_id] = (pid, fitted.estimator)
    return record(meta, created)


def refit(state: ServiceState, user_id: int) -> None:
    """Refit the person's profile after their judgements changed — whichever view or client changed them (a
    rating given in the photo view left "profile from 14 ratings" with 16 given: only the Rate view refitted).
    Runs after the answer (a background task); only a profile that exists is refitted (the first one is fitted
    when asked, ``POST /api/profile``), one refit per person at a time, and a change made during a refit is
    picked up by one more. Too few ratings left, or features still being computed: the profile stays as it is."""
    with state.lock:
        if user_id in state.refitting:
            state.refit_again.add(user_id)
            return
        state.refitting.add(user_id)
    try:
        while True:
            try:
                if state.library.ready and queries.profile_head(state.db, user_id) is not None:
                    fit(state, user_id)
            except core.NotEnoughRatings:
                pass
            except Exception:  # a background refit must never fail a request; the log says why
                log.exception("refitting the profile of user %s failed", user_id)
            with state.lock:
                if user_id not in state.refit_again:
                    state.refitting.discard(user_id)
                    return
                state.refit_again.discard(user_id)
    except BaseException:
        with state.lock:
            state.refitting.discard(user_id)
        raise


@dataclass
class Loaded:
    id: int
    method: str
    meta: dict
    created: object
    estimator: object


def load(state: ServiceState, user_id: int) -> Optional[Loaded]:
    """The caller's stored profile with its estimator (of the stored method, decoded once), or None."""
    head = queries.profile_head(state.db, user_id)
    if head is None:
        return None
    pid, method, meta, created = head
    cached = state.profiles.get(user_id)
    if cached is not None and cached[0] == pid:
        return Loaded(pid, method, meta, created, cached[1])
    blob = queries.profile_state(state.db, pid)
    if blob is None:                         # replaced between the two reads: read again
        return load(state, user_id)
    est = core.estimator_from_bytes(method, blob)
    state.profiles[user_id] = (pid, est)
    return Loaded(pid, method, meta, created, est)


@dataclass
class Scores:
    ids: np.ndarray
    X: np.ndarray
    generic: np.ndarray          # model scale
    score: np.ndarray            # on the star scale: the profile's prediction, else the generic model's
    generic_stars: np.ndarray    # the generic score on the star scale
    profile: Optional[Loaded]
    library: Optional[object] = None   # the LibraryTaste the scores start from, when the library model is on


def library_model(state: ServiceState):
    """The current library model (``LibraryTaste``) or None (``--no-community``, or too few sharing members)."""
    keeper = getattr(state, "community", None)
    if keeper is None:
        return None
    keeper.ensure_fresh()
    return keeper.model


def library_suggestions(state: ServiceState, user_id: int, n: int) -> Optional[List[int]]:
    """Up to ``n`` unrated photos whose stars teach the caller's library-model ranking most, or None without a
    library model (then the active-learning selector chooses, as before)."""
    lt = library_model(state)
    if lt is None:
        return None
    lib = state.library
    mine = queries.own_ratings(state.db, user_id)
    pool = [i for i in lib.ids() if i not in mine and lib.error(i) is None]
    return lt.suggest(mine, pool, n)


def _library_offset(state: ServiceState, lt, photo_ids, generic: np.ndarray) -> np.ndarray:
    """The library's baseline of ``photo_ids`` on the generic model's scale (a profile's offset); the generic
    score where the library model does not know a photo."""
    base = core.map_scale(lt.baseline(photo_ids), core.STAR_SCALE, state.library.score_range)
    return np.where(np.isfinite(base), base, generic)


def scores(state: ServiceState, user_id: int) -> Scores:
    """Every photo with features, scored for the caller on the star scale (the core's ``to_person_scale``)."""
    wait_features(state)
    ids, X, g = state.library.matrix()
    prof = load(state, user_id)
    model_scale = state.library.score_range
    generic = core.to_person_scale(g, model_scale, core.STAR_SCALE)
    lt = library_model(state) if len(ids) else None
    if prof is None:
        if lt is None or not len(ids):
            return Scores(ids, X, g, generic, generic, prof)
        s = lt.scores(ids, queries.own_ratings(state.db, user_id))
        return Scores(ids, X, g, core.onto_scale(np.where(np.isfinite(s), s, generic), core.STAR_SCALE), generic,
                      prof, lt)
    if not len(ids):
        return Scores(ids, X, g, generic, generic, prof)
    on_library = lt is not None and prof.meta.get("base") == "library"
    if on_library and not prof.meta.get("n_comparisons"):
        # stars only: the library's fold-in of all the person's stars ranks better than the profile's correction
        # of the library's baseline (it holds the same feature-based correction, with the members' factors;
        # BENCHMARKS.md "Learning from everyone": +0.02 at 10 ratings); the profile stays for the assessment, the
        # export and a server without a library model
        s = lt.scores(ids, queries.own_ratings(state.db, user_id))
        return Scores(ids, X, g, core.onto_scale(np.where(np.isfinite(s), s, generic), core.STAR_SCALE), generic,
                      prof, lt)
    offset = _library_offset(state, lt, ids, g) if on_library else g
    pred = core.predict_rows(prof.estimator, X, offset)
    return Scores(ids, X, g, core.to_person_scale(pred, prof.meta.get("model_scale", model_scale),
                                                   prof.meta.get("scale", core.STAR_SCALE)), generic, prof,
                  lt if on_library else None)


def similar(state: ServiceState, sc: Scores, image_id: int, mine: dict, n: int) -> List[Tuple[int, float, bool]]:
    """(photo id, similarity, weak) of the caller's rated photos most like ``image_id``, best first; ``weak``:
    not among the library's photos most like it (``core.likeness_floor``)."""
    rows = np.array([j for j, i in enumerate(sc.ids) if int(i) in mine and int(i) != image_id], dtype=int)
    k = np.flatnonzero(sc.ids == image_id)
    if not len(rows) or not len(k):
        return []
    target = sc.X[int(k[0])]
    idx, sims = core.similar_rows(sc.X[rows], target, top=n)
    others = np.flatnonzero(sc.ids != image_id)
    floor = core.likeness_floor(sc.X[others], target)
    return [(int(sc.ids[rows[j]]), float(s), bool(s < floor)) for j, s in zip(idx, sims)]


def export_document(state: ServiceState, username: str, user_id: int) -> Optional[dict]:
    """The caller's profile as a ``piaa-profile`` document (photos by their names in the library)."""
    prof = load(state, user_id)
    if prof is None:
        return None
    ratings, comps = queries.judgements(state.db, user_id)
    lib = state.library
    m = prof.meta
    meta = {"version": 1, "source": "piaa serve", "notes": [m.get("fit") or ""],
            "uses_offset": bool(m.get("uses_offset", getattr(prof.estimator, "uses_offset", True))),
            "generic_model": m.get("generic_model"), "params": {}, "scale": m["scale"],
            "base": m.get("base", "generic"),
            "model_scale": m["model_scale"], "assessment": m.get("assessment")}
    created = prof.created.isoformat() if prof.created else None
    # photos by their name in the library (relative to its folder), never the server's absolute paths
    rated = [(lib.name(i) if lib.exists(i) else f"id:{i}", r, "piaa serve") for i, r in ratings]
    return core.export_document(username, prof.method, meta, prof.estimator.state_dict(), rated,
                                created=created, updated=created, comparisons=comps)
