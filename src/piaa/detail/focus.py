"""Focus: how much fine detail a region has *relative to its own contrast* (0 = none left, 1 = all fine).

The measure is the re-blur ratio of Crété-Roffet, Dolmière, Ladret and Nicolas (2007, "The blur effect:
perception and estimation with a new no-reference perceptual blur metric", SPIE 6492): blur the region again
with a small low-pass filter and see how much of its pixel-to-pixel variation that removes. A sharp region loses
much (its variation lives at the finest scale); a region that is already soft loses little. Per direction
(horizontal, vertical)::

    D  = |I(x) - I(x-1)|               variation of the region
    Dr = |B(x) - B(x-1)|               the same after re-blurring with a box of REBLUR pixels along x
    sharpness = sum(max(0, D - Dr)) / sum(D)

summed over both directions. It is a ratio of two energies of the same pixels, so it does not depend on the
region's contrast or brightness (a low-contrast sharp edge scores like a high-contrast one) — it is not
"textured". Noise, which the re-blur removes entirely, raises it; in a burst every frame carries the same
noise, so within-group comparisons are unaffected. A region with too little variation (flat) has no
sharpness: NaN.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

#: Length (pixels) of the box the region is re-blurred with. Crété et al. use 9 at video resolution; at a
#: camera's native resolution a shorter box is sensitive to the 1-2 px defocus a culler must see.
REBLUR = 5
#: Mean absolute neighbour difference (gray levels) below which a region counts as flat (no sharpness).
FLAT = 0.5


def _ratio_parts(x: np.ndarray, axis: int, size: int = REBLUR):
    """(sum of removed variation, sum of variation) over ``axis`` for each leading index of ``x``."""
    b = uniform_filter1d(x, size, axis=axis, mode="nearest")
    m = size // 2 + 1                       # drop the border the filter saw padded
    sl = [slice(None)] * x.ndim
    sl[axis] = slice(m, x.shape[axis] - m)
    d = np.abs(np.diff(x, axis=axis))[tuple(sl)]
    dr = np.abs(np.diff(b, axis=axis))[tuple(sl)]
    red = tuple(range(1, x.ndim))
    return np.maximum(d - dr, 0).sum(axis=red), d.sum(axis=red), d[0].size if x.ndim > 2 else d.size


def tile_sharpness(tiles: np.ndarray) -> np.ndarray:
    """(K,) sharpness 0..1 of a ``(K, T, T)`` float32 stack of tiles (NaN for flat tiles)."""
    if len(tiles) == 0:
        return np.zeros(0, np.float32)
    vh, dh, nh = _ratio_parts(tiles, 2)
    vv, dv, nv = _ratio_parts(tiles, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sh = np.where(dh / nh >= FLAT, vh / dh, np.nan)
        sv = np.where(dv / nv >= FLAT, vv / dv, np.nan)
    with np.errstate(invalid="ignore"):
        s = np.fmin(sh, sv)          # the softer direction decides (a smear along one direction is soft)
    return s.astype(np.float32)


def region_sharpness(lum: np.ndarray, box, inset: float = 0.1) -> float:
    """Sharpness 0..1 of one region of ``lum`` (``box`` = (x, y, w, h) in its pixels; ``inset`` trims that
    fraction from each side so a face box's edge — hair against the background — does not decide). NaN when
    the region is flat or too small (under 12 px a side)."""
    x, y, w, h = (int(v) for v in box)
    dx, dy = int(round(w * inset)), int(round(h * inset))
    x0, y0 = max(0, x + dx), max(0, y + dy)
    x1, y1 = min(lum.shape[1], x + w - dx), min(lum.shape[0], y + h - dy)
    if x1 - x0 < 12 or y1 - y0 < 12:
        return float("nan")
    return float(tile_sharpness(lum[None, y0:y1, x0:x1].astype(np.float32))[0])
