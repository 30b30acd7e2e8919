"""Focus: how much fine detail a region has *relative to its own contrast* (0 = none left, 1 = all fine).

The measure is the re-blur ratio of Crété-Roffet, Dolmière, Ladret and Nicolas (2007, "The blur effect:
perception and estimation with a new no-reference perceptual blur metric", SPIE 6492): blur the region again
with a small low-pass filter and see how much of its pixel-to-pixel variation that removes. A sharp region loses
much (its variation lives at the finest scale); a region that is already soft loses little. Per direction d
(horizontal, vertical and the two diagonals, :data:`DIRECTIONS`)::

    D  = |I(p + d) - I(p)|             variation of the region along d
    Dr = |B(p + d) - B(p)|             the same after re-blurring with a box of REBLUR pixels along d
    s_d = sum(max(0, D - Dr)) / sum(D)

and the region's sharpness is the *softest direction's* ``min_d s_d``: a smear along one direction is soft
even though the detail across it survives. Crété et al. take the worse of the horizontal and vertical
directions the same way; the diagonals catch a smear at 45 degrees. The ratio of two sums over the same pixels
does not depend on the region's contrast or brightness (a faint sharp edge scores like a strong one), so it is
not "textured". A direction with too little variation (mean below :data:`FLAT` gray levels — a region of
parallel lines seen along them) does not vote; a region where none does is flat: NaN. Noise, which the
re-blur removes entirely, raises it; within a burst every frame carries the same noise.

:func:`directional_parts` returns the two sums per region and direction, so several tiles can be pooled
(sum the parts, then divide) and the frames of a burst compared direction by direction.
"""
from __future__ import annotations

import numpy as np

#: Length (pixels) of the box the region is re-blurred with. Crété et al. use 9 at video resolution; at a
#: camera's native resolution a shorter box is sensitive to the 1-2 px defocus a culler must see.
REBLUR = 5
#: Mean absolute neighbour difference (gray levels) below which a direction of a region does not vote.
FLAT = 0.5
#: JPEG block size: pixel pairs across block boundaries are not counted (:func:`directional_parts`).
BLOCK = 8
#: (dy, dx) of the four directions: 0, 90, 135 and 45 degrees (image rows grow downwards).
DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _shift(x: np.ndarray, dy: int, dx: int, m: int) -> np.ndarray:
    """The (K, T - 2m, T - 2m) window of ``x`` moved by (dy, dx), |dy|, |dx| <= m."""
    T0, T1 = x.shape[1], x.shape[2]
    return x[:, m + dy: T0 - m + dy, m + dx: T1 - m + dx]


def _off_grid(shape, dy: int, dx: int, origin) -> np.ndarray:
    """(h, w) float32 mask of the pixel pairs (p, p + d) of a difference window that do *not* straddle the
    8-pixel JPEG block grid (``origin``: the window's first pixel in image coordinates)."""
    yy = origin[0] + np.arange(shape[0])[:, None]
    xx = origin[1] + np.arange(shape[1])[None, :]
    cross = (yy // BLOCK != (yy + dy) // BLOCK) | (xx // BLOCK != (xx + dx) // BLOCK)
    return (~cross).astype(np.float32)


def directional_parts(tiles: np.ndarray, origin=(0, 0)):
    """``(removed, variation, count)`` for a ``(K, H, W)`` float32 stack: ``removed`` and ``variation`` are
    (K, 4) sums over each region per direction, ``count`` the number of pixel pairs summed per direction.

    Pairs of pixels on both sides of the 8-pixel JPEG block grid are left out (``origin``: image coordinates
    of the regions' first pixel; tiles start on multiples of 64): where a soft frame has little detail left,
    the steps a JPEG encoder leaves between its blocks are the sharpest thing in it, and would make a
    defocused frame read sharp."""
    r = REBLUR // 2
    m = r + 1
    k, h, w = tiles.shape
    if h <= 2 * m + 1 or w <= 2 * m + 1:
        z = np.zeros((k, len(DIRECTIONS)), np.float64)
        return z, z.copy(), 0
    removed, variation = [], []
    # three buffers reused for every direction (the same operations as fresh arrays, without allocating)
    big = np.empty((k, h - 2 * r, w - 2 * r), np.float32)
    inner = tiles[:, r: h - r, r: w - r]
    d = np.empty((k, h - 2 * r - 2, w - 2 * r - 2), np.float32)
    dr = np.empty_like(d)
    for dy, dx in DIRECTIONS:
        # the re-blurred image on a window one step larger than the differences need
        big[...] = 0.0
        for j in range(-r, r + 1):
            big += tiles[:, r + j * dy: h - r + j * dy, r + j * dx: w - r + j * dx]
        big /= REBLUR
        # differences along (dy, dx) on the common valid window (1 px margin for the step)
        keep = _off_grid((h - 2 * r - 2, w - 2 * r - 2), dy, dx, (origin[0] + r + 1, origin[1] + r + 1))
        np.subtract(_shift(inner, dy, dx, 1), _shift(inner, 0, 0, 1), out=d)
        np.abs(d, out=d)
        d *= keep
        np.subtract(_shift(big, dy, dx, 1), _shift(big, 0, 0, 1), out=dr)
        np.abs(dr, out=dr)
        dr *= keep
        variation.append(d.sum(axis=(1, 2), dtype=np.float64))
        np.subtract(d, dr, out=dr)
        np.maximum(dr, 0, out=dr)
        removed.append(dr.sum(axis=(1, 2), dtype=np.float64))
    count = int(keep.sum())
    return np.stack(removed, 1), np.stack(variation, 1), count


def ratios(removed: np.ndarray, variation: np.ndarray, count: int, flat: float = FLAT) -> np.ndarray:
    """Per-direction sharpness ``s_d`` (same shape as the parts), NaN where the direction's mean variation is
    below ``flat`` gray levels."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((variation >= flat * max(count, 1)) & (variation > 0), removed / variation, np.nan)


def softest(per_direction: np.ndarray) -> np.ndarray:
    """``min_d s_d`` over the last axis, NaN where every direction is flat."""
    ok = np.isfinite(per_direction)
    return np.where(ok.any(axis=-1), np.min(np.where(ok, per_direction, np.inf), axis=-1), np.nan)


def tile_values(per_direction: np.ndarray) -> np.ndarray:
    """Sharpness of each tile of a ``(K, 4)`` per-direction array: the softest direction of the tiles measurable
    in *every* direction — a tile of parallel lines cannot show a smear along them, so it would read sharp in a
    shaken frame — NaN for the others; when no tile is measurable in every direction (a photo of stripes), the
    softest measurable direction of each."""
    full = np.isfinite(per_direction).all(axis=-1)
    if full.any():
        return np.where(full, softest(per_direction), np.nan)
    return softest(per_direction)


def tile_sharpness(tiles: np.ndarray) -> np.ndarray:
    """(K,) sharpness 0..1 of a ``(K, T, T)`` float32 stack of tiles (NaN for flat tiles, :func:`tile_values`)."""
    if len(tiles) == 0:
        return np.zeros(0, np.float32)
    rem, var, n = directional_parts(tiles)
    return tile_values(ratios(rem, var, n)).astype(np.float32)


def region_parts(lum: np.ndarray, box, inset: float = 0.1):
    """``directional_parts`` of one region of ``lum`` (``box`` = (x, y, w, h) in its pixels; ``inset`` trims
    that fraction from each side so a face box's edge — hair against the background — does not decide); None
    when the region is under 12 px a side."""
    from piaa.detail.plane import inset_window

    got = inset_window(lum, box, inset)
    if got is None:
        return None
    region, origin = got
    rem, var, n = directional_parts(region[None].astype(np.float32), origin=origin)
    return rem[0], var[0], n


def region_sharpness(lum: np.ndarray, box, inset: float = 0.1) -> float:
    """Sharpness 0..1 of one region (see :func:`region_parts`); NaN when flat or too small."""
    parts = region_parts(lum, box, inset)
    if parts is None:
        return float("nan")
    return float(softest(ratios(*parts)))
