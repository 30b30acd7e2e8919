"""Tiles of the luminance image: the grid the detail pass measures on, and which tiles are worth measuring.

A 24 MP photo has about 5,900 tiles of 64 x 64 pixels; measuring every pixel would cost more than decoding it.
The pass therefore ranks the tiles by a coarse contrast read from every 4th pixel (blur-insensitive: a
defocused frame of a burst ranks its tiles like the sharp one) and measures at full resolution only

* the most textured tiles (:func:`textured_tiles`): focus and motion blur are only measurable where there is
  structure — a flat sky is neither sharp nor soft;
* the flattest well-exposed tiles (:func:`flat_tiles`): noise is measured where there is little structure.

Positions are ``(row, col)`` tile indices; :func:`stack` cuts them out as one ``(K, T, T)`` float32 array so
every measure is one vectorised numpy expression over all tiles.
"""
from __future__ import annotations

import numpy as np

from piaa.detail.plane import Luminance, Plane, every

#: Tile side in (native) pixels.
TILE = 64
#: At most this many textured tiles are measured per photo (about 0.5 MP of a 24 MP frame).
MAX_TEXTURED = 128
#: At most this many flat tiles are measured for noise.
MAX_FLAT = 96
_STEP = 4  # coarse contrast reads every 4th pixel


def grid(shape, tile: int = TILE):
    """(rows, cols) of whole tiles in an image of ``shape`` (H, W)."""
    return shape[0] // tile, shape[1] // tile


def coarse_contrast(lum: Luminance, tile: int = TILE) -> np.ndarray:
    """(rows, cols) mean absolute difference of neighbouring 4th pixels inside each tile (gray levels per 4 px)."""
    ny, nx = grid(lum.shape, tile)
    if ny == 0 or nx == 0:
        return np.zeros((ny, nx), np.float32)
    s = tile // _STEP
    a = every(lum, _STEP, ny * tile, nx * tile).astype(np.float32)
    dx = np.abs(np.diff(a, axis=1))
    dy = np.abs(np.diff(a, axis=0))
    dx = np.pad(dx, ((0, 0), (0, 1)))
    dy = np.pad(dy, ((0, 1), (0, 0)))
    g = (dx + dy).reshape(ny, s, nx, s).mean(axis=(1, 3))
    return g


def tile_means(lum: Luminance, tile: int = TILE) -> np.ndarray:
    """(rows, cols) mean gray level of each tile (from every 4th pixel)."""
    ny, nx = grid(lum.shape, tile)
    s = tile // _STEP
    a = every(lum, _STEP, ny * tile, nx * tile).astype(np.float32)
    return a.reshape(ny, s, nx, s).mean(axis=(1, 3))


def textured_tiles(contrast: np.ndarray, k: int = MAX_TEXTURED, floor: float = 1.0) -> np.ndarray:
    """(K, 2) positions of the ``k`` most textured tiles whose coarse contrast is above ``floor``."""
    flat = contrast.ravel()
    order = np.argsort(-flat, kind="stable")
    order = order[flat[order] > floor][:k]
    return np.stack(np.unravel_index(order, contrast.shape), axis=1) if len(order) else np.zeros((0, 2), int)


def flat_tiles(contrast: np.ndarray, means: np.ndarray, k: int = MAX_FLAT) -> np.ndarray:
    """(K, 2) positions of the ``k`` flattest tiles that are neither near black nor near white (clipping
    hides noise)."""
    ok = ((means > 16) & (means < 240)).ravel()
    flat = contrast.ravel()
    idx = np.flatnonzero(ok)
    order = idx[np.argsort(flat[idx], kind="stable")][:k]
    return np.stack(np.unravel_index(order, contrast.shape), axis=1) if len(order) else np.zeros((0, 2), int)


def stack(lum: Luminance, positions: np.ndarray, tile: int = TILE) -> np.ndarray:
    """(K, tile, tile) float32 cut-outs of the tiles at ``positions``."""
    if len(positions) == 0:
        return np.zeros((0, tile, tile), np.float32)
    if isinstance(lum, Plane):
        out = np.empty((len(positions), tile, tile), np.float32)
        for k, (r0, c0) in enumerate(np.asarray(positions) * tile):
            out[k] = lum.window(int(r0), int(r0) + tile, int(c0), int(c0) + tile)
        return out
    r = positions[:, 0, None] * tile + np.arange(tile)[None, :]          # (K, T) rows
    c = positions[:, 1, None] * tile + np.arange(tile)[None, :]          # (K, T) cols
    return lum[r[:, :, None], c[:, None, :]].astype(np.float32)
