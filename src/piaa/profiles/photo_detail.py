"""A photo seen at 100 %: its faces (with eye state and each face's sharpness) and its detail measures.

This is where the two layer-1 packages meet: :mod:`piaa.faces` finds faces on a small colour copy of the photo
and :mod:`piaa.detail` measures the native-resolution pixels — inside each face's box for the face's sharpness,
over the whole frame for the sharpness map, motion blur, noise and clipping. The photo is decoded once per
call (luminance at full size + the small copy; :func:`piaa.detail.decode.load_native`).

The face detector is a parameter (``detector``: any callable ``rgb -> [Face]`` keeping the
:mod:`piaa.faces` contract), so tests and other detectors plug in without touching this module; ``None``
means :func:`piaa.faces.detect_faces`.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from piaa.errors import PiaaError


class FacesUnavailable(PiaaError):
    """The face detector cannot run here (its model package is missing)."""


@dataclass
class FaceDetail:
    """One face, in native pixels of the upright photo."""

    box: tuple                      # (x, y, w, h)
    confidence: float
    eyes: str                       # "open" | "closed" | "unsure"
    eyes_open_probability: Optional[float]
    eye_boxes: List[tuple]
    sharpness: float                # 0..1 from the native pixels in the box (and eyes), NaN if unmeasurable

    def record(self) -> dict:
        return {"box": [int(v) for v in self.box], "eyes": self.eyes,
                "sharpness": round(float(self.sharpness), 4) if np.isfinite(self.sharpness) else None,
                "confidence": round(float(self.confidence), 4),
                "eyes_open_probability": None if self.eyes_open_probability is None
                else round(float(self.eyes_open_probability), 4)}


@dataclass
class PhotoDetail:
    """What :func:`inspect` found for one photo (``error`` set, the rest empty, when it could not be read)."""

    path: str
    detail: Optional[object] = None          # piaa.detail.measure.Detail
    faces: Optional[List[FaceDetail]] = None
    native: Optional[object] = None          # piaa.detail.decode.NativeImage, when asked to keep the pixels
    error: Optional[str] = None
    seconds: dict = field(default_factory=dict)
    # what piaa.profiles.detail_cache keeps: the luminance plane's (H, W), native (w, h) and scale, the faces the
    # default detector found per size of colour copy, and every measurement asked (measure key -> Detail)
    hash: Optional[str] = None
    shape: Optional[tuple] = None
    native_size: Optional[tuple] = None
    scale: float = 1.0
    faces_by_side: Dict[str, List[FaceDetail]] = field(default_factory=dict)
    measures: dict = field(default_factory=dict)
    dirty: bool = False                      # learned something the cache does not hold yet

    @property
    def subject_face(self) -> Optional[FaceDetail]:
        return self.faces[0] if self.faces else None

    def measure(self, box=None, eyes: Sequence = (), positions=None, focus_only: bool = True):
        """:func:`piaa.detail.measure.analyze_native` with boxes in native pixels — from the cache when this
        photo was measured so before, else on its pixels (decoded now, luminance only, if not kept).
        Raises :class:`piaa.io.images.ImageLoadError` when the photo cannot be decoded any more."""
        import time

        from piaa.detail.measure import analyze_native
        from piaa.profiles.detail_cache import measure_key

        key = measure_key(box, eyes, positions, focus_only)
        det = self.measures.get(key)
        if det is None:
            if self.native is None:
                from piaa.detail.decode import load_native

                t = time.perf_counter()
                self.native = load_native(self.path)
                self.seconds["decode"] = self.seconds.get("decode", 0.0) + time.perf_counter() - t
                self._learn_native(self.native)
            det = analyze_native(self.native, box, eyes, positions=positions, focus_only=focus_only)
            self.measures[key] = det
            self.dirty = True
        return det

    def _learn_native(self, native) -> None:
        self.shape = tuple(native.shape)
        self.native_size = tuple(native.native_size)
        self.scale = float(native.scale)


def default_detector(turned: bool = True) -> Callable:
    """:func:`piaa.faces.detect_faces` (``turned=False``: :func:`piaa.faces.detect_upright_faces`, no search of
    turned copies), or :class:`FacesUnavailable` when the faces package cannot run here (checked once, on a blank
    picture, so a missing model fails before any photo is decoded)."""
    try:
        from piaa.faces import detect_faces, detect_upright_faces
    except ImportError as e:
        raise FacesUnavailable(f"face detection is not available in this installation ({e})") from e
    try:
        detect_faces(np.zeros((64, 64, 3), np.uint8))
    except PiaaError as e:
        raise FacesUnavailable(f"face detection is not available: {e}") from e
    return detect_faces if turned else detect_upright_faces


def is_default_detector(detector) -> bool:
    """``detector`` is None or one of :func:`default_detector`'s (whose faces the detail cache may keep: their
    settings are part of the cache key; another detector's faces are never cached)."""
    if detector is None:
        return True
    detector = getattr(detector, "inner", detector)
    try:
        from piaa.faces import detect_faces, detect_upright_faces
    except ImportError:
        return False
    return detector is detect_faces or detector is detect_upright_faces


def faces_key(detector, faces_long_side: int) -> str:
    """Where a photo's cache entry keeps ``detector``'s faces on a copy of ``faces_long_side`` pixels: the
    upright-only detector's answer differs from the full one's on photos without an upright face."""
    try:
        from piaa.faces import detect_upright_faces
    except ImportError:
        detect_upright_faces = None
    return f"{faces_long_side}-upright" if detector is not None and detector is detect_upright_faces \
        else str(faces_long_side)


def _faces(native, detector) -> List[FaceDetail]:
    from piaa.detail.measure import face_sharpness

    found = detector(native.small_rgb)
    out = []
    for f in sorted(found, key=lambda f: -(f.box[2] * f.box[3])):   # largest first, whatever the detector did
        box = native.to_native(f.box)
        eyes = [native.to_native(e) for e in (getattr(f, "eye_boxes", None) or [])]
        s = face_sharpness(native.plane, native.to_luminance(box), [native.to_luminance(e) for e in eyes])
        out.append(FaceDetail(box, float(f.confidence), str(f.eyes), getattr(f, "eyes_open_probability", None),
                              eyes, s))
    return out


def inspect(path, *, detail: bool = True, faces: bool = True, detector: Optional[Callable] = None,
            keep_pixels: bool = False, faces_long_side: int = 0, small_rgb: Optional[np.ndarray] = None,
            known: Optional[PhotoDetail] = None, cache_faces: bool = True) -> PhotoDetail:
    """Decode ``path`` once and measure it: faces (``faces=True``) and the detail pass (``detail=True``).

    ``faces_long_side``: the size of the colour copy the detector sees (0 = the full-resolution photo, for the
    most precise eye state; :data:`piaa.detail.decode.FACES_LONG_SIDE` where speed matters). ``small_rgb``:
    that copy, decoded elsewhere already (:func:`piaa.detail.decode.small_copy_of`). ``known``: what the
    detail cache holds for the photo (:mod:`piaa.profiles.detail_cache`): whatever it answers is not
    recomputed, and nothing is decoded when it answers everything; the result carries it forward with what
    was added (``dirty``). ``cache_faces``: the detector is the default one, so its faces may be cached.
    An unreadable photo gives a record with ``error``; a missing face model raises :class:`FacesUnavailable`
    (a setup problem, not the photo's)."""
    import time

    from piaa.detail.decode import load_native
    from piaa.io.images import ImageLoadError

    out = PhotoDetail(str(path))
    if known is not None:   # the cache's entry: its faces and measures, without pixels
        out.hash, out.shape, out.native_size, out.scale = known.hash, known.shape, known.native_size, known.scale
        out.faces_by_side = dict(known.faces_by_side) if cache_faces else {}
        out.measures = dict(known.measures)
    slot = faces_key(getattr(detector, "inner", detector), faces_long_side)
    found = out.faces_by_side.get(slot) if faces and cache_faces else None
    native = None
    if out.shape is None or (faces and found is None):
        t0 = time.perf_counter()
        try:
            native = load_native(path, faces_long_side=faces_long_side if faces and found is None else None,
                                 small_rgb=small_rgb)
        except ImageLoadError as e:
            out.error = e.reason
            return out
        except MemoryError:
            out.error = "out of memory while decoding"
            return out
        out.seconds["decode"] = time.perf_counter() - t0
        out.native = native
        out._learn_native(native)
        out.dirty = True
    if faces:
        t1 = time.perf_counter()
        if found is None:
            found = _faces(native, detector or default_detector())
            if cache_faces:
                out.faces_by_side[slot] = found
            out.seconds["faces"] = time.perf_counter() - t1
        out.faces = list(found)
    if detail:
        t2 = time.perf_counter()
        subject = out.subject_face
        try:
            out.detail = out.measure(subject.box if subject else None, subject.eye_boxes if subject else (),
                                     focus_only=False)
        except ImageLoadError as e:   # the cache knew it, the file is unreadable now
            out.error = e.reason
            return out
        out.seconds["detail"] = time.perf_counter() - t2
    if out.native is not None:
        out.native.small_rgb = None
    if not keep_pixels:
        out.native = None
    return out


def inspect_many(paths: Sequence, *, detail: bool = True, faces: bool = True, detector: Optional[Callable] = None,
                 keep_pixels: bool = False, threads: int = 2, faces_long_side: int = 0, cache=None,
                 known: Optional[dict] = None, small_copies: Optional[dict] = None,
                 cache_faces: Optional[bool] = None) -> List[PhotoDetail]:
    """:func:`inspect` over ``paths`` in ``threads`` threads (decoding and numpy release the GIL), in order.

    ``cache``: a feature cache (``"default"``, a path, a FeatureCache; None = none) whose detail entries
    (:mod:`piaa.profiles.detail_cache`) are read first and updated after; ``known``: ``{index: entry}``
    already read; ``small_copies``: ``{path: faces' copy}`` decoded elsewhere. ``cache_faces``: may the faces
    be cached (default: when ``detector`` is None, the default detector)."""
    from piaa.profiles.detail_cache import DetailStore

    if faces and detector is None:
        detector = default_detector()   # fail once, before any work, when the face model is missing
    if cache_faces is None:
        cache_faces = is_default_detector(detector)
    if faces:
        detector = serialized(detector)
    store = DetailStore(cache) if cache is not None else None
    hashes: List[Optional[str]] = [None] * len(paths)
    if known is None:
        known = {}
        if store is not None:
            hashes = store.hashes([str(p) for p in paths])
            known = store.load([str(p) for p in paths], hashes)

    def one(k):
        p = paths[k]
        d = inspect(p, detail=detail, faces=faces, detector=detector, keep_pixels=keep_pixels,
                    faces_long_side=faces_long_side, known=known.get(k), cache_faces=cache_faces,
                    small_rgb=(small_copies or {}).pop(str(p), None))
        if d.hash is None and d.dirty and store is not None:
            d.hash = hashes[k] or store.hashes([str(p)])[0]
        return d

    if threads <= 1 or len(paths) < 2:
        out = [one(k) for k in range(len(paths))]
    else:
        with ThreadPoolExecutor(max_workers=threads) as ex:
            out = list(ex.map(one, range(len(paths))))
    if store is not None:
        store.save(out)
    return out


def serialized(detector: Callable) -> Callable:
    """The detector behind a lock: decoding and measuring run in parallel, detection one photo at a time
    (a detector's model need not be thread-safe). Wrapping twice adds nothing."""
    import threading

    if getattr(detector, "_piaa_serialized", False):
        return detector
    lock = threading.Lock()

    def run(rgb):
        with lock:
            return detector(rgb)

    run._piaa_serialized = True  # type: ignore[attr-defined]
    run.inner = detector  # type: ignore[attr-defined]  # which detector it is (faces_key, is_default_detector)
    return run


def record_fields(d: PhotoDetail, *, detail: bool, faces: bool) -> dict:
    """The fields ``piaa score --detail`` / ``--faces`` add to a photo's record."""
    out: dict = {}
    if detail and d.detail is not None:
        out.update(d.detail.record())
    if faces and d.faces is not None:
        out["faces"] = [f.record() for f in d.faces]
    return out


#: Plain words for one photo on its own (no group to compare with): thresholds on the documented scales,
#: read off the synthetic bursts' training part (docs/detail.md): sharp frames' subjects read >= 0.45 at
#: native resolution, frames defocused by 1.5 px or more mostly below 0.35.
SOFT_BELOW = 0.35
SHAKEN_ABOVE = 0.5
NOISY_ABOVE = 4.0 / 255.0
CLIPPED_ABOVE = 0.02


def describe(d: PhotoDetail) -> List[str]:
    """What a photographer would say of the photo at 100 %, in plain words (``piaa explain``)."""
    if d.error:
        return [f"cannot look at it at 100 %: {d.error}"]
    words: List[str] = []
    face = d.subject_face
    if face is not None:
        words.append(f"{len(d.faces)} face(s); the largest has its eyes {face.eyes}"
                     if face.eyes in ("open", "closed") else f"{len(d.faces)} face(s); eyes unsure")
    det = d.detail
    if det is not None:
        where = "on the face" if det.subject == "face" else "on the sharpest region"
        if np.isfinite(det.sharpness):
            kind = "soft focus" if det.sharpness < SOFT_BELOW else "sharp"
            words.append(f"{kind} {where} (sharpness {det.sharpness:.2f} of 1)")
        else:
            words.append("no detail to judge focus on (a flat or tiny picture)")
        if np.isfinite(det.motion_blur) and det.motion_blur > SHAKEN_ABOVE:
            words.append(f"motion blur along {det.motion_direction:.0f}° (motion blur {det.motion_blur:.2f} of 1)")
        if np.isfinite(det.noise) and det.noise > NOISY_ABOVE:
            words.append(f"visible noise (std. dev. {det.noise_sigma:.1f} of 255 gray levels)")
        if det.clipping > CLIPPED_ABOVE:
            words.append(f"{100 * det.clipped_highlights:.1f} % of the pixels burnt to white, "
                         f"{100 * det.clipped_shadows:.1f} % crushed to black")
    return words
