"""Natural-scene statistics of a photo at 100 %: the 36 BRISQUE features (Mittal, Moorthy & Bovik 2012).

Why: a network fed a 224-pixel thumbnail cannot see blur, upscaling, noise or compression that only shows at
full size; the statistics of locally normalised luminance can. Written from the paper:

* MSCN coefficients ``(I - mu) / (sigma + C)``, ``mu`` and ``sigma`` the local mean and standard deviation under
  a 7x7 Gaussian window (sigma 7/6), ``C = 1`` on a 0-255 grey scale. Distortions change their spread and
  shape: blur shrinks their variance (and moves the shape, which way depends on the scene: on a synthetic scene
  of hard edges and flat areas it rises, on an OASIS photo it fell), white noise widens them and flattens them.
* A generalized Gaussian (GGD) fitted to the MSCN coefficients by moment matching: shape ``alpha`` and
  variance (2 features).
* An asymmetric GGD fitted to each of the four products of neighbouring coefficients (horizontal, vertical,
  main and secondary diagonal): shape, mean, left and right variance (4 x 4 = 16 features).
* The same 18 numbers at a second scale (the grey image halved by a 2x2 box average): 36 in all.

Moment matching inverts a monotone ratio of gamma functions; it is done by interpolating one precomputed table,
so a feature vector costs a few Gaussian filters and array reductions (about 20 ms for a 1-megapixel photo).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.special import gammaln

#: names of the 36 features, in order (``s1`` the photo's own scale, ``s2`` half of it)
FEATURE_NAMES: list[str] = [
    f"s{s}_{n}" for s in (1, 2) for n in (
        ["mscn_alpha", "mscn_var"]
        + [f"{o}_{k}" for o in ("h", "v", "d1", "d2") for k in ("alpha", "mean", "left_var", "right_var")])
]
N_FEATURES = len(FEATURE_NAMES)

_WINDOW_SIGMA = 7.0 / 6.0
_TRUNCATE = 3.0 / _WINDOW_SIGMA  # a 7x7 window, as in the paper
_C = 1.0
_ALPHAS = np.exp(np.linspace(np.log(0.05), np.log(20.0), 4000))
# GGD: E[x^2] / E[|x|]^2 = G(1/a) G(3/a) / G(2/a)^2, decreasing in a
_GGD_RATIO = np.exp(gammaln(1 / _ALPHAS) + gammaln(3 / _ALPHAS) - 2 * gammaln(2 / _ALPHAS))
# AGGD: E[|x|]^2 / E[x^2] (after the asymmetry correction) = G(2/a)^2 / (G(1/a) G(3/a)), increasing in a
_AGGD_RATIO = 1.0 / _GGD_RATIO


def _shape_from_ratio(ratio: float, table: np.ndarray) -> float:
    """The shape alpha whose moment ratio in ``table`` equals ``ratio`` (clamped to the table's range)."""
    if not np.isfinite(ratio):
        return float(_ALPHAS[0])
    if table[0] > table[-1]:  # decreasing: interpolate on the reversed table
        return float(np.interp(ratio, table[::-1], _ALPHAS[::-1]))
    return float(np.interp(ratio, table, _ALPHAS))


def fit_ggd(x: np.ndarray) -> tuple:
    """(shape alpha, variance) of a zero-mean generalized Gaussian fitted to ``x`` by moment matching."""
    x = np.asarray(x).ravel()
    var = float(np.dot(x, x)) / x.size
    mean_abs = float(np.abs(x).sum(dtype=np.float64)) / x.size
    if mean_abs <= 0:
        return float(_ALPHAS[-1]), 0.0
    return _shape_from_ratio(var / mean_abs ** 2, _GGD_RATIO), var


def fit_aggd(x: np.ndarray) -> tuple:
    """(shape alpha, mean eta, left variance, right variance) of an asymmetric GGD fitted to ``x``."""
    x = np.asarray(x).ravel()
    neg = np.minimum(x, 0)
    pos = np.maximum(x, 0)
    n_neg, n_pos = int(np.count_nonzero(neg)), int(np.count_nonzero(pos))
    sum_neg, sum_pos = float(np.dot(neg, neg)), float(np.dot(pos, pos))
    left_var = sum_neg / n_neg if n_neg else 0.0
    right_var = sum_pos / n_pos if n_pos else 0.0
    mean_sq = (sum_neg + sum_pos) / x.size
    if mean_sq <= 0 or left_var <= 0 or right_var <= 0:
        return float(_ALPHAS[-1]), 0.0, left_var, right_var
    gamma_hat = np.sqrt(left_var / right_var)
    r_hat = (float(pos.sum(dtype=np.float64)) - float(neg.sum(dtype=np.float64))) ** 2 / x.size ** 2 / mean_sq
    r_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    alpha = _shape_from_ratio(r_norm, _AGGD_RATIO)
    scale_ratio = np.exp(gammaln(2 / alpha) - gammaln(1 / alpha))
    eta = (np.sqrt(right_var) - np.sqrt(left_var)) * scale_ratio
    return alpha, float(eta), left_var, right_var


def mscn(gray: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a 0-255 grey image (float32, same shape)."""
    g = np.array(gray, dtype=np.float32)  # a copy: normalised in place below
    mu = gaussian_filter(g, _WINDOW_SIGMA, truncate=_TRUNCATE, mode="nearest")
    var = gaussian_filter(g * g, _WINDOW_SIGMA, truncate=_TRUNCATE, mode="nearest") - mu * mu
    np.abs(var, out=var)
    np.sqrt(var, out=var)
    var += _C
    g -= mu
    g /= var
    return g


def _scale_features(gray: np.ndarray) -> list[float]:
    m = mscn(gray)
    out = list(fit_ggd(m))
    pairs = (m[:, :-1] * m[:, 1:],           # horizontal
             m[:-1, :] * m[1:, :],           # vertical
             m[:-1, :-1] * m[1:, 1:],        # main diagonal
             m[1:, :-1] * m[:-1, 1:])        # secondary diagonal
    for p in pairs:
        out.extend(fit_aggd(p))
    return out


def half_scale(gray: np.ndarray) -> np.ndarray:
    """The grey image at half size by 2x2 box averaging (odd last row/column dropped)."""
    g = np.asarray(gray, dtype=np.float32)
    h, w = (g.shape[0] // 2) * 2, (g.shape[1] // 2) * 2
    g = g[:h, :w]
    return 0.25 * (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2])


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma (0-255 float32) of an ``[H, W, 3]`` RGB array; a 2-D array is returned as float."""
    a = np.asarray(rgb)
    if a.ndim == 2:
        return a.astype(np.float32)
    return a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def brisque_features(image: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features (:data:`FEATURE_NAMES`) of an RGB ``[H, W, 3]`` or grey ``[H, W]`` 0-255 image."""
    g = to_gray(image)
    if min(g.shape) < 16:
        from piaa.errors import InputError

        raise InputError(f"natural-scene statistics need an image of at least 16x16 pixels, got {g.shape[1]}x{g.shape[0]}")
    return np.asarray(_scale_features(g) + _scale_features(half_scale(g)), dtype=np.float64)


_VAR_COLUMNS = np.array(["var" in n for n in FEATURE_NAMES])


def model_inputs(features: np.ndarray) -> np.ndarray:
    """Rows of :func:`brisque_features` as a model reads them: the variances (which span orders of magnitude
    between a flat sky and a noisy night shot) as natural logarithms, the shapes and means unchanged."""
    F = np.array(features, dtype=np.float64)
    F[..., _VAR_COLUMNS] = np.log(np.maximum(F[..., _VAR_COLUMNS], 0.0) + 1e-6)
    return F
