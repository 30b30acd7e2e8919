"""The HTTP API of ``piaa serve`` (JSON; OpenAPI at ``/docs``).

Every route except health, signup, token and session needs the caller to be signed in and only ever reads or
changes the caller's own ratings, comparisons and profile; photos are addressed by database id.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import secrets
from datetime import datetime, timedelta, timezone
from typing import Annotated, Dict, List, Optional

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field, StrictInt
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from piaa.service import learn
from piaa.service.app import SESSION_COOKIE, Caller, ServiceState, client_key, current_user, no_content, svc
from piaa.service.db import Comparison, Rating, StoredProfile, Token, User, utcnow
from piaa.service.security import (SESSION_DAYS, check_password, check_username, csrf_for, hash_password,
                                   new_token, token_hash, verify_password)

router = APIRouter(prefix="/api")
log = logging.getLogger("piaa.serve")
Auth = Annotated[Caller, Depends(current_user)]
State = Annotated[ServiceState, Depends(svc)]


# ---- request bodies --------------------------------------------------------------------------------------------
class Credentials(BaseModel):
    username: str = Field(max_length=256)
    password: str = Field(max_length=4096)


class RatingIn(BaseModel):
    rating: Annotated[float, Field(strict=True, ge=1, le=5, allow_inf_nan=False,
                                   description="stars, 1 (worst) to 5 (best)")]


class ComparisonIn(BaseModel):
    better: StrictInt = Field(description="id of the photo preferred")
    worse: StrictInt = Field(description="id of the other photo")


class XmpIn(BaseModel):
    dry_run: bool = True


# ---- health, accounts, tokens ----------------------------------------------------------------------------------
@router.get("/health", tags=["service"])
def health(state: State):
    """Liveness, without authentication; ``signup`` says whether POST /api/signup is open."""
    from piaa import __version__

    return {"status": "ok", "version": __version__, "signup": state.settings.allow_signup}


@router.post("/signup", status_code=201, tags=["accounts"])
def signup(body: Credentials, state: State):
    if not state.settings.allow_signup:
        raise HTTPException(403, "sign-up is off on this server; ask its admin (piaa serve users add NAME)")
    try:
        name, pw = check_username(body.username), check_password(body.password)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    try:
        user = create_user(state, name, pw)
    except UserExists:
        raise HTTPException(409, f"the username {name!r} is taken") from None
    return {"id": user.id, "username": user.username}


class UserExists(ValueError):
    pass


def create_user(state_or_db, username: str, password: str) -> User:
    db = getattr(state_or_db, "db", state_or_db)
    user = User(username=username, username_key=username.lower(), password_hash=hash_password(password))
    try:
        with db.write() as s:
            if s.scalar(select(User.id).where(User.username_key == username.lower())) is not None:
                raise UserExists(username)
            s.add(user)
    except IntegrityError:
        raise UserExists(username) from None
    return user


def _authenticate(state: ServiceState, request: Request, body: Credentials) -> User:
    client = client_key(request)
    wait = state.limiter.retry_after(client, body.username)
    if wait is not None:
        raise HTTPException(429, f"too many failed sign-ins; try again in {wait} s", headers={"Retry-After": str(wait)})
    with state.db.read() as s:
        user = s.scalar(select(User).where(User.username_key == body.username.lower()))
    ok, rehash = verify_password(user.password_hash if user else None, body.password)
    if not ok or user is None:
        state.limiter.failed(client, body.username)
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    state.limiter.succeeded(client, body.username)
    if rehash:
        with state.db.write() as s:
            s.execute(update(User).where(User.id == user.id).values(password_hash=rehash))
    return user


def _issue(state: ServiceState, user_id: int, kind: str, days: Optional[int] = None) -> str:
    tok = new_token()
    exp = datetime.now(timezone.utc) + timedelta(days=days) if days else None
    with state.db.write() as s:
        s.add(Token(user_id=user_id, token_hash=token_hash(tok), kind=kind, expires_at=exp))
    return tok


@router.post("/token", tags=["accounts"])
def token(body: Credentials, request: Request, state: State):
    """A new bearer token for the API (keep it secret; it is shown once and stored only as a hash)."""
    user = _authenticate(state, request, body)
    return {"token": _issue(state, user.id, "api"), "token_type": "bearer", "username": user.username}


@router.delete("/token", status_code=204, tags=["accounts"])
def revoke_token(request: Request, caller: Auth, state: State):
    """Revoke the bearer token this request was made with."""
    if caller.via != "bearer":
        raise HTTPException(400, "this request was not made with a bearer token")
    tok = request.headers["authorization"].partition(" ")[2].strip()
    with state.db.write() as s:
        s.execute(delete(Token).where(Token.token_hash == token_hash(tok)))
    return no_content()


@router.post("/session", tags=["page"])
def session_login(body: Credentials, request: Request, state: State):
    """Sign in for the web page: sets an HttpOnly, SameSite=Strict session cookie; returns the CSRF token that
    every state-changing request of the page must send as ``X-CSRF-Token``."""
    user = _authenticate(state, request, body)
    tok = _issue(state, user.id, "session", days=SESSION_DAYS)
    resp = JSONResponse({"username": user.username, "csrf": csrf_for(tok)})
    resp.set_cookie(SESSION_COOKIE, tok, max_age=SESSION_DAYS * 86400, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/")
    return resp


@router.get("/session", tags=["page"])
def session_info(request: Request, caller: Auth):
    if caller.via != "session":
        return {"username": caller.username, "csrf": None}
    return {"username": caller.username, "csrf": csrf_for(request.cookies[SESSION_COOKIE])}


@router.delete("/session", status_code=204, tags=["page"])
def session_logout(request: Request, caller: Auth, state: State):
    tok = request.cookies.get(SESSION_COOKIE)
    if tok:
        with state.db.write() as s:
            s.execute(delete(Token).where(Token.token_hash == token_hash(tok), Token.kind == "session"))
    resp = Response(status_code=204)
    resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return resp


# ---- library ---------------------------------------------------------------------------------------------------
@router.get("/library", tags=["library"])
def library_status(caller: Auth, state: State):
    """Feature extraction progress: state (scanning / extracting / ready / error), total, done, failed."""
    return state.library.progress.as_dict()


@router.post("/library/rescan", status_code=202, tags=["library"])
def library_rescan(caller: Auth, state: State):
    """Look for new, changed and removed photos in the library folders (extraction runs in the background)."""
    state.library.request_rescan()
    return state.library.progress.as_dict()


def _own_ratings(state: ServiceState, user_id: int) -> Dict[int, float]:
    with state.db.read() as s:
        return dict(s.execute(select(Rating.image_id, Rating.rating).where(Rating.user_id == user_id)).all())


@router.get("/images", tags=["library"])
def images(caller: Auth, state: State, offset: int = Query(0, ge=0), limit: int = Query(200, ge=1, le=1000)):
    """Photos of the libraries, in folder order, with the caller's own rating (or null)."""
    ids = state.library.ids()
    page = ids[offset:offset + limit]
    mine = _own_ratings(state, caller.id)
    lib = state.library
    return {"images": [{"id": i, "name": lib.name(i), "rating": mine.get(i), "error": lib.error(i)} for i in page],
            "total": len(ids), "offset": offset, "limit": limit}


def _known(state: ServiceState, image_id: int) -> None:
    if not state.library.exists(image_id):
        raise HTTPException(404, f"no photo with id {image_id}")


@router.get("/images/{image_id}", tags=["library"], response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}}})
def image_bytes(image_id: int, caller: Auth, state: State, size: str = Query("display", pattern="^(display|thumb)$")):
    """The photo as a JPEG, longest side at most 1600 px (``size=thumb``: 480 px)."""
    from piaa.io.images import ImageLoadError

    _known(state, image_id)
    try:
        path = state.library.display_jpeg(image_id, size)
    except FileNotFoundError:
        raise HTTPException(404, f"photo {image_id} is no longer in the library") from None
    except ImageLoadError as exc:
        raise HTTPException(422, f"photo {image_id} cannot be shown: {exc.reason}") from None
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


# ---- ratings and comparisons -----------------------------------------------------------------------------------
@router.put("/ratings/{image_id}", tags=["ratings"], status_code=201,
            responses={200: {"description": "an earlier rating was replaced"}, 201: {"description": "new rating"}})
def put_rating(image_id: int, body: RatingIn, caller: Auth, state: State):
    _known(state, image_id)
    now = utcnow()
    with state.db.write() as s:
        res = s.execute(update(Rating).where(Rating.user_id == caller.id, Rating.image_id == image_id)
                        .values(rating=body.rating, updated_at=now))
        created = res.rowcount == 0
        if created:
            ins = state.db.insert(Rating).values(user_id=caller.id, image_id=image_id, rating=body.rating,
                                                 updated_at=now)
            s.execute(ins.on_conflict_do_update(index_elements=["user_id", "image_id"],
                                                set_={"rating": body.rating, "updated_at": now}))
    return JSONResponse({"image": image_id, "rating": body.rating}, status_code=201 if created else 200)


@router.delete("/ratings/{image_id}", status_code=204, tags=["ratings"])
def delete_rating(image_id: int, caller: Auth, state: State):
    _known(state, image_id)
    with state.db.write() as s:
        n = s.execute(delete(Rating).where(Rating.user_id == caller.id, Rating.image_id == image_id)).rowcount
    if not n:
        raise HTTPException(404, f"you have not rated photo {image_id}")
    return no_content()


@router.get("/ratings", tags=["ratings"])
def list_ratings(caller: Auth, state: State):
    """The caller's own ratings (never anybody else's, whatever the query string says)."""
    with state.db.read() as s:
        rows = s.execute(select(Rating.image_id, Rating.rating, Rating.updated_at)
                         .where(Rating.user_id == caller.id).order_by(Rating.updated_at, Rating.id)).all()
    return {"ratings": [{"image": i, "rating": r, "updated": u.isoformat()} for i, r, u in rows]}


@router.post("/comparisons", status_code=201, tags=["ratings"])
def post_comparison(body: ComparisonIn, caller: Auth, state: State):
    """"Of these two, I prefer ``better``." Profiles learn from comparisons and ratings together."""
    if body.better == body.worse:
        raise HTTPException(422, "a comparison needs two different photos")
    _known(state, body.better)
    _known(state, body.worse)
    with state.db.write() as s:
        c = Comparison(user_id=caller.id, better_id=body.better, worse_id=body.worse)
        s.add(c)
        s.flush()
        cid = c.id
    return {"id": cid, "better": body.better, "worse": body.worse}


@router.get("/comparisons", tags=["ratings"])
def list_comparisons(caller: Auth, state: State):
    with state.db.read() as s:
        rows = s.execute(select(Comparison.id, Comparison.better_id, Comparison.worse_id)
                         .where(Comparison.user_id == caller.id).order_by(Comparison.id)).all()
    return {"comparisons": [{"id": i, "better": b, "worse": w} for i, b, w in rows]}


@router.delete("/comparisons/{comparison_id}", status_code=204, tags=["ratings"])
def delete_comparison(comparison_id: int, caller: Auth, state: State):
    with state.db.write() as s:
        n = s.execute(delete(Comparison).where(Comparison.id == comparison_id,
                                               Comparison.user_id == caller.id)).rowcount
    if not n:
        raise HTTPException(404, f"you have no comparison {comparison_id}")
    return no_content()


# ---- profile ---------------------------------------------------------------------------------------------------
def _wait_features(state: ServiceState) -> None:
    lib = state.library
    if not lib.wait_ready(state.settings.feature_wait):
        p = lib.progress
        raise HTTPException(503, f"photo features are still being computed ({p.done}/{p.total}); try again shortly",
                            headers={"Retry-After": "10"})


def _judgements(state: ServiceState, user_id: int):
    with state.db.read() as s:
        ratings = s.execute(select(Rating.image_id, Rating.rating).where(Rating.user_id == user_id)
                            .order_by(Rating.image_id)).all()
        comps = s.execute(select(Comparison.better_id, Comparison.worse_id).where(Comparison.user_id == user_id)
                          .order_by(Comparison.id)).all()
    return [(int(i), float(r)) for i, r in ratings], [(int(b), int(w)) for b, w in comps]


def _profile_record(meta: dict, created) -> dict:
    a = meta.get("assessment") or {}
    return {"method": meta["method"], "fit": meta.get("fit"), "n_ratings": meta["n_ratings"],
            "n_comparisons": meta["n_comparisons"], "created": created.isoformat() if created else None,
            "assessment": meta.get("assessment"), "summary": a.get("summary") or learn.summary(None)}


@router.post("/profile", tags=["profile"])
def fit_profile(caller: Auth, state: State):
    """Fit the caller's profile on all their ratings and comparisons; returns method, counts and the
    self-assessment (422 below the minimum)."""
    ratings, comps = _judgements(state, caller.id)
    try:
        learn.check_enough(len(ratings), len(comps), len({r for _, r in ratings}))
    except learn.NotEnoughRatings as exc:
        raise HTTPException(422, str(exc)) from None
    _wait_features(state)
    ids = sorted({i for i, _ in ratings} | {i for c in comps for i in c})
    ok, X, g = state.library.rows(ids)
    row = {i: k for k, i in enumerate(i for i, good in zip(ids, ok) if good)}
    rated = [(row[i], r) for i, r in ratings if i in row]
    pairs = [(row[b], row[w]) for b, w in comps if b in row and w in row]
    try:
        fitted = learn.fit(X, g, [r for r, _ in rated], [v for _, v in rated], pairs, state.library.score_range)
    except learn.NotEnoughRatings as exc:
        left = len(ratings) - len(rated) + len(comps) - len(pairs)
        raise HTTPException(422, f"{exc} ({left} of your judgements involve photos that cannot be read)") from None
    from piaa.state import state_to_bytes

    meta = dict(fitted.meta)
    meta["generic_model"] = state.library.scorer.name
    blob = state_to_bytes(fitted.estimator.state_dict())
    with state.db.write() as s:
        s.execute(delete(StoredProfile).where(StoredProfile.user_id == caller.id))
        prof = StoredProfile(user_id=caller.id, method=meta["method"], meta_json=json.dumps(meta, allow_nan=False),
                             state=blob, n_ratings=meta["n_ratings"], n_comparisons=meta["n_comparisons"])
        s.add(prof)
        s.flush()
        pid, created = prof.id, prof.created_at
    state.profiles[caller.id] = (pid, fitted.estimator)
    return _profile_record(meta, created)


def _load_profile(state: ServiceState, user_id: int):
    """(StoredProfile row without state, estimator) or (None, None)."""
    from piaa.personalize.prior_probe import PriorProbePersonalizer
    from piaa.state import state_from_bytes

    with state.db.read() as s:
        head = s.execute(select(StoredProfile.id, StoredProfile.meta_json, StoredProfile.created_at)
                         .where(StoredProfile.user_id == user_id)).first()
        if head is None:
            return None, None
        cached = state.profiles.get(user_id)
        if cached is not None and cached[0] == head.id:
            return head, cached[1]
        blob = s.scalar(select(StoredProfile.state).where(StoredProfile.id == head.id))
    est = PriorProbePersonalizer.from_state_dict(state_from_bytes(blob))
    state.profiles[user_id] = (head.id, est)
    return head, est


@router.get("/profile", tags=["profile"])
def get_profile(caller: Auth, state: State):
    head, _ = _load_profile(state, caller.id)
    if head is None:
        raise HTTPException(404, "you have no profile yet: rate photos, then POST /api/profile")
    return _profile_record(json.loads(head.meta_json), head.created_at)


@router.delete("/profile", status_code=204, tags=["profile"])
def delete_profile(caller: Auth, state: State):
    with state.db.write() as s:
        n = s.execute(delete(StoredProfile).where(StoredProfile.user_id == caller.id)).rowcount
    state.profiles.pop(caller.id, None)
    if not n:
        raise HTTPException(404, "you have no profile")
    return no_content()


# ---- ranking, suggestions, why ---------------------------------------------------------------------------------
def _scores(state: ServiceState, user_id: int):
    """(ids, features, generic, personal scores on the rating scale, profile head or None)."""
    _wait_features(state)
    ids, X, g = state.library.matrix()
    head, est = _load_profile(state, user_id)
    model = g if est is None or not len(ids) else learn.personal_scores(est, X, g)
    return ids, X, g, learn.to_rating_scale(model, state.library.score_range), head, est


@router.get("/ranking", tags=["profile"])
def ranking(caller: Auth, state: State, limit: int = Query(100, ge=1, le=100000),
            use_ratings: bool = Query(True, description="rank the photos you rated by your own stars")):
    """Photos best first by the caller's taste: their own stars for the photos they rated (``use_ratings=false``:
    predictions only), the profile's prediction for the rest (the generic model's before there is a profile).
    ``score`` is on the 1-5 rating scale; ``predicted`` is the model's score, ``stars`` the predicted stars (score
    quintile within the library), ``rating`` the caller's own, ``source`` what ``score`` is."""
    from piaa.profiles.ranking import quantile_stars

    ids, _, g, pred, head, _ = _scores(state, caller.id)
    mine = _own_ratings(state, caller.id) if len(ids) else {}
    generic = learn.to_rating_scale(g, state.library.score_range)
    stars = quantile_stars(pred)
    own = np.array([mine.get(int(i), np.nan) for i in ids], dtype=float)
    use = np.isfinite(own) if use_ratings else np.zeros(len(ids), dtype=bool)
    score = np.where(use, own, pred)
    order = np.lexsort((ids, -pred, -score))[:limit]
    basis = "profile" if head is not None else "generic"
    lib = state.library
    out = [{"id": int(ids[k]), "name": lib.name(int(ids[k])), "score": round(float(score[k]), 4),
            "source": "rating" if use[k] else basis, "predicted": round(float(pred[k]), 4), "stars": int(stars[k]),
            "rating": mine.get(int(ids[k])), "generic": round(float(generic[k]), 4)} for k in order]
    prof = None
    if head is not None:
        m = json.loads(head.meta_json)
        prof = {"n_ratings": m["n_ratings"], "n_comparisons": m["n_comparisons"], "created": head.created_at.isoformat()}
    return {"images": out, "total": len(ids), "basis": basis, "profile": prof, "unscored": len(lib.ids()) - len(ids)}


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


def _suggest(state: ServiceState, user_id: int, n: int):
    """(photo ids the caller has not rated, strategy): the active-learning selector's choice when it is
    installed and the features are known, else uniformly random."""
    mine = _own_ratings(state, user_id)
    lib = state.library
    sel = _selector(state)
    if sel is not None:
        ids, selector = sel
        row = {int(i): k for k, i in enumerate(ids)}
        rated = [(row[i], r) for i, r in mine.items() if i in row]
        try:
            picks = selector.select([k for k, _ in rated], [r for _, r in rated] if rated else None, n)
            out = [int(ids[k]) for k in picks if int(ids[k]) not in mine]
            if out or not len(picks):
                return out, f"active ({getattr(selector, 'strategy', 'default')})"
        except Exception:               # a suggestion must never fail the request: log why, suggest at random
            log.exception("active-learning selector failed, suggesting at random")
    pool = [i for i in lib.ids() if i not in mine and lib.error(i) is None]
    if not pool:
        return [], "random"
    rng = np.random.default_rng(secrets.randbits(64))
    return [int(i) for i in rng.choice(pool, size=min(n, len(pool)), replace=False)], "random"


@router.get("/suggestions", tags=["profile"])
def suggestions(caller: Auth, state: State, n: int = Query(10, ge=1, le=200)):
    """Photos the caller has not rated, chosen to teach the profile most (the active-learning selector when
    installed and the photos are analysed; random otherwise — ``strategy`` says which)."""
    lib = state.library
    picked, strategy = _suggest(state, caller.id, n)
    return {"images": [{"id": i, "name": lib.name(i)} for i in picked], "strategy": strategy}


@router.get("/suggestions/pair", tags=["profile"])
def suggest_pair(caller: Auth, state: State):
    """Two photos to compare ("which do you prefer?"): the pair whose answer teaches the profile most (the
    active-learning selector when installed and the photos are analysed), else two random unrated photos (any
    two when fewer than two are unrated)."""
    lib = state.library
    mine = _own_ratings(state, caller.id)
    sel = _selector(state)
    if sel is not None:
        ids, selector = sel
        row = {int(i): k for k, i in enumerate(ids)}
        rated = [(row[i], r) for i, r in mine.items() if i in row]
        try:
            a, b = selector.select_pair([k for k, _ in rated], [r for _, r in rated] if rated else None)
            pair = [int(ids[a]), int(ids[b])]
            return {"images": [{"id": i, "name": lib.name(i)} for i in pair], "strategy": "active"}
        except Exception:
            log.exception("active-learning pair selection failed, choosing at random")
    pool = [i for i in lib.ids() if i not in mine and lib.error(i) is None]
    if len(pool) < 2:
        pool = [i for i in lib.ids() if lib.error(i) is None]
    if len(pool) < 2:
        raise HTTPException(409, "fewer than two photos to compare")
    rng = np.random.default_rng(secrets.randbits(64))
    pair = [int(i) for i in rng.choice(pool, size=2, replace=False)]
    return {"images": [{"id": i, "name": lib.name(i)} for i in pair], "strategy": "random"}


@router.get("/images/{image_id}/why", tags=["profile"])
def why(image_id: int, caller: Auth, state: State, n: int = Query(5, ge=1, le=20)):
    """The caller's own rated photos most like this one, with their stars, and the scores."""
    _known(state, image_id)
    ids, X, g, score, head, est = _scores(state, caller.id)
    pos = np.flatnonzero(ids == image_id)
    if not len(pos):
        raise HTTPException(422, f"photo {image_id} has no features: {state.library.error(image_id) or 'pending'}")
    k = int(pos[0])
    mine = _own_ratings(state, caller.id)
    rated_rows = np.array([j for j, i in enumerate(ids) if int(i) in mine and int(i) != image_id], dtype=int)
    lib = state.library
    similar = []
    if len(rated_rows):
        idx, sims = learn.similar(X[rated_rows], X[k], est, top=n)
        similar = [{"id": int(ids[rated_rows[j]]), "name": lib.name(int(ids[rated_rows[j]])),
                    "rating": mine[int(ids[rated_rows[j]])], "similarity": round(float(s), 3)}
                   for j, s in zip(idx, sims)]
    generic = float(learn.to_rating_scale(g[k], state.library.score_range))
    personal = float(score[k])
    if head is None:
        text = (f"No profile yet: this is the general model's score, {generic:.1f} of 5. Rate photos and build a "
                f"profile to see your own.")
    else:
        delta = personal - generic
        direction = "up" if delta > 0.05 else ("down" if delta < -0.05 else "hardly")
        text = (f"Your profile gives it {personal:.1f} of 5; the general model {generic:.1f}. Your taste moves it "
                f"{direction}" + (f" by {abs(delta):.1f}" if direction != "hardly" else "") + ".")
    if similar:
        text += " It looks most like these photos you rated: " + ", ".join(
            f"{s['name']} ({_stars(s['rating'])})" for s in similar[:3]) + "."
    return {"image": image_id, "name": lib.name(image_id), "score": round(personal, 4),
            "generic": round(generic, 4), "rating": mine.get(image_id), "similar": similar, "explanation": text}


def _stars(r: float) -> str:
    return "★" * int(round(r)) + f" {r:g}" if r != round(r) else "★" * int(r)


# ---- export ----------------------------------------------------------------------------------------------------
@router.get("/export/ratings", tags=["export"])
def export_ratings(caller: Auth, state: State, format: str = Query("csv", pattern="^(csv|json)$")):
    """The caller's ratings and comparisons: CSV ``image_id,image,rating`` or JSON."""
    ratings, comps = _judgements(state, caller.id)
    lib = state.library
    name = lambda i: lib.name(i) if lib.exists(i) else None  # noqa: E731
    if format == "json":
        return JSONResponse({"user": caller.username, "scale": list(learn.RATING_SCALE),
                             "ratings": [{"image_id": i, "image": name(i), "rating": r} for i, r in ratings],
                             "comparisons": [{"better": b, "worse": w} for b, w in comps]},
                            headers={"Content-Disposition": f'attachment; filename="{caller.username}-ratings.json"'})
    buf = io.StringIO()
    wr = csv.writer(buf)
    wr.writerow(["image_id", "image", "rating"])
    for i, r in ratings:
        wr.writerow([i, name(i) or "", f"{r:g}"])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{caller.username}-ratings.csv"'})


@router.get("/export/profile", tags=["export"])
def export_profile(caller: Auth, state: State):
    """The caller's profile in the ``piaa-profile`` JSON format (``piaa profile import FILE`` reads it)."""
    from piaa.profiles.exchange import FORMAT, FORMAT_VERSION, _encode_array

    head, est = _load_profile(state, caller.id)
    if head is None:
        raise HTTPException(404, "you have no profile yet")
    meta = json.loads(head.meta_json)
    ratings, comps = _judgements(state, caller.id)
    lib = state.library
    st = est.state_dict()
    pmeta = {"version": 1, "source": "piaa serve", "notes": [meta.get("fit", "")], "uses_offset": True,
             "generic_model": meta.get("generic_model"), "params": {}, "scale": meta["scale"],
             "model_scale": meta["model_scale"], "assessment": meta.get("assessment")}
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": caller.username, "method": meta["method"],
           "created": head.created_at.isoformat(), "updated": head.created_at.isoformat(), "meta": pmeta,
           "ratings": [{"image": str(lib.path(i)) if lib.exists(i) else f"id:{i}", "score": r,
                        "origin": "piaa serve"} for i, r in ratings],
           "comparisons": [{"better": b, "worse": w} for b, w in comps],
           "state": {"meta": st["meta"], "arrays": {k: _encode_array(v) for k, v in st["arrays"].items()}}}
    return JSONResponse(doc, headers={"Content-Disposition": f'attachment; filename="{caller.username}.piaa.json"'})


@router.post("/export/xmp", tags=["export"])
def export_xmp(body: XmpIn, caller: Auth, state: State):
    """Predicted stars (the caller's ranking) into XMP sidecars beside the photos, through piaa's XMP writer: a
    rating a person set is never overwritten. Writing needs the server's ``--allow-xmp-write``; ``dry_run`` (the
    default) only reports what would happen."""
    from piaa.profiles.ranking import rank_records
    from piaa.profiles.xmp_write import apply_writes, plan_writes

    if not body.dry_run and not state.settings.allow_xmp_write:
        raise HTTPException(403, "this server does not write into the photo folders (start it with "
                                 "--allow-xmp-write); use dry_run to preview")
    ids, _, _, score, _, _ = _scores(state, caller.id)
    lib = state.library
    paths = [str(lib.path(int(i))) for i in ids]
    recs = rank_records(paths, score)
    actions = plan_writes(recs, profile=caller.username)
    if not body.dry_run:
        actions = apply_writes(actions, {r["path"]: r["score"] for r in recs if r.get("score") is not None},
                               profile=caller.username)
    by_path = {p: int(i) for p, i in zip(paths, ids)}
    counts: Dict[str, int] = {}
    out = []
    for a in actions:
        counts[a.action] = counts.get(a.action, 0) + 1
        iid = by_path.get(a.image)
        out.append({"image": iid, "name": lib.name(iid) if iid is not None else None, "stars": a.stars,
                    "action": a.action, "reason": a.reason})
    return {"dry_run": body.dry_run, "counts": counts, "actions": out}


@router.get("/me", tags=["accounts"])
def me(caller: Auth, state: State):
    """Who the caller is, how much they have rated, their profile and the library's progress."""
    with state.db.read() as s:
        n_r = s.scalar(select(func.count()).select_from(Rating).where(Rating.user_id == caller.id))
        n_c = s.scalar(select(func.count()).select_from(Comparison).where(Comparison.user_id == caller.id))
    head, _ = _load_profile(state, caller.id)
    prof = None if head is None else _profile_record(json.loads(head.meta_json), head.created_at)
    return {"username": caller.username, "ratings": n_r, "comparisons": n_c, "profile": prof,
            "min_ratings": learn.MIN_RATINGS, "library": state.library.progress.as_dict(),
            "total_images": len(state.library.ids())}
