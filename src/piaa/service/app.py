"""The FastAPI application of ``piaa serve``, assembled: settings -> database -> library -> routes.

``create_app(Settings(...))`` builds everything; the lifespan upgrades the database (Alembic), scans the libraries
and starts the background feature extraction. Routes live in :mod:`piaa.service.routes` (one module per
resource), their contract in :mod:`piaa.service.schemas`, errors in :mod:`piaa.service.errors`.
"""
from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse

from piaa.service import errors
from piaa.service.deps import ServiceState
from piaa.service.library import Library
from piaa.service.limits import BodyLimit
from piaa.service.persistence import Database
from piaa.service.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("piaa.serve")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
       "form-action 'self'")


def open_database(settings: Settings) -> Database:
    """The database, upgraded to the newest schema; :class:`DatabaseUnavailable` (one line) when it cannot be
    reached or written."""
    from piaa.service.persistence import open_upgraded

    return open_upgraded(settings.database_url)


def prepare_data_dir(settings: Settings) -> None:
    from piaa.service.persistence import DatabaseUnavailable

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the data folder {settings.data_dir}: "
                                  f"{exc.strerror or exc}") from None
    try:
        os.chmod(settings.data_dir, 0o700)
    except OSError:
        pass


def create_app(settings: Settings, scorer=None, database: Database = None, detector=None) -> FastAPI:
    """The app; ``database``: one already opened by :func:`open_database` (``piaa serve`` opens it before the
    server starts, so a database that cannot be used is one line on the terminal, not a start-up traceback);
    ``detector``: the face detector of the checks at 100 % (default: :func:`piaa.faces.detect_faces`)."""
    prepare_data_dir(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # one BLAS thread per request: the server runs many small fits and products at once, and a multi-threaded
        # BLAS on a busy machine made a profile fit 40x slower (measured, 2-core machine under load)
        from threadpoolctl import threadpool_limits

        blas = threadpool_limits(1, user_api="blas")
        db = database if database is not None else open_database(settings)
        lib = Library(settings.libraries, db, settings.data_dir, scorer=scorer, model=settings.model)
        lib.start()
        app.state.svc = ServiceState(settings, db, lib, detector)
        from piaa.service.community import LibraryModelKeeper

        keeper = app.state.svc.community = LibraryModelKeeper(db, lib, enabled=settings.community)
        keeper.start()
        log.info("piaa serve: %d photos in %d library folder(s); database %s", len(lib.ids()), len(lib.roots),
                 db.display_url)
        try:
            yield
        finally:
            keeper.stop()
            app.state.svc.checks.stop()
            lib.stop()
            db.dispose()
            blas.restore_original_limits()

    from piaa import __version__

    app = FastAPI(title="piaa serve", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Rate photos, learn your taste, rank a library by it. Every route under /api except "
                              "health, signup, token and session needs `Authorization: Bearer TOKEN` (from "
                              "POST /api/token; the Authorize button).")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CSP)     # /docs and /redoc set their own
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)

    from piaa.service.routes import api_router

    app.include_router(api_router)

    from piaa.service.docs import install_docs

    install_docs(app)

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

    return app
