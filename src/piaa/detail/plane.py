"""The luminance plane, read piece by piece from the decoded image instead of copied whole into numpy.

The detail pass reads a few hundred 64-pixel tiles, a face box or two and every 4th pixel of a frame. Copying a
decoded 24-megapixel frame into a numpy array costs about 40 % of the gray decode itself (Pillow copies it
line by line), so :class:`Plane` keeps the Pillow image and cuts out only what is read: windows by cropping,
the every-4th-pixel grid by a nearest-neighbour affine resampling that picks exactly the pixels ``a[::4, ::4]``
would (a test checks it). The helpers :func:`window`, :func:`every` and :func:`as_array` take a numpy array
or a :class:`Plane`, so the measures accept both.
"""
from __future__ import annotations

from typing import Tuple, Union

import numpy as np
from PIL import Image


class Plane:
    """A uint8 luminance plane (H x W) backed by a Pillow ``L`` image; ``shape`` and ``dtype`` as numpy's."""

    ndim = 2
    dtype = np.dtype(np.uint8)

    def __init__(self, image: Image.Image):
        if image.mode != "L":
            raise TypeError(f"Plane wants an L image, not {image.mode}")
        self.image = image
        self._array = None
        self._every: dict = {}

    @property
    def shape(self) -> Tuple[int, int]:
        return self.image.size[1], self.image.size[0]

    @property
    def size(self) -> int:
        return self.image.size[0] * self.image.size[1]

    def array(self) -> np.ndarray:
        """The whole plane as a numpy array (copied once, then kept)."""
        if self._array is None:
            self._array = np.asarray(self.image)
        return self._array

    def window(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        if self._array is not None:
            return self._array[y0:y1, x0:x1]
        return np.asarray(self.image.crop((x0, y0, x1, y1)))

    def every(self, step: int, h: int, w: int) -> np.ndarray:
        """The pixels ``[:h:step, :w:step]``."""
        if self._array is not None:
            return self._array[:h:step, :w:step]
        key = (step, h, w)
        if key not in self._every:   # contrast and means both read it: sampled once
            oh, ow = -(-h // step), -(-w // step)
            if oh == 0 or ow == 0:
                return np.zeros((max(oh, 0), max(ow, 0)), np.uint8)
            # nearest neighbour samples at (x + 0.5) * step + offset: offset -step/2 lands on step * x exactly
            off = -step / 2.0
            self._every = {key: np.asarray(self.image.transform((ow, oh), Image.AFFINE,
                                                                (step, 0, off, 0, step, off), Image.NEAREST))}
        return self._every[key]


Luminance = Union[np.ndarray, Plane]


def window(lum: Luminance, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """``lum[y0:y1, x0:x1]`` (bounds already clipped to the plane)."""
    if isinstance(lum, Plane):
        return lum.window(y0, y1, x0, x1)
    return lum[y0:y1, x0:x1]


def inset_window(lum: Luminance, box, inset: float, min_side: int = 12):
    """``(pixels, (y0, x0))`` of ``box`` = (x, y, w, h) with ``inset`` of each side trimmed (a face box's edge --
    hair against the background -- must not decide), clipped to the plane; None when under ``min_side`` px a side."""
    x, y, w, h = (int(v) for v in box)
    dx, dy = int(round(w * inset)), int(round(h * inset))
    x0, y0 = max(0, x + dx), max(0, y + dy)
    x1, y1 = min(lum.shape[1], x + w - dx), min(lum.shape[0], y + h - dy)
    if x1 - x0 < min_side or y1 - y0 < min_side:
        return None
    region = window(lum, y0, y1, x0, x1)
    return (region, (y0, x0)) if min(region.shape) >= min_side else None


def every(lum: Luminance, step: int, h: int, w: int) -> np.ndarray:
    """``lum[:h:step, :w:step]``."""
    if isinstance(lum, Plane):
        return lum.every(step, h, w)
    return lum[:h:step, :w:step]


def as_array(lum: Luminance) -> np.ndarray:
    """The whole plane as a numpy array."""
    return lum.array() if isinstance(lum, Plane) else np.asarray(lum)
