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


def _energy(t: np.ndarray, dy: int, dx: int, k: int) -> float:
    """Mean squared difference of pixels ``k`` steps apart along (dy, dx) over a (K, T, T) stack."""
    T = t.shape[1]
    ay, by = (k * dy, T) if dy >= 0 else (0, T + k * dy)
    ax, bx = (k * dx, T) if dx >= 0 else (0, T + k * dx)
    a = t[:, ay:by, ax:bx]
    b = t[:, ay - k * dy: by - k * dy, ax - k * dx: bx - k * dx]
    return float(np.mean(np.square(a - b, dtype=np.float32), dtype=np.float64))


def motion_blur(tiles: np.ndarray, noise_sigma: float = 0.0) -> Tuple[float, float]:
    """(anisotropy 0..1, direction of the smear in degrees) of a ``(K, T, T)`` float32 stack of textured
    tiles; (NaN, NaN) without tiles."""
    if len(tiles) == 0:
        return float("nan"), float("nan")
    floor = 2.0 * float(noise_sigma) ** 2
    ratios = []
    for dy, dx in DIRECTIONS:
        fine = max(_energy(tiles, dy, dx, 1) - floor, 1e-6)
        coarse = max(_energy(tiles, dy, dx, COARSE) - floor, 1e-6)
        ratios.append(fine / coarse)
    r = np.asarray(ratios)
    i = int(np.argmin(r))
    return float(1.0 - r.min() / r.max()), float(ANGLES[i])
