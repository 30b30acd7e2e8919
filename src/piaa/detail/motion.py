"""Motion blur: fine detail lost in one direction only (0 = none, 1 = all fine detail gone along one direction).

Camera shake and a moving subject smear the image along one direction: the finest detail disappears along it
and survives across it. Defocus removes fine detail in every direction alike, and a scene of parallel lines
has little variation along its lines at *every* scale. So the measure compares, per direction d (0, 45, 90,
135 degrees), the energy of the finest differences with the energy of differences COARSE pixels apart::

    r_d = (E[(I(p + d) - I(p))^2] - 2 s^2) / (E[(I(p + COARSE d) - I(p))^2] - 2 s^2)

(``s`` = the noise level, whose white energy would otherwise fill both), and reports the directional
anisotropy of that ratio, ``1 - min_d r_d / max_d r_d``: 0 for a sharp or evenly defocused photo whatever its
content, near 1 when fine detail is gone along one direction only. The direction with the smallest ratio is the
direction of the smear. It follows the idea of directional energy / gradient anisotropy measures of motion
blur (e.g. Yitzhaky and Kopeika 1997, the blur direction from the autocorrelation of directional derivatives),
reduced to a ratio that does not depend on the scene's own orientation.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

#: Distance (pixels) of the coarse differences.
COARSE = 4
#: The four directions (dy, dx) and their angles in degrees (0 = horizontal, counter-clockwise).
DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1))
ANGLES = (0, 135, 90, 45)  # image rows grow downwards: (1, 1) is 135 degrees counter-clockwise


def _pairs(t: np.ndarray, dy: int, dx: int, k: int):
    """The two (K, h, w) windows of pixels ``k`` steps apart along (dy, dx) in a (K, H, W) stack."""
    H, W = t.shape[1], t.shape[2]
    ay, by = (k * dy, H) if dy >= 0 else (0, H + k * dy)
    ax, bx = (k * dx, W) if dx >= 0 else (0, W + k * dx)
    return t[:, ay:by, ax:bx], t[:, ay - k * dy: by - k * dy, ax - k * dx: bx - k * dx]


def energy_parts(t: np.ndarray):
    """``(fine, coarse)``: (K, 4) mean squared differences of pixels 1 and COARSE steps apart along each
    direction, per region of a (K, H, W) float32 stack (zeros for regions too small)."""
    k = len(t)
    fine, coarse = np.zeros((k, len(DIRECTIONS))), np.zeros((k, len(DIRECTIONS)))
    if t.shape[1] <= COARSE or t.shape[2] <= COARSE:
        return fine, coarse
    for j, (dy, dx) in enumerate(DIRECTIONS):
        for out, step in ((fine, 1), (coarse, COARSE)):
            a, b = _pairs(t, dy, dx, step)
            out[:, j] = np.mean(np.square(a - b, dtype=np.float32), axis=(1, 2), dtype=np.float64)
    return fine, coarse


def directional_ratios(fine: np.ndarray, coarse: np.ndarray, noise_sigma: float = 0.0) -> np.ndarray:
    """``r_d`` (4,) from pooled (4,) energies, less the white-noise floor ``2 s^2``."""
    floor = 2.0 * float(noise_sigma) ** 2
    return np.maximum(fine - floor, 1e-6) / np.maximum(coarse - floor, 1e-6)


def motion_blur(tiles: np.ndarray, noise_sigma: float = 0.0) -> Tuple[float, float]:
    """(anisotropy 0..1, direction of the smear in degrees) of a ``(K, T, T)`` float32 stack of textured
    tiles; (NaN, NaN) without tiles."""
    if len(tiles) == 0:
        return float("nan"), float("nan")
    fine, coarse = energy_parts(tiles)
    r = directional_ratios(fine.mean(axis=0), coarse.mean(axis=0), noise_sigma)
    i = int(np.argmin(r))
    return float(1.0 - r.min() / r.max()), float(ANGLES[i])
