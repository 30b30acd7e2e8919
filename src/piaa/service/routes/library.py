"""The photos: ``/api/library`` (feature progress, rescan) and ``/api/images`` (list, JPEG bytes)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import FileResponse

from piaa.service import marking, queries
from piaa.service.strict_json import StrictJSONRoute
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, responses
from piaa.service.schemas import MAX_ID, ImagePage, Progress

router = APIRouter(route_class=StrictJSONRoute, tags=["library"])
#: Display copies are re-encoded per photo and change when the photo does (their name carries size + mtime),
#: so the browser may keep one for an hour; "private": only the signed-in person's browser, never a proxy.
IMAGE_CACHE_CONTROL = "private, max-age=3600"
ImageId = Path(ge=1, le=MAX_ID, description="a photo id (from GET /api/images)")


@router.get("/library", response_model=Progress, responses=responses(*AUTH))
def library_status(caller: Auth, state: State):
    """Feature extraction progress: state (scanning / extracting / ready / error), total, done, failed."""
    return {**state.library.progress.as_dict(), "checks": state.checks.status()}


@router.post("/library/rescan", status_code=202, response_model=Progress, responses=responses(*AUTH))
def library_rescan(caller: Auth, state: State):
    """Look for new, changed and removed photos in the library folders (extraction runs in the background)."""
    state.library.request_rescan()
    return {**state.library.progress.as_dict(), "checks": state.checks.status()}


@router.get("/images", response_model=ImagePage, responses=responses(*AUTH, 422))
def images(caller: Auth, state: State, offset: int = Query(0, ge=0, le=MAX_ID),
           limit: int = Query(200, ge=1, le=1000)):
    """Photos of the libraries, in folder order, with the caller's own rating, flag and label (or null)."""
    ids = state.library.ids()
    page = ids[offset:offset + limit]
    mine = queries.own_ratings(state.db, caller.id)
    marks = marking.marks_of(state.db, caller.id)
    lib = state.library
    return {"images": [{"id": i, "name": lib.name(i), "rating": mine.get(i), "error": lib.error(i),
                        "flag": marks.get(i, (None, None))[0], "label": marks.get(i, (None, None))[1]} for i in page],
            "total": len(ids), "offset": offset, "limit": limit}


def known(state, image_id: int) -> None:
    if not state.library.exists(image_id):
        raise HTTPException(404, f"no photo with id {image_id}")


@router.get("/images/{image_id}", response_class=FileResponse, responses={
    200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
          "description": f"the photo as a JPEG (Cache-Control: {IMAGE_CACHE_CONTROL})"},
    **responses(*AUTH, 404, 422)})
def image_bytes(caller: Auth, state: State, image_id: int = ImageId,
                size: Literal["display", "thumb"] = Query("display")):
    """The photo as a JPEG, longest side at most 1600 px (``size=thumb``: 480 px)."""
    from piaa.io.images import ImageLoadError

    known(state, image_id)
    try:
        path = state.library.display_jpeg(image_id, size)
    except FileNotFoundError:
        raise HTTPException(404, f"photo {image_id} is no longer in the library") from None
    except ImageLoadError as exc:
        raise HTTPException(422, f"photo {image_id} cannot be shown: {exc.reason}") from None
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": IMAGE_CACHE_CONTROL})
