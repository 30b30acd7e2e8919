"""The FastAPI application of ``piaa serve``: settings, the app factory, authentication and the page.

``create_app(Settings(...))`` builds everything; the lifespan upgrades the database (Alembic), scans the libraries
and starts the background feature extraction. Routes live in :mod:`piaa.service.api`.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import select

from piaa.errors import PiaaError

from piaa.service.db import Database, Token, User, sqlite_url
from piaa.service.library import Library
from piaa.service.security import LoginLimiter, csrf_ok, token_hash

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "piaa_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
log = logging.getLogger("piaa.serve")


def default_data_dir() -> Path:
    from piaa.paths import user_data_dir

    return user_data_dir() / "serve"


@dataclass
class Settings:
    libraries: List[Path]
    data_dir: Path = field(default_factory=default_data_dir)
    database_url: Optional[str] = None
    allow_signup: bool = False
    allow_xmp_write: bool = False
    model: Optional[str] = None
    feature_wait: float = 120.0          # how long a request that needs features waits for the first extraction

    def __post_init__(self):
        self.data_dir = Path(self.data_dir).expanduser()
        self.libraries = [Path(p).expanduser() for p in self.libraries]
        if not self.database_url:
            self.database_url = os.environ.get("PIAA_DATABASE_URL") or sqlite_url(self.data_dir / "piaa-serve.sqlite")


@dataclass
class Caller:
    id: int
    username: str
    via: str                      # "bearer" | "session"


class ServiceState:
    def __init__(self, settings: Settings, db: Database, library: Library):
        self.settings = settings
        self.db = db
        self.library = library
        self.limiter = LoginLimiter()
        self.profiles = {}        # user id -> (profile row id, fitted estimator): decoded once
        self.selector = None      # (feature matrix, ids, active-learning selector) built once per matrix
        self.lock = threading.Lock()


def open_database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    db.upgrade()
    return db


def create_app(settings: Settings, scorer=None) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(settings.data_dir, 0o700)
    except OSError:
        pass

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # one BLAS thread per request: the server runs many small fits and products at once, and a multi-threaded
        # BLAS on a busy machine made a profile fit 40x slower (measured, 2-core machine under load)
        from threadpoolctl import threadpool_limits

        blas = threadpool_limits(1, user_api="blas")
        db = open_database(settings)
        lib = Library(settings.libraries, db, settings.data_dir, scorer=scorer, model=settings.model)
        lib.start()
        app.state.svc = ServiceState(settings, db, lib)
        log.info("piaa serve: %d photos in %d library folder(s); database %s", len(lib.ids()), len(lib.roots),
                 db.display_url)
        try:
            yield
        finally:
            lib.stop()
            db.dispose()
            blas.restore_original_limits()

    from piaa import __version__

    app = FastAPI(title="piaa serve", version=__version__, lifespan=lifespan,
                  description="Rate photos, learn your taste, rank a library by it. Every route under /api except "
                              "health, signup and token needs `Authorization: Bearer TOKEN` (from POST /api/token).")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(("/docs", "/redoc")):
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                        "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    from piaa.service.api import router

    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        allowed = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
        if name not in allowed:
            raise HTTPException(404, "not found")
        return FileResponse(allowed[name], headers={"Cache-Control": "no-cache"})

    @app.exception_handler(PiaaError)
    async def piaa_error(request: Request, exc: PiaaError):
        """piaa's own errors (one-line messages) as 4xx: bad input 422, a missing shipped file 503, else 400."""
        from piaa.errors import AssetMissingError, InputError

        code = 422 if isinstance(exc, InputError) else 503 if isinstance(exc, AssetMissingError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    return app


# ---- authentication ------------------------------------------------------------------------------------------
def svc(request: Request) -> ServiceState:
    return request.app.state.svc


def _unauthorized(msg: str) -> HTTPException:
    return HTTPException(401, msg, headers={"WWW-Authenticate": "Bearer"})


def current_user(request: Request) -> Caller:
    """The caller from ``Authorization: Bearer`` or, for the page, the session cookie (+ CSRF header on writes)."""
    state = svc(request)
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Authorization must be 'Bearer TOKEN'")
        user = _lookup(state, token.strip(), "api")
        if user is None:
            raise _unauthorized("invalid or revoked token")
        return Caller(user.id, user.username, "bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user = _lookup(state, cookie, "session")
        if user is None:
            raise _unauthorized("your session has ended; sign in again")
        if request.method in UNSAFE and not csrf_ok(cookie, request.headers.get("x-csrf-token")):
            raise HTTPException(403, "missing or wrong X-CSRF-Token header")
        return Caller(user.id, user.username, "session")
    raise _unauthorized("sign in first: send Authorization: Bearer TOKEN (POST /api/token gives one)")


def _lookup(state: ServiceState, token: str, kind: str) -> Optional[User]:
    if len(token) > 256:
        return None
    with state.db.read() as s:
        row = s.execute(select(Token, User).join(User, User.id == Token.user_id)
                        .where(Token.token_hash == token_hash(token), Token.kind == kind)).first()
    if row is None:
        return None
    tok, user = row
    if tok.expires_at is not None:
        exp = tok.expires_at if tok.expires_at.tzinfo else tok.expires_at.replace(tzinfo=timezone.utc)
        if exp < datetime.now(timezone.utc):
            return None
    return user


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def no_content() -> Response:
    return Response(status_code=204)
