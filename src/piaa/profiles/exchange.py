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


def encode_array(a: np.ndarray) -> Dict[str, Any]:
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

    from piaa.profiles.core import export_document

    rec = store.load(name)
    return export_document(rec["name"], rec["method"], rec["meta"], state_from_bytes(rec["state"]), rec["ratings"],
                           created=rec["created"], updated=rec["updated"])


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


# ---- import: the whole document is validated (schema, sizes, depth) before anything is stored ------------------
#: Largest profile file read by ``piaa profile import`` (bytes).
MAX_PROFILE_BYTES = 64 << 20
#: Deepest JSON nesting accepted (an export is 5 levels deep; meta may hold small nested records).
MAX_JSON_DEPTH = 32
MAX_RATINGS = 1_000_000


def _schema():
    """The pydantic models of an export (built on first use: pydantic is imported only by import)."""
    import math
    from typing import List, Literal

    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

    finite = Field(allow_inf_nan=False, strict=False)

    class _Strict(BaseModel):
        model_config = ConfigDict(strict=True, extra="ignore")

    class Rating(_Strict):
        image: StrictStr = Field(min_length=1, max_length=4096)
        score: float = finite
        origin: Optional[StrictStr] = Field(default=None, max_length=4096)

        @field_validator("score", mode="before")
        @classmethod
        def _number(cls, v):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError("must be a number")
            return float(v)

    class Array(_Strict):
        dtype: StrictStr = Field(max_length=16)
        shape: List[StrictInt] = Field(max_length=8)
        base64: StrictStr

    class State(_Strict):
        meta: Dict[str, Any] = Field(default_factory=dict)
        arrays: Dict[str, Array]

    class Meta(BaseModel):
        model_config = ConfigDict(extra="allow")
        scale: List[float] = Field(min_length=2, max_length=2)
        model_scale: List[float] = Field(min_length=2, max_length=2)
        uses_offset: Optional[StrictBool] = None

        @field_validator("scale", "model_scale", mode="before")
        @classmethod
        def _pair(cls, v):
            if not isinstance(v, list) or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in v):
                raise ValueError("must be [min, max], two numbers")
            if len(v) == 2 and not (math.isfinite(v[0]) and math.isfinite(v[1]) and v[0] < v[1]):
                raise ValueError("must be [min, max] with finite min < max")
            return v

    class Document(_Strict):
        format: Literal["piaa-profile"]
        format_version: StrictInt = Field(ge=1, le=FORMAT_VERSION)
        name: StrictStr = Field(max_length=1000)
        method: StrictStr = Field(min_length=1, max_length=100)
        created: Optional[StrictStr] = Field(default=None, max_length=64)
        updated: Optional[StrictStr] = Field(default=None, max_length=64)
        meta: Meta
        ratings: List[Rating] = Field(max_length=MAX_RATINGS)
        state: State

    return Document


def _too_deep(obj, limit: int) -> bool:
    """Whether ``obj`` nests dicts/lists deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (dict, list)):
            if d > limit:
                return True
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return False


def read_profile_file(path) -> Dict[str, Any]:
    """The document of an export file (``"-"``: standard input): a regular file only (a FIFO would hang) with a
    size cap, parsed by :func:`parse_profile_text`; :class:`ProfileFileError` when it cannot be read."""
    import sys

    from piaa.io.files import read_regular

    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_PROFILE_BYTES + 1)
        else:
            raw = read_regular(path, MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_profile_text(raw, source=str(path))


def parse_profile_text(text, source: str = "profile file") -> Dict[str, Any]:
    """JSON text (str or bytes) of an export -> the document, with a size cap and a nesting limit;
    :class:`ProfileFileError` on anything else."""
    if len(text) > MAX_PROFILE_BYTES:
        raise ProfileFileError(f"{source}: larger than {MAX_PROFILE_BYTES >> 20} MB: not a profile export")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ProfileFileError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileFileError(f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ProfileFileError(f"{source}: JSON nested too deeply (limit {MAX_JSON_DEPTH})") from None
    if _too_deep(data, MAX_JSON_DEPTH):
        raise ProfileFileError(f"{source}: JSON nested too deeply (limit {MAX_JSON_DEPTH})")
    return data


def validate_document(data: Any, source: str = "profile file"):
    """The export validated against the schema (a pydantic model) or :class:`ProfileFileError` naming the
    first problems by their place in the document (``ratings.3.score: must be a number``)."""
    from pydantic import ValidationError

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProfileFileError(f"{source}: not a piaa profile export (missing \"format\": \"{FORMAT}\")")
    if isinstance(data.get("format_version"), int) and data["format_version"] > FORMAT_VERSION:
        raise ProfileFileError(f"{source}: format_version {data.get('format_version')} is newer than this piaa "
                               f"understands ({FORMAT_VERSION})")
    if _too_deep(data, MAX_JSON_DEPTH):
        raise ProfileFileError(f"{source}: JSON nested too deeply (limit {MAX_JSON_DEPTH})")
    try:
        return _schema().model_validate(data)
    except ValidationError as exc:
        probs = []
        for e in exc.errors()[:3]:
            where = ".".join(str(x) for x in e.get("loc", ())) or "document"
            if e.get("type") == "missing":
                probs.append(f"missing field {where!r}")
            else:
                probs.append(f"{where}: {e.get('msg', 'invalid')}")
        more = f" (and {exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        raise ProfileFileError(f"{source}: not a valid profile export: {'; '.join(probs)}{more}") from None


def import_profile(store: ProfileStore, data: Dict[str, Any], name: Optional[str] = None,
                   overwrite: bool = False, source: str = "profile file") -> str:
    """Validate an exported profile and save it (under ``name`` when given). Returns the stored name.

    The whole document is checked before anything is stored: its schema (types, finite numbers, the scales),
    every array (numeric dtype, size matching its shape), the name, each rating inside the profile's scale, and
    -- when the method is installed -- that the fitted state loads into that method."""
    from piaa.state import state_to_bytes

    doc = validate_document(data, source)
    new_name = check_name(name if name is not None else doc.name)
    meta = doc.meta.model_dump()
    arrays = {k: _decode_array(k, v.model_dump()) for k, v in doc.state.arrays.items()}
    lo, hi = meta["scale"]
    ratings = []
    for i, r in enumerate(doc.ratings):
        if not lo - 1e-9 <= r.score <= hi + 1e-9:
            raise ProfileFileError(f"{source}: rating #{i + 1} ({r.score:g}) is outside the profile's scale "
                                   f"{lo:g}..{hi:g}")
        ratings.append((r.image, r.score, r.origin))
    state = {"meta": doc.state.meta, "arrays": arrays}
    _check_state_loads(doc.method, state, source)
    try:
        json.dumps(meta, allow_nan=False)
        blob = state_to_bytes(state)
    except (TypeError, ValueError) as exc:
        raise ProfileFileError(f"{source}: cannot store this profile ({exc})") from None
    store.save(new_name, doc.method, meta, blob, ratings, overwrite=overwrite, created=doc.created)
    return new_name


def _check_state_loads(method: str, state: Dict[str, Any], source: str) -> None:
    """The fitted state must load into its method (when that method is installed here): a missing or
    malformed array is refused now rather than breaking ``rank``/``show`` later."""
    from piaa.personalize.registry import get_personalizer_class

    try:
        klass = get_personalizer_class(method)
    except KeyError:
        return  # stored as is; `profile show` reports the method as unavailable
    try:
        klass.from_state_dict({"meta": dict(state["meta"]), "arrays": dict(state["arrays"])})
    except Exception as exc:  # any failure of a foreign document is a bad file, never a traceback
        raise ProfileFileError(f"{source}: the fitted state does not load into method {method!r} "
                               f"({type(exc).__name__}: {exc})") from None
