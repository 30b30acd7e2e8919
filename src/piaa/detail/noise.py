"""Noise: the standard deviation of the photo's pixel noise (Immerkær 1996), as a fraction of the full range.

J. Immerkær, "Fast Noise Variance Estimation", Computer Vision and Image Understanding 64(2), 1996. The
image is filtered with the difference of two Laplacians,

    N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]

which cancels image structure up to second order (flat areas, ramps, most of an edge) and passes white noise
with gain 36 in variance; for Gaussian noise ``sigma = sqrt(pi / 2) * mean(|I * N|) / 6``. Edges still leak
through, so the estimate is taken on the flattest well-exposed tiles of the photo (piaa.detail.tiles) and the
median over those tiles is reported: a photo without any flat area (foliage from edge to edge) reads noisier
than it is, which the docs say.
"""
from __future__ import annotations

import numpy as np

_GAIN = float(np.sqrt(np.pi / 2.0) / 6.0)


def immerkaer_sigma(tiles: np.ndarray) -> np.ndarray:
    """(K,) noise standard deviation (gray levels) of each tile of a ``(K, T, T)`` float32 stack."""
    if len(tiles) == 0:
        return np.zeros(0, np.float32)
    d = tiles[:, 2:, :] - 2.0 * tiles[:, 1:-1, :] + tiles[:, :-2, :]
    d = d[:, :, 2:] - 2.0 * d[:, :, 1:-1] + d[:, :, :-2]
    return (_GAIN * np.abs(d).mean(axis=(1, 2))).astype(np.float32)


def noise_sigma(flat_tiles: np.ndarray) -> float:
    """The photo's noise level (gray levels 0..255): the median over its flattest tiles; NaN without any."""
    s = immerkaer_sigma(flat_tiles)
    return float(np.median(s)) if len(s) else float("nan")
