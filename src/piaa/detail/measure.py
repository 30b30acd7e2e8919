"""One photo's detail pass: the sharpness map, the subject's sharpness, motion blur, noise and clipping.

:func:`analyze` works on the luminance of the upright photo at native resolution (:mod:`piaa.detail.decode`).
The subject is the largest face when the caller passes its box (faces come from :mod:`piaa.faces`; this
layer only measures the pixels inside the box), else the in-focus region: the sharpest tenth of the measured
tiles. A shallow depth of field — a sharp subject on a soft background — is therefore sharp, not soft.
Every output's scale is in docs/detail.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from piaa.detail import clipping, focus, motion, noise, tiles
from piaa.detail.plane import Luminance, Plane, inset_window
from piaa.errors import CacheEntryError

#: Share of the measured tiles that make the in-focus region when no face gives the subject.
TOP_SHARE = 0.10
#: At least this many tiles make the in-focus region.
TOP_MIN = 3


@dataclass
class Detail:
    """What the detail pass measured on one photo (see docs/detail.md for every scale)."""

    sharpness: float                    # the subject's sharpness 0..1 (largest face, else in-focus region)
    subject: str                        # "face", "in-focus region" or "none" (nothing measurable)
    frame_sharpness: float              # median sharpness of the measured tiles 0..1
    motion_blur: float                  # 0..1 directional loss of fine detail
    motion_direction: float             # degrees (0 = horizontal), the smear's direction
    noise_sigma: float                  # gray levels 0..255
    clipped_highlights: float           # fraction 0..1
    clipped_shadows: float              # fraction 0..1
    grid: Tuple[int, int] = (0, 0)      # tile rows, cols
    positions: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), int))
    tile_values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    tile: int = tiles.TILE
    scale: float = 1.0                  # native pixels per luminance pixel
    directions: np.ndarray = field(default_factory=lambda: np.full(4, np.nan))  # the subject's s_d (focus.py)
    parts: Optional[tuple] = None       # (removed (K, 4), variation (K, 4), count) of the measured tiles
    subject_parts: Optional[tuple] = None  # (removed (4,), variation (4,), count) of the subject
    energy: Optional[tuple] = None      # (fine (K, 4), coarse (K, 4)) difference energies of the tiles
    subject_energy: Optional[tuple] = None  # (fine (4,), coarse (4,)) of the subject

    @property
    def noise(self) -> float:
        """Noise standard deviation as a fraction of the full range (0..1; 0.01 = 2.6 gray levels)."""
        return self.noise_sigma / 255.0

    @property
    def clipping(self) -> float:
        """Share of the pixels clipped to white or black (0..1)."""
        return self.clipped_highlights + self.clipped_shadows

    def sharpness_map(self) -> np.ndarray:
        """(rows, cols) tile sharpness 0..1, NaN where not measured (flat or not sampled)."""
        m = np.full(self.grid, np.nan, np.float32)
        if len(self.positions):
            m[self.positions[:, 0], self.positions[:, 1]] = self.tile_values
        return m

    def record(self) -> dict:
        """The four documented outputs plus their parts, rounded, for JSON."""
        def r(v, nd=4):
            return round(float(v), nd) if np.isfinite(v) else None

        return {"sharpness": r(self.sharpness), "motion_blur": r(self.motion_blur), "noise": r(self.noise, 5),
                "clipping": r(self.clipping, 5),
                "detail": {"subject": self.subject, "frame_sharpness": r(self.frame_sharpness),
                           "motion_direction": r(self.motion_direction, 1), "noise_sigma": r(self.noise_sigma, 3),
                           "clipped_highlights": r(self.clipped_highlights, 5),
                           "clipped_shadows": r(self.clipped_shadows, 5), "scale": r(self.scale, 3)}}


#: Scalar fields of :class:`Detail` (saved as they are) and its array fields (saved as arrays) for
#: :func:`detail_state` / :func:`detail_from_state`: a cached result is the computed one, bit for bit.
_SCALARS = ("sharpness", "subject", "frame_sharpness", "motion_blur", "motion_direction", "noise_sigma",
            "clipped_highlights", "clipped_shadows", "tile", "scale")


def detail_state(d: Detail):
    """``(scalars, arrays)``: a :class:`Detail` as JSON-ready scalars and named numpy arrays (no pickle)."""
    meta: dict = {k: getattr(d, k) for k in _SCALARS}
    meta["grid"] = [int(v) for v in d.grid]
    arrays = {"positions": np.asarray(d.positions, np.int64), "tile_values": np.asarray(d.tile_values),
              "directions": np.asarray(d.directions, np.float64)}
    for name in ("parts", "subject_parts"):
        p = getattr(d, name)
        meta[name] = None if p is None else int(p[2])
        if p is not None:
            arrays[name + ".removed"], arrays[name + ".variation"] = np.asarray(p[0]), np.asarray(p[1])
    for name in ("energy", "subject_energy"):
        e = getattr(d, name)
        meta[name] = e is not None
        if e is not None:
            arrays[name + ".fine"], arrays[name + ".coarse"] = np.asarray(e[0]), np.asarray(e[1])
    return meta, arrays


def detail_from_state(meta: dict, arrays: dict) -> Detail:
    """The :class:`Detail` :func:`detail_state` saved (KeyError/ValueError/TypeError when it is incomplete)."""
    kw = {k: meta[k] for k in _SCALARS}
    kw["subject"] = str(kw["subject"])
    kw["tile"] = int(kw["tile"])
    for k in _SCALARS:
        if k not in ("subject", "tile"):
            kw[k] = float(kw[k])
    for name in ("parts", "subject_parts"):
        n = meta[name]
        kw[name] = None if n is None else (arrays[name + ".removed"], arrays[name + ".variation"], int(n))
    for name in ("energy", "subject_energy"):
        kw[name] = (arrays[name + ".fine"], arrays[name + ".coarse"]) if meta[name] else None
    grid = tuple(int(v) for v in meta["grid"])
    if len(grid) != 2:
        raise CacheEntryError("grid")
    return Detail(grid=(grid[0], grid[1]), positions=arrays["positions"], tile_values=arrays["tile_values"],
                  directions=arrays["directions"], **kw)


def top_tiles(values: np.ndarray, share: float = TOP_SHARE, least: int = TOP_MIN) -> np.ndarray:
    """Indices of the sharpest ``share`` of the finite tile values (at least ``least``, all when fewer)."""
    idx = np.flatnonzero(np.isfinite(values))
    order = idx[np.argsort(-values[idx], kind="stable")]
    k = min(len(order), max(least, int(np.ceil(share * len(order)))))
    return order[:k]


def face_parts(lum: Luminance, box, eye_boxes: Sequence = ()):
    """``(removed (4,), variation (4,), count)`` of a face: the pixels inside its box (inset, so hair against
    the background does not decide) pooled with its eyes' boxes; all boxes in ``lum``'s pixels. None when
    the face is too small."""
    pooled = None
    for b, inset in [(box, 0.15)] + [(e, 0.0) for e in eye_boxes or ()]:
        p = focus.region_parts(lum, b, inset)
        if p is None:
            continue
        pooled = p if pooled is None else (pooled[0] + p[0], pooled[1] + p[1], pooled[2] + p[2])
    return pooled


def pooled_parts(parts, which: np.ndarray):
    """``(removed (4,), variation (4,), count)`` of the tiles ``which`` added together (None without any)."""
    rem, var, n = parts
    if len(which) == 0:
        return None
    return rem[which].sum(axis=0), var[which].sum(axis=0), n * len(which)


def face_energy(lum: Luminance, box, inset: float = 0.15):
    """``(fine (4,), coarse (4,))`` difference energies inside a face box (:func:`piaa.detail.motion.energy_parts`)."""
    got = inset_window(lum, box, inset)
    if got is None:
        return None
    region = got[0]
    fine, coarse = motion.energy_parts(region[None].astype(np.float32))
    return fine[0], coarse[0]


def face_directions(lum: Luminance, box, eye_boxes: Sequence = ()) -> np.ndarray:
    """Per-direction sharpness (4,) of a face (:func:`face_parts`)."""
    p = face_parts(lum, box, eye_boxes)
    return focus.ratios(*p) if p is not None else np.full(len(focus.DIRECTIONS), np.nan)


def face_sharpness(lum: Luminance, box, eye_boxes: Sequence = ()) -> float:
    """Sharpness 0..1 of a face (its softest direction, :func:`face_directions`); NaN when unmeasurable."""
    return float(focus.softest(face_directions(lum, box, eye_boxes)))


def analyze(lum: Luminance, *, scale: float = 1.0, subject_box=None, subject_eyes: Sequence = (),
            positions: Optional[np.ndarray] = None, tile: int = tiles.TILE, focus_only: bool = False) -> Detail:
    """Measure a uint8 luminance image (H x W). ``subject_box`` (x, y, w, h in ``lum``'s pixels, with optional
    eye boxes) makes that region the subject; ``positions`` measures these tiles instead of choosing them (the
    same tiles in every frame of a burst); ``focus_only`` skips noise, motion blur and clipping (NaN) — what
    cull's comparison of a burst does not read."""
    if not isinstance(lum, Plane):
        lum = np.asarray(lum)
    if lum.ndim != 2 or lum.dtype != np.uint8:
        raise TypeError("analyze wants a 2-D uint8 luminance array")
    sigma = float("nan")
    if positions is None or not focus_only:
        contrast = tiles.coarse_contrast(lum, tile)
        means = tiles.tile_means(lum, tile)
        sigma = noise.noise_sigma(tiles.stack(lum, tiles.flat_tiles(contrast, means), tile))
    grid = tiles.grid(lum.shape, tile)
    if positions is None:
        positions = tiles.textured_tiles(contrast, floor=max(1.0, 2.0 * (sigma if np.isfinite(sigma) else 0.0)))
    stack = tiles.stack(lum, positions, tile)
    parts = focus.directional_parts(stack) if len(stack) else \
        (np.zeros((0, 4)), np.zeros((0, 4)), 0)
    values = focus.tile_values(focus.ratios(*parts)).astype(np.float32)
    if focus_only:
        mb = direction = hi = lo = float("nan")
    else:
        mb, direction = motion.motion_blur(stack, sigma if np.isfinite(sigma) else 0.0)
        hi, lo = clipping.clipped_fractions(lum)
    energy = motion.energy_parts(stack)
    dirs, kind, sub, sub_e = np.full(4, np.nan), "none", None, None
    if subject_box is not None:
        sub = face_parts(lum, subject_box, subject_eyes)
        dirs = focus.ratios(*sub) if sub is not None else dirs
        kind = "face" if np.isfinite(dirs).any() else "none"
        if kind == "face":
            sub_e = face_energy(lum, subject_box)
    if kind == "none":
        top = top_tiles(values)
        sub = pooled_parts(parts, top)
        dirs = focus.ratios(*sub) if sub is not None else dirs
        kind = "in-focus region" if np.isfinite(dirs).any() else "none"
        sub_e = (energy[0][top].mean(axis=0), energy[1][top].mean(axis=0)) if len(top) else None
    subject = float(focus.softest(dirs))
    frame = float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")
    return Detail(subject, kind, frame, mb, direction, sigma, hi, lo, grid, positions, values, tile, scale,
                  dirs, parts, sub, energy, sub_e)


def analyze_native(native, subject_box_native=None, subject_eyes_native: Sequence = (),
                   positions: Optional[np.ndarray] = None, focus_only: bool = False) -> Detail:
    """:func:`analyze` on a :class:`piaa.detail.decode.NativeImage`, boxes given in native pixels."""
    box = native.to_luminance(subject_box_native) if subject_box_native is not None else None
    eyes: List = [native.to_luminance(e) for e in subject_eyes_native or ()]
    return analyze(native.plane, scale=native.scale, subject_box=box, subject_eyes=eyes, positions=positions,
                   focus_only=focus_only)
