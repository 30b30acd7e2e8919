"""The learned open / closed decision: a logistic regression on the eye features of :mod:`piaa.faces.eye_features`.

Why learned: a threshold on the eye aspect ratio alone reads sleeping, tilted and laughing faces as open (the
landmark model pulls lids towards an average open eye); the patch's gradients and centre darkness carry what
the landmarks miss. Why this small: the labelled closed eyes number in the tens (docs/faces.md), so the model
is a ridge-penalised logistic regression with balanced class weights, fitted by Newton's method in numpy,
saved as JSON (no pickle) and shipped as the catalogue asset ``eye-state``.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from piaa.errors import AssetMissingError, InputError, NotFittedError
from piaa.paths import assets_dir

SHIPPED = "faces/eye_state.json"   # under src/piaa/assets; rebuilt by bench/faces_eyes.py train


class EyeStateModel:
    """P(eyes open) from a face's eye feature vector (scikit-learn's estimator contract, without sklearn).

    ``C`` is the inverse ridge strength on the standardised features (the intercept is not penalised).
    """

    def __init__(self, C: float = 0.1, max_iter: int = 50):
        self.C = C
        self.max_iter = max_iter

    def fit(self, X, y, feature_names: Optional[Sequence[str]] = None) -> "EyeStateModel":
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y) or set(np.unique(y)) != {0.0, 1.0}:
            raise InputError("EyeStateModel.fit needs a 2-D feature matrix and labels with both 0 and 1")
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0) + 1e-9
        Z = np.hstack([(X - self.mean_) / self.scale_, np.ones((len(X), 1))])
        pos = y.mean()
        w = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))       # balanced classes
        penalty = np.full(Z.shape[1], 1.0 / self.C)
        penalty[-1] = 0.0
        beta = np.zeros(Z.shape[1])
        for _ in range(self.max_iter):
            p = 1.0 / (1.0 + np.exp(-np.clip(Z @ beta, -30, 30)))
            grad = Z.T @ (w * (p - y)) + penalty * beta
            hess = (Z * (w * p * (1 - p))[:, None]).T @ Z + np.diag(penalty + 1e-9)
            step = np.linalg.solve(hess, grad)
            beta -= step
            if np.max(np.abs(step)) < 1e-8:
                break
        self.coef_, self.intercept_ = beta[:-1], float(beta[-1])
        self.feature_names_ = list(feature_names) if feature_names is not None else None
        return self

    def predict_proba(self, X) -> np.ndarray:
        """P(open) for each row of ``X`` (a 1-D vector gives a 0-d result)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("EyeStateModel is not fitted")
        X = np.asarray(X, dtype=np.float64)
        z = ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_dict(self) -> dict:
        if not hasattr(self, "coef_"):
            raise NotFittedError("EyeStateModel is not fitted")
        return {"kind": "eye-state-logistic", "C": self.C, "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(), "coef": self.coef_.tolist(), "intercept": self.intercept_,
                "feature_names": self.feature_names_}

    @classmethod
    def from_dict(cls, d: dict) -> "EyeStateModel":
        if d.get("kind") != "eye-state-logistic":
            raise InputError(f"not an eye-state model (kind {d.get('kind')!r})")
        m = cls(C=float(d["C"]))
        m.mean_, m.scale_ = np.asarray(d["mean"], float), np.asarray(d["scale"], float)
        m.coef_, m.intercept_ = np.asarray(d["coef"], float), float(d["intercept"])
        m.feature_names_ = d.get("feature_names")
        return m

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> "EyeStateModel":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=1)
def shipped_model() -> EyeStateModel:
    """The eye model that ships with piaa (trained on the labels of bench/data/eyes_labels.csv)."""
    path = assets_dir() / SHIPPED
    if not path.is_file():
        raise AssetMissingError(f"the eye-state model {path} is missing; rebuild it with "
                                "`python bench/faces_eyes.py train`")
    return EyeStateModel.load(path)
