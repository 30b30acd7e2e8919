"""``RidgeHead``: a ridge regression from image features to a score, with the scorer's head interface.

Why a second head kind beside :class:`~piaa.models.giaa.GenericHead`: for a per-image mean opinion score (photo
quality on BIQ2021) a ridge on standardized multi-level features matched or beat the MLP distribution head in
cross-validation (docs/benchmarks/quality.md), and it is one matrix-vector product at inference. The head
publishes the same interface the :class:`~piaa.models.scorer.Scorer` uses: ``predict`` (scores clipped to the
scale), ``predict_distribution`` (the score as a distribution over the scale's buckets whose expectation is the
score, so ``distribution @ bucket_values == score``), ``bucket_values``, ``state_dict`` / ``from_state_dict``
(no pickle).

Features: optional ``log1p`` (features are non-negative ReLU6 activations), optional per-block L2 normalisation
(not used by default), standardization with the training mean/std, then ``score = Z @ coef + intercept``. The
ridge is solved in its dual form through one eigen-decomposition of the ``n x n`` Gram matrix, so every
strength of a sweep costs one matrix product (see :func:`ridge_path`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from piaa.errors import InputError, NotFittedError

STATE_KIND = "piaa.RidgeHead"
STATE_VERSION = 1


def _scale(scale):
    from piaa.models.giaa import as_scale

    return as_scale(scale)


def ridge_path(A: np.ndarray, y: np.ndarray, B: np.ndarray, alphas: Sequence[float], loo: bool = False):
    """Predictions on rows ``B`` of ridge fits on standardized rows ``A`` (centred target), for every strength.

    Dual form: ``coef = A.T (A A.T + alpha I)^-1 (y - mean y)``; one ``eigh`` of the Gram matrix serves all
    ``alphas``. Returns ``{alpha: predictions [len(B)]}`` (the target mean added back); with ``loo=True`` also
    ``{alpha: leave-one-out predictions on A}`` from the closed form ``y_i - e_i / (1 - H_ii)`` (hat matrix
    ``H = U diag(w / (w + alpha)) U.T``; the target mean is treated as known, a negligible approximation for
    thousands of rows), so a strength can be chosen on the training rows alone at no extra cost.
    """
    y = np.asarray(y, dtype=np.float64)
    ym = float(y.mean())
    w, U = np.linalg.eigh(A @ A.T)
    w = np.maximum(w, 0.0)
    Uy = U.T @ (y - ym)
    BA = B @ A.T
    pred, loo_pred = {}, {}
    for a in alphas:
        a = float(a)
        pred[a] = BA @ (U @ (Uy / (w + a))) + ym
        if loo:
            shrink = w / (w + a)
            fitted = U @ (shrink * Uy) + ym
            h = (U * U) @ shrink
            loo_pred[a] = y - (y - fitted) / np.maximum(1.0 - h, 1e-12)
    return (pred, loo_pred) if loo else pred


class RidgeHead:
    """Ridge regression head over a rating scale (scikit-learn style: params in ``__init__``, fitted ``*_``).

    Parameters:
        scale:        ``Scale`` or ``(min, max, buckets)``: predictions are clipped to ``[min, max]`` and
                      distributions are over its buckets.
        alpha:        ridge strength on the standardized features (scale-free: features have unit variance).
        log_features: apply ``log1p`` to the (non-negative) features first.
    """

    _PARAMS = ("scale", "alpha", "log_features")

    def __init__(self, scale=(0.0, 1.0, 11), alpha: float = 3000.0, log_features: bool = False):
        self.scale = scale
        self.alpha = alpha
        self.log_features = log_features

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params) -> "RidgeHead":
        for k, v in params.items():
            if k not in self._PARAMS:
                raise InputError(f"RidgeHead has no parameter {k!r}; parameters: {', '.join(self._PARAMS)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return "RidgeHead(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self._PARAMS) + ")"

    @property
    def bucket_values(self) -> np.ndarray:
        return _scale(self.scale).values

    # ---- fitting ---------------------------------------------------------------------------------------------
    def _prep(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise InputError(f"features must be a 2-d array [n_images, n_features], got shape {X.shape}")
        if not np.isfinite(X).all():
            raise InputError("features contain NaN or inf (an image that failed to load?)")
        return np.log1p(np.maximum(X, 0.0)) if self.log_features else X

    def fit(self, X, y) -> "RidgeHead":
        """Fit on features ``[n, d]`` and scores ``[n]`` (on the scale)."""
        if float(self.alpha) <= 0:
            raise InputError(f"alpha must be > 0, got {self.alpha!r}")
        Xt = self._prep(X)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(y) != len(Xt):
            raise InputError(f"{len(Xt)} feature rows but {len(y)} scores")
        if len(y) < 3 or not np.isfinite(y).all():
            raise InputError("need at least 3 finite scores to fit")
        mean, std = Xt.mean(axis=0), Xt.std(axis=0)
        std = np.where(std > 1e-8, std, 1.0)
        A = (Xt - mean) / std
        ym = float(y.mean())
        n, d = A.shape
        if n <= d:  # dual: n x n system
            coef = A.T @ np.linalg.solve(A @ A.T + float(self.alpha) * np.eye(n), y - ym)
        else:
            coef = np.linalg.solve(A.T @ A + float(self.alpha) * np.eye(d), A.T @ (y - ym))
        # fold the standardization into the weights: score = X @ w + b
        self.feature_mean_, self.feature_std_ = mean, std
        self.coef_ = coef
        self.intercept_ = ym
        self.n_features_in_ = d
        return self

    # ---- prediction ------------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this RidgeHead is not fitted yet: call fit(X, y) first")

    def decision(self, X) -> np.ndarray:
        """The unclipped linear score (for rankings that must not tie at the scale's ends)."""
        self._check_fitted()
        Xt = self._prep(X)
        if Xt.shape[1] != self.n_features_in_:
            raise InputError(f"expected {self.n_features_in_} features per image, got {Xt.shape[1]}")
        return ((Xt - self.feature_mean_) / self.feature_std_) @ self.coef_ + self.intercept_

    def predict(self, X) -> np.ndarray:
        """Scores clipped to the scale ``[min, max]``."""
        sc = _scale(self.scale)
        return np.clip(self.decision(X), sc.min, sc.max)

    def predict_distribution(self, X) -> np.ndarray:
        """The score as a distribution over the scale's buckets (split between the two nearest buckets)."""
        return _scale(self.scale).soft_onehot(self.predict(X))

    # ---- state -----------------------------------------------------------------------------------------------
    def state_dict(self, dtype: str = "float32") -> dict:
        self._check_fitted()
        sc = _scale(self.scale)
        vec = np.promote_types(dtype, np.float32)
        meta = {"kind": STATE_KIND, "version": STATE_VERSION,
                "params": {"scale": {"min": sc.min, "max": sc.max, "buckets": sc.buckets},
                           "alpha": float(self.alpha), "log_features": bool(self.log_features)},
                "n_features_in": int(self.n_features_in_), "intercept": float(self.intercept_)}
        arrays = {"feature_mean": self.feature_mean_.astype(vec), "feature_std": self.feature_std_.astype(vec),
                  "coef": self.coef_.astype(dtype)}
        return {"meta": meta, "arrays": arrays}

    @classmethod
    def from_state_dict(cls, state) -> "RidgeHead":
        meta, arrays = state.get("meta", {}), state.get("arrays", {})
        if meta.get("kind") != STATE_KIND:
            raise InputError(f"not a RidgeHead state (kind={meta.get('kind')!r})")
        if int(meta.get("version", 0)) > STATE_VERSION:
            raise InputError(f"RidgeHead state version {meta.get('version')} is newer than this piaa supports "
                             f"({STATE_VERSION}); upgrade piaa")
        p = dict(meta["params"])
        head = cls(scale=_scale(p["scale"]), alpha=float(p["alpha"]), log_features=bool(p["log_features"]))
        try:
            head.feature_mean_ = np.asarray(arrays["feature_mean"], dtype=np.float64)
            head.feature_std_ = np.asarray(arrays["feature_std"], dtype=np.float64)
            head.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        except KeyError as exc:
            raise InputError(f"RidgeHead state is missing array {exc.args[0]!r}") from None
        head.intercept_ = float(meta["intercept"])
        head.n_features_in_ = int(meta["n_features_in"])
        if head.coef_.shape != (head.n_features_in_,):
            raise InputError(f"RidgeHead state: coef has shape {head.coef_.shape}, expected ({head.n_features_in_},)")
        return head


def head_from_state(state):
    """The head of a scoring-model state: a GenericHead, a RidgeHead or a BlendHead, by the state's ``kind``."""
    kind = state.get("meta", {}).get("kind")
    if kind == STATE_KIND:
        return RidgeHead.from_state_dict(state)
    from piaa.models.blend_head import STATE_KIND as BLEND_KIND

    if kind == BLEND_KIND:
        from piaa.models.blend_head import BlendHead

        return BlendHead.from_state_dict(state)
    from piaa.models.giaa import GenericHead

    return GenericHead.from_state_dict(state)
