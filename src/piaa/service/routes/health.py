"""``GET /api/health``: liveness and whether the database answers (no sign-in)."""
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from piaa.service import queries
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import State
from piaa.service.schemas import Health

router = APIRouter(route_class=StrictJSONRoute, tags=["service"])


@router.get("/health", response_model=Health, responses={503: {"model": Health, "description": "the database "
                                                                   "does not answer"}})
def health(state: State):
    """Liveness, without authentication: ``status`` "ok", or "unavailable" with 503 when the database does not
    answer or its file was deleted or replaced under the running server (``reason`` says which); ``signup``
    says whether POST /api/signup is open."""
    from piaa import __version__

    problem = queries.database_problem(state.db)
    up = problem is None
    body = {"status": "ok" if up else "unavailable", "version": __version__, "signup": state.settings.allow_signup,
            "database": "ok" if up else "down", "reason": problem}
    return body if up else JSONResponse(body, status_code=503, headers={"Retry-After": "30"})
