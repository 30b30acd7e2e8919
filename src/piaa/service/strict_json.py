"""JSON request bodies as the JSON standard defines them: no ``NaN``, ``Infinity`` or numbers that overflow
to infinity (``1e309``), and UTF-8 text.

Python's ``json`` module accepts all three, and the values then reached code that could not serialize them back
(a 500 reachable without signing in). :class:`StrictJSONRoute` checks the raw body before FastAPI parses it
and answers 422 with the list-of-problems body of every other validation error.
"""
from __future__ import annotations

import json
import math

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


class _NotJSON(ValueError):
    pass


def _constant(name: str):
    raise _NotJSON(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _NotJSON(f"{text} is too large for a JSON number")
    return v


def check_json(body: bytes) -> None:
    """Raise :class:`RequestValidationError` unless ``body`` is strict JSON text."""
    try:
        json.loads(body.decode("utf-8"), parse_constant=_constant, parse_float=_finite)
    except UnicodeDecodeError:
        problem, kind = "the body is not UTF-8 text", "json_invalid"
    except _NotJSON as exc:
        problem, kind = str(exc), "finite_number"
    except (json.JSONDecodeError, RecursionError):
        problem, kind = "the body is not valid JSON", "json_invalid"
    else:
        return
    raise RequestValidationError([{"loc": ("body",), "msg": problem, "type": kind}])


class StrictJSONRoute(APIRoute):
    """An APIRoute that refuses non-standard JSON bodies (see the module docs)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict(request: Request):
            ctype = request.headers.get("content-type", "")
            if request.method in ("POST", "PUT", "PATCH") and "json" in ctype.lower():
                body = await request.body()
                if body:
                    check_json(body)
            return await handler(request)

        return strict
