"""Profiles as portable JSON: export from one store, import into another (no pickle anywhere).

Layout (``format: "piaa-profile"``, ``format_version: 1``)::

    {"format": "piaa-profile", "format_version": 1, "name": ..., "method": ..., "created": ..., "meta": {...},
     "ratings": [{"image": ..., "score": ..., "origin": ...}, ...],
     "state": {"meta": {...}, "arrays": {NAME: {"dtype": "<f8", "shape": [...], "base64": "..."}}}}

Arrays are raw little-endian bytes in base64 with their dtype and shape; only numeric and boolean dtypes are
accepted on import, so a profile file can never carry code.
"""
from __future__ import annotations

import base64
import json
from typing import Any, Dict, Optional

import numpy as np

from piaa.errors import InputError
from piaa.profiles.store import ProfileStore, check_name

FORMAT = "piaa-profile"
FORMAT_VERSION = 1


class ProfileFileError(InputError):
    pass


def _encode_array(a: np.ndarray) -> Dict[str, Any]:
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise ProfileFileError(f"cannot export array of dtype {a.dtype} (only numbers and booleans)")
    a = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"), copy=False))
    return {"dtype": a.dtype.str, "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode("ascii")}


def _decode_array(name: str, spec: Dict[str, Any]) -> np.ndarray:
    try:
        dtype = np.dtype(spec["dtype"])
        shape = tuple(int(x) for x in spec["shape"])
        raw = base64.b64decode(spec["base64"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileFileError(f"array {name!r}: malformed ({exc})") from None
    if dtype.kind not in "biuf":
        raise ProfileFileError(f"array {name!r}: dtype {dtype} is not allowed (only numbers and booleans)")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ProfileFileError(f"array {name!r}: {len(raw)} bytes for shape {list(shape)} of {dtype} "
                               f"(expected {expected})")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def export_profile(store: ProfileStore, name: str) -> Dict[str, Any]:
    from piaa.state import state_from_bytes

    rec = store.load(name)
    state = state_from_bytes(rec["state"])
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "name": rec["name"], "method": rec["method"],
        "created": rec["created"], "updated": rec["updated"], "meta": rec["meta"],
        "ratings": [{"image": i, "score": s, "origin": o} for i, s, o in rec["ratings"]],
        "state": {"meta": state["meta"], "arrays": {k: _encode_array(v) for k, v in state["arrays"].items()}},
    }


def export_json(store: ProfileStore, name: str, without_ratings: bool = False) -> str:
    doc = export_profile(store, name)
    return json.dumps(strip_private(doc) if without_ratings else doc, indent=1, sort_keys=False, allow_nan=False)


def strip_private(doc: Dict[str, Any]) -> Dict[str, Any]:
    """An export for sharing a taste without one's ratings and paths: no rated photos (paths, scores, where each
    came from), no notes or source folder, and a taste-prior file named without its folder. What stays is what
    scoring needs (the fitted state, the scale) and the self-assessment's numbers."""
    import copy

    doc = copy.deepcopy(doc)
    doc["ratings"] = []
    meta = doc.get("meta") or {}
    for key in ("source", "notes"):
        meta.pop(key, None)
    meta["without_ratings"] = True
    for holder in (meta.get("params") or {}, (doc.get("state") or {}).get("meta") or {}):
        ref = holder.get("prior")
        if isinstance(ref, str) and ref.startswith("file:"):
            holder["prior"] = "file:" + ref[5:].replace("\\", "/").rsplit("/", 1)[-1]
    return doc


def import_profile(store: ProfileStore, data: Dict[str, Any], name: Optional[str] = None,
                   overwrite: bool = False, source: str = "profile file") -> str:
    """Validate an exported profile and save it (under ``name`` when given). Returns the stored name."""
    from piaa.state import state_to_bytes

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProfileFileError(f"{source}: not a piaa profile export (missing \"format\": \"{FORMAT}\")")
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise ProfileFileError(f"{source}: format_version {data.get('format_version')} is newer than this piaa "
                               f"understands ({FORMAT_VERSION})")
    for key in ("name", "method", "meta", "ratings", "state"):
        if key not in data:
            raise ProfileFileError(f"{source}: missing field {key!r}")
    meta = data["meta"]
    if not isinstance(meta, dict) or "scale" not in meta or "model_scale" not in meta:
        raise ProfileFileError(f"{source}: meta must hold the profile's scale and model_scale")
    state = data["state"]
    if not isinstance(state, dict) or not isinstance(state.get("arrays", {}), dict):
        raise ProfileFileError(f"{source}: state must be {{\"meta\": ..., \"arrays\": {{...}}}}")
    arrays = {k: _decode_array(k, v) for k, v in state.get("arrays", {}).items()}
    ratings = []
    for i, r in enumerate(data["ratings"]):
        try:
            ratings.append((str(r["image"]), float(r["score"]), r.get("origin")))
        except (KeyError, TypeError, ValueError):
            raise ProfileFileError(f"{source}: rating #{i + 1} must have image and a numeric score") from None
    new_name = check_name(name or data["name"])
    blob = state_to_bytes({"meta": state.get("meta", {}), "arrays": arrays})
    store.save(new_name, str(data["method"]), meta, blob, ratings, overwrite=overwrite, created=data.get("created"))
    return new_name
