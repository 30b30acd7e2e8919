"""What the passes at 100 % found on a photo, cached by content hash next to its features.

A second ``piaa cull`` — or ``piaa score --detail / --faces`` — of the same photos decodes none of them again.
Kept per photo (never pixels): the luminance plane's size, the native size and scale, the faces the default
detector found on each size of colour copy it was shown (boxes, eyes, each face's sharpness), and every
measurement asked of the photo, keyed by what it depends on (:func:`measure_key`: the subject's box and eye
boxes, the tile positions, whether only focus was measured) — the frames of a burst are measured on the
tiles of their group's first frame, so one photo may carry a measurement per group it was culled in.

Entries live in the feature cache's SQLite file (:meth:`piaa.features.FeatureCache.get_blobs`), keyed by the
content hash and :func:`version_key` — the version of this format and every setting of the detail pass and the
face detector the numbers depend on — so a changed setting never returns stale numbers. An entry that cannot
be read back (truncated, written by something else) is ignored and recomputed, never an error.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.errors import CacheEntryError

#: Bump when what is measured changes without any setting below changing.
DETAIL_VERSION = 1
#: At most this many measurements are kept per photo (the oldest go first).
MAX_MEASURES = 8


@functools.lru_cache(maxsize=1)
def version_key() -> str:
    """The detail code's version and the settings its numbers depend on, as a short key: the settings, and the
    source of the modules that compute the numbers (any edit there, a setting or not, starts a new cache)."""
    from piaa.detail import clipping, decode, focus, measure, motion, noise, plane, tiles

    parts: list = [DETAIL_VERSION, tiles.TILE, tiles.MAX_TEXTURED, tiles.MAX_FLAT, tiles._STEP, focus.REBLUR,
                   focus.FLAT, focus.BLOCK, focus.DIRECTIONS, motion.COARSE, measure.TOP_SHARE, measure.TOP_MIN,
                   decode.NATIVE_LONG_SIDE_CAP,
                   [_file_digest(m.__file__) for m in (clipping, decode, focus, measure, motion, noise, plane, tiles)],
                   _faces_fingerprint()]
    return "detail-" + hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def _file_digest(path) -> str:
    try:
        with open(path, "rb") as fp:
            return hashlib.blake2b(fp.read(), digest_size=8).hexdigest()
    except (OSError, TypeError):   # no readable source (a frozen install): the settings alone decide
        return "-"


def _faces_fingerprint() -> str:
    """The default face detector's settings, source and shipped eye model (only its faces are cached)."""
    try:
        from piaa.faces import detect, eye_features, eyes, models
        from piaa.faces.eye_model import SHIPPED
        from piaa.paths import assets_dir

        return repr((detect.DETECT_LONG_SIDE, detect.UPSAMPLE_BELOW, detect.MIN_SIDE, detect.LANDMARK_FACE_SIZE,
                     detect.DETECT_THRESHOLD, _file_digest(assets_dir() / SHIPPED),
                     [_file_digest(m.__file__) for m in (detect, eye_features, eyes, models)]))
    except Exception:  # no faces package here: faces are then never detected, so never cached
        return "no-faces"


def measure_key(box, eyes: Sequence = (), positions: Optional[np.ndarray] = None, focus_only: bool = True) -> str:
    """What a measurement of one photo depends on besides its pixels, as a short key."""
    pos = None if positions is None else np.ascontiguousarray(positions, np.int64)
    text = repr((None if box is None else tuple(int(v) for v in box),
                 tuple(tuple(int(v) for v in e) for e in eyes or ()),
                 None if pos is None else (pos.shape, hashlib.blake2b(pos.tobytes(), digest_size=12).hexdigest()),
                 bool(focus_only)))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def pack(d) -> bytes:
    """A :class:`piaa.profiles.photo_detail.PhotoDetail`'s cacheable part as bytes (an ``.npz``, no pickle)."""
    from piaa.detail.measure import detail_state

    meta: dict = {"shape": [int(v) for v in d.shape], "native_size": [int(v) for v in d.native_size],
                  "scale": float(d.scale),
                  "faces": {str(k): [_face_state(f) for f in fs] for k, fs in d.faces_by_side.items()},
                  "measures": []}
    arrays: Dict[str, np.ndarray] = {}
    for n, (key, det) in enumerate(list(d.measures.items())[-MAX_MEASURES:]):
        m, arr = detail_state(det)
        meta["measures"].append({"key": key, **m})
        arrays.update({f"{n}/{k}": v for k, v in arr.items()})
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def unpack(path: str, data: bytes):
    """The :class:`~piaa.profiles.photo_detail.PhotoDetail` :func:`pack` stored (no pixels); ValueError when
    the bytes are not a complete entry."""
    from piaa.detail.measure import detail_from_state
    from piaa.profiles.photo_detail import PhotoDetail

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        out = PhotoDetail(path)
        out.shape = (int(meta["shape"][0]), int(meta["shape"][1]))
        out.native_size = (int(meta["native_size"][0]), int(meta["native_size"][1]))
        out.scale = float(meta["scale"])
        out.faces_by_side = {str(k): [_face_from_state(f) for f in fs] for k, fs in meta["faces"].items()}
        for n, m in enumerate(meta["measures"]):
            pre = f"{n}/"
            out.measures[str(m["key"])] = detail_from_state(m, {k[len(pre):]: v for k, v in arrays.items()
                                                               if k.startswith(pre)})
    except Exception as e:  # any damage: the entry is recomputed
        raise CacheEntryError(f"unreadable detail cache entry ({type(e).__name__})") from e
    return out


def _face_state(f) -> dict:
    return {"box": [int(v) for v in f.box], "confidence": float(f.confidence), "eyes": str(f.eyes),
            "p": None if f.eyes_open_probability is None else float(f.eyes_open_probability),
            "eye_boxes": [[int(v) for v in e] for e in f.eye_boxes], "sharpness": float(f.sharpness)}


def _face_from_state(s: dict):
    from piaa.profiles.photo_detail import FaceDetail

    box = tuple(int(v) for v in s["box"])
    if len(box) != 4:
        raise CacheEntryError("box")
    return FaceDetail(box, float(s["confidence"]), str(s["eyes"]), None if s["p"] is None else float(s["p"]),
                      [tuple(int(v) for v in e) for e in s["eye_boxes"]], float(s["sharpness"]))


class DetailStore:
    """Read and write entries in a feature cache (``"default"``, a path, a FeatureCache; None = no caching:
    every method then does nothing)."""

    def __init__(self, cache="default"):
        from piaa.features import open_cache

        self.cache = open_cache(cache) if cache not in (None, False) else None
        self.key = version_key()

    def hashes(self, paths: Sequence[str]) -> List[Optional[str]]:
        """Content hashes of ``paths`` (the feature cache's memo when it knows the file; None when unreadable)."""
        if self.cache is not None:
            return [self.cache.content_hash(p) for p in paths]
        from piaa.io.hashing import image_file_hash

        out: List[Optional[str]] = []
        for p in paths:
            try:
                out.append(image_file_hash(p))
            except OSError:
                out.append(None)
        return out

    def load(self, paths: Sequence[str], hashes: Sequence[Optional[str]]) -> dict:
        """``{index: PhotoDetail}`` for the photos with a readable entry (damaged ones are left out)."""
        if self.cache is None:
            return {}
        try:
            blobs = self.cache.get_blobs([h for h in hashes if h], self.key)
        except Exception:  # a damaged or locked cache file: nothing cached, nothing lost
            return {}
        out = {}
        for i, (p, h) in enumerate(zip(paths, hashes)):
            if h in blobs:
                try:
                    d = unpack(p, blobs[h])
                except CacheEntryError:
                    continue
                d.hash = h
                out[i] = d
        return out

    def save(self, found: Sequence) -> None:
        """Store the photos of ``found`` that learned something new (their ``dirty`` flag)."""
        if self.cache is None:
            return
        items = {}
        for d in found:
            if d is not None and d.dirty and d.hash and d.shape is not None:
                items[d.hash] = pack(d)
                d.dirty = False
        try:
            self.cache.put_blobs(items, self.key)
        except Exception:  # a read-only or locked cache: the results are still returned, just not kept
            pass
