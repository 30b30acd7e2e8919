"""Taking one's data along: ``/api/export/ratings`` (CSV / JSON), ``/api/export/profile`` (piaa-profile JSON,
``piaa profile import`` reads it); ``/api/export/xmp`` is in :mod:`piaa.service.routes.xmp`."""
from __future__ import annotations

import csv
import io
from typing import Dict, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response

from piaa.profiles.core import STAR_SCALE
from piaa.service import personal, queries
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, responses
from piaa.service.schemas import ProfileDocument, RatingsExport

router = APIRouter(route_class=StrictJSONRoute, prefix="/export", tags=["export"])


def attachment(filename: str) -> Dict[str, str]:
    """A Content-Disposition header that is always one valid line (usernames are plain ASCII by the signup rule;
    anything else is replaced, never passed into the header)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._@-") else "_" for c in filename)
    return {"Content-Disposition": f'attachment; filename="{safe}"'}


#: A cell a spreadsheet would run as a formula starts with one of these (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as text a spreadsheet shows and never runs: a photo named ``=HYPERLINK(...).jpg`` gets a leading
    ``'`` (OWASP's advice); every other cell is unchanged."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


@router.get("/ratings", response_model=RatingsExport, responses={
    200: {"description": "CSV (format=csv, the default): image_id,image,rating; JSON (format=json)",
          "content": {"text/csv": {"schema": {"type": "string"}},
                      "application/json": {"schema": {"$ref": "#/components/schemas/RatingsExport"}}}},
    **responses(*AUTH, 422)})
def export_ratings(caller: Auth, state: State, format: Literal["csv", "json"] = Query("csv")):
    """The caller's ratings and comparisons: CSV ``image_id,image,rating`` (a name a spreadsheet would take for
    a formula, starting with ``= + - @``, tab or CR, gets a leading ``'``) or JSON (names as they are)."""
    ratings, comps = queries.judgements(state.db, caller.id)
    lib = state.library
    name = lambda i: lib.name(i) if lib.exists(i) else None  # noqa: E731
    if format == "json":
        return JSONResponse({"user": caller.username, "scale": list(STAR_SCALE),
                             "ratings": [{"image_id": i, "image": name(i), "rating": r} for i, r in ratings],
                             "comparisons": [{"better": b, "worse": w} for b, w in comps]},
                            headers=attachment(f"{caller.username}-ratings.json"))
    buf = io.StringIO()
    wr = csv.writer(buf)
    wr.writerow(["image_id", "image", "rating"])
    for i, r in ratings:
        wr.writerow([i, spreadsheet_safe(name(i) or ""), f"{r:g}"])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers=attachment(f"{caller.username}-ratings.csv"))


@router.get("/profile", response_model=ProfileDocument, responses=responses(*AUTH, 404))
def export_profile(caller: Auth, state: State):
    """The caller's profile in the ``piaa-profile`` JSON format (``piaa profile import FILE`` reads it)."""
    doc = personal.export_document(state, caller.username, caller.id)
    if doc is None:
        raise HTTPException(404, "you have no profile yet")
    return JSONResponse(doc, headers=attachment(f"{caller.username}.piaa.json"))
