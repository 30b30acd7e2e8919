"""The per-person probe: ridge regression on image features, fitted to what the generic model gets wrong.

``y_person ≈ offset + w·standardize(x) + b``, where ``offset`` is the generic model's score of the image (zero
when no generic model is given). With 10–100 rated images and thousands of feature dimensions the fit lives
entirely in the strength of the ridge, so ``alpha`` is chosen per person by exact leave-one-out error on the
person's own rated images (closed form via the SVD, no test data involved). The alpha grid is relative to the
mean squared singular value of the centred support features, which makes it independent of the feature scale.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.errors import InputError
from piaa.personalize.base import Personalizer
from piaa.personalize.registry import register_personalizer

DEFAULT_ALPHA_GRID = tuple(float(a) for a in np.logspace(-3, 3, 13))


def feature_rows(X, backbone: str, variant: str) -> np.ndarray:
    """A 2-D float array of features: ``X`` itself when it is already feature rows, else the cached features of
    the image paths / PIL images in ``X`` (unreadable images give NaN rows)."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        arr = X
    elif len(X) and not isinstance(X[0], (str, bytes)) and np.ndim(X[0]) == 1:
        arr = np.asarray(X)
    else:  # image paths / PIL images; "a,b" concatenates the features of several backbones
        from piaa.features import FeatureExtractor

        names = [b.strip() for b in str(backbone).replace("+", ",").split(",") if b.strip()]
        parts = [np.asarray(FeatureExtractor(b, variant).extract(list(X)).features, dtype=np.float64) for b in names]
        arr = np.concatenate([p.reshape(len(p), -1) for p in parts], axis=1) if len(parts) > 1 else parts[0]
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"features must be a 2-D array, got shape {arr.shape}")
    return arr


def loo_ridge_strength(U: np.ndarray, s2: np.ndarray, r: np.ndarray, strengths) -> tuple:
    """(exact leave-one-out MSE, strength) of the best ridge strength for centred targets ``r``, given the
    eigenvectors ``U`` and eigenvalues ``s2`` of the centred support's Gram (kernel) matrix. The hat matrix
    diagonal includes the intercept's 1/n, since the mean is fitted on the same images."""
    Ur = U.T @ r
    n = len(r)
    best = None
    for a in strengths:
        shrink = s2 / (s2 + a)
        h = (U ** 2) @ shrink + 1.0 / n
        loo = (r - U @ (shrink * Ur)) / np.clip(1.0 - h, 1e-6, None)
        err = float(np.mean(loo ** 2))
        if best is None or err < best[0] - 1e-12:
            best = (err, float(a))
    return best


def _left_spectrum(Zc: np.ndarray):
    """Left singular vectors U and squared singular values of ``Zc``. With fewer rows than columns (10-100
    rated images, thousands of feature dimensions) the eigendecomposition of the n x n Gram matrix is ~10x
    cheaper than an SVD and gives the same U and s^2."""
    n, d = Zc.shape
    if n <= d:
        s2, U = np.linalg.eigh(Zc @ Zc.T)
        return U, np.clip(s2, 0.0, None)
    U, s, _ = np.linalg.svd(Zc, full_matrices=False)
    return U, s ** 2


@register_personalizer("probe")
class ProbePersonalizer(Personalizer):
    """Ridge on (standardized) features fitted to the residual ``y - offset``; the Personalizer contract.

    Parameters
    ----------
    alphas : relative ridge strengths tried by leave-one-out (multiplied by the mean squared singular value of
        the centred support features); a single value disables the search.
    feature_mean, feature_scale : per-dimension statistics used to standardize features, ideally computed on a
        large training set (the evaluation passes the generic task's images). ``None``: the support's own mean
        and the pooled std (a per-column std from 10 images is too noisy to divide by).
    backbone, variant : which features ``fit``/``predict`` extract when given image paths instead of arrays.
    """

    def __init__(self, alphas: Sequence[float] = DEFAULT_ALPHA_GRID, feature_mean=None, feature_scale=None,
                 backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT):
        self.alphas = alphas
        self.feature_mean = feature_mean
        self.feature_scale = feature_scale
        self.backbone = backbone
        self.variant = variant

    # ---- fitting ---------------------------------------------------------------------------------------------
    def fit(self, X, y, *, offset=None) -> "ProbePersonalizer":
        X = self._features(X)
        y = np.asarray(y, dtype=float).reshape(-1)
        if X.shape[0] != y.shape[0]:
            raise InputError(f"X has {X.shape[0]} rows but y has {y.shape[0]} values")
        if X.shape[0] < 2:
            raise InputError("the probe needs at least 2 rated images")
        off = np.zeros_like(y) if offset is None else np.asarray(offset, dtype=float).reshape(-1)
        ok = np.isfinite(X).all(axis=1) & np.isfinite(y) & np.isfinite(off)
        if ok.sum() < 2:
            raise InputError("fewer than 2 usable rated images (features or scores missing)")
        X, y, off = X[ok], y[ok], off[ok]
        if self.feature_mean is not None:
            self.mean_ = np.asarray(self.feature_mean, dtype=np.float64).reshape(-1)
            self.scale_ = np.asarray(self.feature_scale, dtype=np.float64).reshape(-1) \
                if self.feature_scale is not None else np.ones(X.shape[1])
        else:
            self.mean_ = X.mean(axis=0)
            pooled = float(np.sqrt(np.mean(X.var(axis=0))))
            self.scale_ = np.full(X.shape[1], pooled if pooled > 0 else 1.0)
        self.scale_ = np.where(self.scale_ > 1e-8, self.scale_, 1.0)
        Z = (X - self.mean_) / self.scale_
        r = y - off
        zc = Z.mean(axis=0)
        rc = r.mean()
        Zc, rr = Z - zc, r - rc
        U, s2 = _left_spectrum(Zc)
        base = float(s2.mean()) if s2.size and s2.mean() > 0 else 1.0
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=float)) * base
        self.loo_mse_, a = loo_ridge_strength(U, s2, rr, alphas)
        self.alpha_ = float(a)
        coef = Zc.T @ (U @ ((U.T @ rr) / (s2 + a)))  # = V diag(s/(s^2+a)) U^T r, without forming V
        self.coef_ = coef
        self.intercept_ = float(rc - zc @ coef)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X, *, offset=None) -> np.ndarray:
        self.check_fitted()
        X = self._features(X)
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"X has {X.shape[1]} features, the probe was fitted on {self.n_features_in_}")
        off = 0.0 if offset is None else np.asarray(offset, dtype=float).reshape(-1)
        return off + ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def _features(self, X) -> np.ndarray:
        return feature_rows(X, self.backbone, self.variant)

    # ---- state -----------------------------------------------------------------------------------------------
    def _get_state(self):
        meta = {"backbone": self.backbone, "variant": self.variant,
                "alphas": [float(a) for a in np.atleast_1d(self.alphas)], "alpha_": self.alpha_,
                "intercept_": self.intercept_, "loo_mse_": self.loo_mse_, "n_features_in_": self.n_features_in_}
        arrays = {"coef_": self.coef_.astype(np.float64), "mean_": self.mean_.astype(np.float64),
                  "scale_": self.scale_.astype(np.float64)}
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays) -> "ProbePersonalizer":
        est = cls(alphas=tuple(meta["alphas"]), backbone=meta["backbone"], variant=meta["variant"])
        est.coef_ = np.asarray(arrays["coef_"], dtype=np.float64)
        est.mean_ = np.asarray(arrays["mean_"], dtype=np.float64)
        est.scale_ = np.asarray(arrays["scale_"], dtype=np.float64)
        est.alpha_ = float(meta["alpha_"])
        est.intercept_ = float(meta["intercept_"])
        est.loo_mse_ = float(meta["loo_mse_"])
        est.n_features_in_ = int(meta["n_features_in_"])
        return est
