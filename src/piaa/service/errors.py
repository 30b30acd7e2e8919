"""Errors of the API: one JSON shape for every failure, and the statuses each route documents.

- ``{"detail": "one line"}`` (:class:`~piaa.service.schemas.ErrorBody`) for every error but 422;
- 422 (:class:`~piaa.service.schemas.ValidationErrorBody`): the list of problems ``[{"loc", "msg", "type"}]``
  — never the input itself (FastAPI's default echoes it, so a 50 MB body came back as 100 MB) — or one
  message for a check made by the code (too few ratings, a photo without features);
- the database unreachable or not writable, the disk full or read-only: 503 with a one-line reason.

:func:`responses` builds a route's ``responses=`` from status codes, so the OpenAPI document lists every
error a route can answer with, and its body.
"""
from __future__ import annotations

import errno
import logging
import re
from typing import Dict

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from piaa.errors import AssetMissingError, InputError, PiaaError
from piaa.service.persistence import DatabaseUnavailable
from piaa.service.schemas import ErrorBody, ValidationErrorBody

log = logging.getLogger("piaa.serve")

DESCRIPTIONS = {
    400: "the request cannot be served as made",
    401: "not signed in: no, a wrong, a revoked or an expired token",
    403: "not allowed (sign-up off, writing off, a missing CSRF header)",
    404: "no such photo, rating, comparison or profile of yours",
    405: "method not allowed on this route (see the Allow header)",
    409: "conflicts with what exists (a taken username, too few photos)",
    413: "request body too large",
    422: "the request is not valid: the list of problems (never a copy of the input), or one message",
    429: "too many failed sign-ins; wait Retry-After seconds",
    503: "not available now: features still being computed (Retry-After), or the database / data folder down",
}


def responses(*codes: int) -> Dict[int, dict]:
    """The ``responses=`` of a route that can answer with these error statuses (503 is always added)."""
    out = {}
    for c in sorted(set(codes) | {503}):
        out[c] = {"model": ValidationErrorBody if c == 422 else ErrorBody, "description": DESCRIPTIONS[c]}
    return out


#: Shorthands: any signed-in route; any route with a JSON body (a bad or too large body).
AUTH = (401, 403)
BODY = (413, 422)


def _pattern_words() -> Dict[str, str]:
    """Rules stated as a regular expression in the schema, and the plain words people are shown instead."""
    from piaa.service.security import USERNAME_PATTERN, USERNAME_RULE

    return {USERNAME_PATTERN: USERNAME_RULE}


def _issues(exc: RequestValidationError):
    out = []
    words = _pattern_words()
    for e in exc.errors():
        loc = [x if isinstance(x, (str, int)) else str(x) for x in e.get("loc", ())]
        msg = str(e.get("msg", "invalid"))
        if e.get("type") == "string_pattern_mismatch":
            msg = words.get(str((e.get("ctx") or {}).get("pattern")), msg)
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        out.append({"loc": loc, "msg": msg[:300], "type": str(e.get("type", "value_error"))})
    return out[:20]


_PATH = re.compile(r"""(?<![\w.:/])/[^\s"',;]+""")


def without_paths(text: str) -> str:
    """``text`` with every absolute path taken out (a driver's message names the PostgreSQL socket or the
    database file: the server's layout is nobody's business, and ``/api/token`` answers anyone)."""
    return _PATH.sub("…", text)


def storage_problem(exc: BaseException):
    """A one-line reason (no server path in it) when ``exc`` means the database or the data folder cannot be
    used, else None."""
    if isinstance(exc, DatabaseUnavailable):
        return without_paths(str(exc).splitlines()[0]) if str(exc) else "the database is not available"
    if isinstance(exc, (OperationalError, InterfaceError)):
        text = str(getattr(exc, "orig", None) or exc).strip()
        return "the database is not available: " + without_paths(text.splitlines()[0] if text else type(exc).__name__)
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES):
        return f"the server's data folder cannot be written: {exc.strerror or exc}"
    return None


def allowed_methods(request: Request):
    """The methods the OpenAPI document declares for this path (Starlette's own 405 names only the first
    route's, e.g. ``PUT`` for ``/api/ratings/{id}``, which has ``DELETE`` too)."""
    import re

    table = getattr(request.app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, ops in request.app.openapi().get("paths", {}).items():
            rx = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            table.append((rx, sorted(m.upper() for m in ops if m in ("get", "put", "post", "delete", "patch"))))
        request.app.state.allowed_methods = table
    path = request.url.path
    for rx, methods in table:
        if rx.match(path):
            return methods
    return ["GET"]


def install(app: FastAPI) -> None:
    """The exception handlers: every failure as JSON, none with a traceback or a copy of the input."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": _issues(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, (str, list)) else str(exc.detail)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
            detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(PiaaError)
    async def piaa_error(request: Request, exc: PiaaError):
        """piaa's own errors (one-line messages): bad input 422, storage or a missing shipped file 503, else 400."""
        problem = storage_problem(exc)
        if problem is not None:
            return JSONResponse({"detail": problem}, status_code=503, headers={"Retry-After": "30"})
        code = 422 if isinstance(exc, InputError) else 503 if isinstance(exc, AssetMissingError) else 400
        return JSONResponse({"detail": str(exc).splitlines()[0] if str(exc) else type(exc).__name__},
                            status_code=code)

    async def unavailable(request: Request, exc: Exception):
        problem = storage_problem(exc)
        if problem is None:
            log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
            return JSONResponse({"detail": "internal error (the server log has the details)"}, status_code=500)
        log.error("%s %s: %s", request.method, request.url.path, problem)
        return JSONResponse({"detail": problem}, status_code=503, headers={"Retry-After": "30"})

    app.add_exception_handler(DBAPIError, unavailable)
    app.add_exception_handler(OSError, unavailable)


__all__ = ["responses", "install", "storage_problem", "AUTH", "BODY", "DESCRIPTIONS", "HTTPException"]
