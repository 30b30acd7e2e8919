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


def top_tiles(values: np.ndarray, share: float = TOP_SHARE, least: int = TOP_MIN) -> np.ndarray:
    """Indices of the sharpest ``share`` of the finite tile values (at least ``least``, all when fewer)."""
    idx = np.flatnonzero(np.isfinite(values))
    order = idx[np.argsort(-values[idx], kind="stable")]
    k = min(len(order), max(least, int(np.ceil(share * len(order)))))
    return order[:k]


def face_parts(lum: np.ndarray, box, eye_boxes: Sequence = ()):
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


def face_directions(lum: np.ndarray, box, eye_boxes: Sequence = ()) -> np.ndarray:
    """Per-direction sharpness (4,) of a face (:func:`face_parts`)."""
    p = face_parts(lum, box, eye_boxes)
    return focus.ratios(*p) if p is not None else np.full(len(focus.DIRECTIONS), np.nan)


def face_sharpness(lum: np.ndarray, box, eye_boxes: Sequence = ()) -> float:
    """Sharpness 0..1 of a face (its softest direction, :func:`face_directions`); NaN when unmeasurable."""
    return float(focus.softest(face_directions(lum, box, eye_boxes)))


def analyze(lum: np.ndarray, *, scale: float = 1.0, subject_box=None, subject_eyes: Sequence = (),
            positions: Optional[np.ndarray] = None, tile: int = tiles.TILE) -> Detail:
    """Measure a uint8 luminance image (H x W). ``subject_box`` (x, y, w, h in ``lum``'s pixels, with optional
    eye boxes) makes that region the subject; ``positions`` measures these tiles instead of choosing them (the
    same tiles in every frame of a burst)."""
    lum = np.asarray(lum)
    if lum.ndim != 2 or lum.dtype != np.uint8:
        raise TypeError("analyze wants a 2-D uint8 luminance array")
    contrast = tiles.coarse_contrast(lum, tile)
    means = tiles.tile_means(lum, tile)
    flat = tiles.stack(lum, tiles.flat_tiles(contrast, means), tile)
    sigma = noise.noise_sigma(flat)
    if positions is None:
        positions = tiles.textured_tiles(contrast, floor=max(1.0, 2.0 * (sigma if np.isfinite(sigma) else 0.0)))
    stack = tiles.stack(lum, positions, tile)
    parts = focus.directional_parts(stack) if len(stack) else \
        (np.zeros((0, 4)), np.zeros((0, 4)), 0)
    values = focus.tile_values(focus.ratios(*parts)).astype(np.float32)
    mb, direction = motion.motion_blur(stack, sigma if np.isfinite(sigma) else 0.0)
    hi, lo = clipping.clipped_fractions(lum)
    dirs, kind, sub = np.full(4, np.nan), "none", None
    if subject_box is not None:
        sub = face_parts(lum, subject_box, subject_eyes)
        dirs = focus.ratios(*sub) if sub is not None else dirs
        kind = "face" if np.isfinite(dirs).any() else "none"
    if kind == "none":
        sub = pooled_parts(parts, top_tiles(values))
        dirs = focus.ratios(*sub) if sub is not None else dirs
        kind = "in-focus region" if np.isfinite(dirs).any() else "none"
    subject = float(focus.softest(dirs))
    frame = float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")
    return Detail(subject, kind, frame, mb, direction, sigma, hi, lo, contrast.shape, positions, values, tile, scale,
                  dirs, parts, sub)


def analyze_native(native, subject_box_native=None, subject_eyes_native: Sequence = (),
                   positions: Optional[np.ndarray] = None) -> Detail:
    """:func:`analyze` on a :class:`piaa.detail.decode.NativeImage`, boxes given in native pixels."""
    box = native.to_luminance(subject_box_native) if subject_box_native is not None else None
    eyes: List = [native.to_luminance(e) for e in subject_eyes_native or ()]
    return analyze(native.luminance, scale=native.scale, subject_box=box, subject_eyes=eyes, positions=positions)
