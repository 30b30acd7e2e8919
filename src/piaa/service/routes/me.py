"""``GET /api/me``: who the caller is, how much they have rated, their profile and the library's progress."""
from fastapi import APIRouter

from piaa.profiles.core import MIN_RATINGS
from piaa.service import membership, personal, queries
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, responses
from piaa.service.schemas import Me

router = APIRouter(route_class=StrictJSONRoute, tags=["accounts"])


@router.get("/me", response_model=Me, responses=responses(*AUTH))
def me(caller: Auth, state: State):
    """Who the caller is, how much they have rated, their profile and the library's progress."""
    n_r, n_c = queries.counts(state.db, caller.id)
    head = queries.profile_head(state.db, caller.id)
    return {"username": caller.username, "ratings": n_r, "comparisons": n_c,
            "profile": None if head is None else personal.record(head[2], head[3]),
            "min_ratings": MIN_RATINGS, "library": state.library.progress.as_dict(),
            "total_images": len(state.library.ids()), "is_admin": membership.is_admin(state.db, caller.id),
            "xmp_write": state.settings.allow_xmp_write}
