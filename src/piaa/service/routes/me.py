"""``GET /api/me``: who the caller is, how much they have rated, their profile and the library's progress;
``PUT /api/me``: the caller's settings (whether their ratings teach the library model)."""
from fastapi import APIRouter

from piaa.profiles.core import MIN_RATINGS
from piaa.service import membership, personal, queries, xmp_owner
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, BODY, responses
from piaa.service.schemas import Me, MeUpdate

router = APIRouter(route_class=StrictJSONRoute, tags=["accounts"])


def _me(caller, state) -> dict:
    n_r, n_c = queries.counts(state.db, caller.id)
    owner = xmp_owner.owner(state.db, state.settings.xmp_owner)
    head = queries.profile_head(state.db, caller.id)
    lt = personal.library_model(state)
    return {"username": caller.username, "ratings": n_r, "comparisons": n_c,
            "profile": None if head is None else personal.record(head[2], head[3]),
            "min_ratings": MIN_RATINGS, "library": state.library.progress.as_dict(),
            "total_images": len(state.library.ids()), "is_admin": membership.is_admin(state.db, caller.id),
            "xmp_write": state.settings.allow_xmp_write, "xmp_owner": owner.username,
            "xmp_owner_note": xmp_owner.note(owner, caller.id), "share_ratings": membership.shares(state.db, caller.id),
            "library_taste": None if lt is None else lt.describe()}


@router.get("/me", response_model=Me, responses=responses(*AUTH))
def me(caller: Auth, state: State):
    """Who the caller is, how much they have rated, their profile and the library's progress."""
    return _me(caller, state)


@router.put("/me", response_model=Me, responses=responses(*AUTH, *BODY))
def update_me(body: MeUpdate, caller: Auth, state: State):
    """Change the caller's settings: ``{"share_ratings": false}`` takes their ratings out of the library model
    (at its next refit, within seconds); ``true`` puts them back. Returns what ``GET /api/me`` returns."""
    if body.share_ratings is not None:
        queries.set_share_ratings(state.db, caller.id, body.share_ratings)
    return _me(caller, state)
