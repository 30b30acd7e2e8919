"""Clipping: the share of the photo's pixels burnt to white or crushed to black (0..1 each).

Read from the luminance histogram (Pillow's, one pass in C: 10 ms for 24 MP): a pixel at or above :data:`WHITE` is a clipped highlight, at
or below :data:`BLACK` a clipped shadow. Luminance is the weighted sum of the channels, so a pixel counts when
it is clipped in its brightness, not merely in one saturated colour channel.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
from PIL import Image

WHITE = 254
BLACK = 1


def clipped_fractions(lum: np.ndarray) -> Tuple[float, float]:
    """(highlights, shadows): fractions 0..1 of the pixels of a uint8 luminance image that are clipped."""
    from piaa.detail.plane import Plane

    n = lum.size
    if n == 0:
        return float("nan"), float("nan")
    im = lum.image if isinstance(lum, Plane) else Image.fromarray(np.ascontiguousarray(lum, dtype=np.uint8))
    hist = np.asarray(im.histogram(), dtype=np.int64)
    return float(hist[WHITE:].sum() / n), float(hist[: BLACK + 1].sum() / n)
