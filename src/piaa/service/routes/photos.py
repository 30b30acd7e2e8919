"""The photo view: ``GET /api/images/{id}/info`` (EXIF summary, histogram, the caller's marks, quality) and
``GET /api/images/{id}/original`` (the file itself, to download)."""
from __future__ import annotations

import mimetypes
import os

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, StreamingResponse

from piaa.service import marking, photo_facts, queries
from piaa.service.deps import Auth, State
from piaa.service.errors import AUTH, responses
from piaa.service.routes.export import attachment
from piaa.service.routes.library import ImageId, known
from piaa.service.schemas import PhotoInfo
from piaa.service.strict_json import StrictJSONRoute

router = APIRouter(route_class=StrictJSONRoute, tags=["library"])
BROWSER_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"}


def _source(state, image_id: int):
    known(state, image_id)
    path = state.library.path(image_id)
    if path is None or not path.is_file():
        raise HTTPException(404, f"photo {image_id} is no longer in the library")
    return path


def media_type(path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@router.get("/images/{image_id}/info", response_model=PhotoInfo, responses=responses(*AUTH, 404, 422))
def photo_info(caller: Auth, state: State, image_id: int = ImageId):
    """What the photo view shows beside the picture: camera, lens, exposure, focal length, capture date, the
    RGB/luminance histogram (``histogram_error`` says why when the photo cannot be decoded), the caller's
    stars, flag and label, and the technical quality."""
    from piaa.io.images import ImageLoadError
    from piaa.io.photo_info import exif_summary, histogram

    path = _source(state, image_id)
    hist, herr = None, None
    try:
        hist = histogram(path)
    except ImageLoadError as exc:
        herr = exc.reason
    flag, label = marking.marks_of(state.db, caller.id).get(image_id, (None, None))
    q = photo_facts.quality_of(state, image_id) if state.library.ready else None
    mt = media_type(path)
    return {"id": image_id, "name": state.library.name(image_id),
            "rating": queries.own_ratings(state.db, caller.id).get(image_id), "flag": flag, "label": label,
            "quality": q, "exif": exif_summary(path), "histogram": hist, "histogram_error": herr,
            "original": {"media_type": mt, "bytes": path.stat().st_size, "browser_viewable": mt in BROWSER_TYPES},
            "error": state.library.error(image_id)}


@router.get("/images/{image_id}/original", response_class=FileResponse, responses={
    200: {"content": {"image/*": {"schema": {"type": "string", "format": "binary"}},
                      "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
          "description": "the original file as it lies in the library (its own media type), as an attachment"},
    **responses(*AUTH, 404, 422)})
def original(caller: Auth, state: State, image_id: int = ImageId):
    """Download the original photo file, byte for byte; 422 with the reason when the server cannot read it."""
    path = _source(state, image_id)
    fh, size = open_original(path, image_id)
    return StreamingResponse(_chunks(fh), media_type=media_type(path),
                             headers={**attachment(path.name), "Cache-Control": "private, max-age=3600",
                                      "Content-Length": str(size)})


def open_original(path, image_id: int):
    """(open file, size) of a photo to send. Opened before the answer starts (a photo the server may not read
    was answered 200 with its Content-Length and then no bytes), regular files only and without blocking (a
    FIFO in its place must not hang a worker); 422 naming the reason, never the path, when it cannot be read."""
    from piaa.io.files import open_regular

    try:
        fh = open_regular(path)
    except OSError as exc:
        raise HTTPException(422, f"photo {image_id} cannot be read by the server: "
                                 f"{exc.strerror or type(exc).__name__}") from None
    return fh, os.fstat(fh.fileno()).st_size


def _chunks(fh, size: int = 1 << 16):
    with fh:
        while True:
            chunk = fh.read(size)
            if not chunk:
                return
            yield chunk
