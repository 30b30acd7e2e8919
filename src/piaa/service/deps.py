"""What routes depend on: the service state of the running app and the signed-in caller.

``Auth`` (a bearer token, or the page's session cookie with its CSRF header on writes) and ``State`` are the
FastAPI dependencies every route module uses; the OpenAPI document gets the bearer scheme from :data:`bearer`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer

from piaa.service import queries
from piaa.service.cull_checks import STORE_NAME, BackgroundChecks
from piaa.service.library import Library
from piaa.service.persistence import Database
from piaa.service.photo_facts import PhotoFacts, warm
from piaa.service.security import LoginLimiter, csrf_ok
from piaa.service.settings import Settings

SESSION_COOKIE = "piaa_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

#: The security scheme shown in /docs (the Authorize button); authentication itself is :func:`current_user`.
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="a token from POST /api/token (the page uses its session cookie instead)")


@dataclass
class Caller:
    id: int
    username: str
    via: str                      # "bearer" | "session"
    token: str


class ServiceState:
    def __init__(self, settings: Settings, db: Database, library: Library, detector=None):
        self.settings = settings
        self.db = db
        self.library = library
        self.limiter = LoginLimiter()
        self.profiles = {}        # user id -> (profile row id, fitted estimator): decoded once
        self.selector = None      # (feature matrix, ids, active-learning selector) built once per matrix
        self.community = None     # the library model's keeper (piaa.service.community), set by the app
        self.facts = PhotoFacts()  # quality scores and capture times, computed once
        #: the checks at 100 % of the bursts, judged in the background (a nice-19 process) once the groups are known
        self.checks = BackgroundChecks(self, settings.cull_checks, settings.data_dir / STORE_NAME, detector)
        library.when_ready.append(self.prepare)
        if library.ready:         # it finished before this state existed: prepare the facts now, in the background
            threading.Thread(target=self.prepare, name="piaa-facts", daemon=True).start()
        self.lock = threading.Lock()
        self.refitting = set()    # user ids whose profile is being refitted after a change (personal.refit)
        self.refit_again = set()  # ... and changed again meanwhile

    def prepare(self) -> None:
        """After an analysis pass: what every page needs (``warm``), then the checks of the (new) groups."""
        try:
            warm(self)
        finally:
            self.checks.kick()


def svc(request: Request) -> ServiceState:
    return request.app.state.svc


def unauthorized(msg: str) -> HTTPException:
    return HTTPException(401, msg, headers={"WWW-Authenticate": "Bearer"})


def current_user(request: Request, _scheme=Depends(bearer)) -> Caller:
    """The caller from ``Authorization: Bearer`` or, for the page, the session cookie (+ CSRF header on writes)."""
    state = svc(request)
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Authorization must be 'Bearer TOKEN'")
        user = queries.user_of_token(state.db, token.strip(), "api")
        if user is None:
            raise unauthorized("invalid or revoked token")
        return Caller(user.id, user.username, "bearer", token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user = queries.user_of_token(state.db, cookie, "session")
        if user is None:
            raise unauthorized("your session has ended; sign in again")
        if request.method in UNSAFE and not csrf_ok(cookie, request.headers.get("x-csrf-token")):
            raise HTTPException(403, "missing or wrong X-CSRF-Token header")
        return Caller(user.id, user.username, "session", cookie)
    raise unauthorized("sign in first: send Authorization: Bearer TOKEN (POST /api/token gives one)")


def client_key(request: Request) -> str:
    """The client address the login limiter counts by: the peer's address. Behind a reverse proxy
    (``--trust-forwarded``) uvicorn has already replaced it by the proxy's X-Forwarded-For; otherwise forwarded
    headers are ignored, so a client cannot pick its own address."""
    return request.client.host if request.client else "unknown"


Auth = Annotated[Caller, Depends(current_user)]
State = Annotated[ServiceState, Depends(svc)]
