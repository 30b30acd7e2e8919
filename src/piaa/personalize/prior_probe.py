"""The ridge probe with a population prior: what other people's tastes say about which directions matter.

The plain probe (``piaa.personalize.probe``) fits ``y − generic ≈ w·z`` on a person's k rated images with an
*isotropic* ridge: every standardized feature direction is equally likely to carry taste, so 100 images spread
their evidence over every feature dimension. People's deviations from the crowd are far from isotropic: in the
shipped OASIS prior a few dozen directions carry a large share of the variance of people's taste coefficients
(BENCHMARKS.md, probe-prior). ``TastePrior`` learns that from a
population of raters: each rater's own ridge coefficients ``β_p`` on their deviation from the crowd, and their
covariance ``Σ_pop = Σ_p β_p β_pᵀ / n``. A person's probe then uses the Gaussian prior

    w ~ N(0, (1 − mix) · I / s_iso + mix · Σ_pop / s_pop)

(``s_iso``, ``s_pop`` put both parts on the same scale over the population's images), i.e. kernel ridge with
``K = (1 − mix) · Z Zᵀ / s_iso + mix · (Z F)(Z F)ᵀ / s_pop`` where ``Σ_pop = F Fᵀ``. The overall strength is
chosen per person by exact leave-one-out on their own ratings, as for the plain probe; ``mix = 0`` *is* the plain
probe. Settings (``mix`` 0.5, ``alpha`` 0.5) were chosen on validation people of OASIS-beauty subsets 2 and 3 with
models trained on the other two training subsets (docs/benchmarks/prior_probe.md); the test folds were not used.

Deviations of the population's raters are measured against the leave-self-out crowd mean of each image (the
other raters' mean), not against a model: that is the deviation a generic model at its best would leave.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.errors import InputError
from piaa.personalize.base import Personalizer
from piaa.personalize.registry import register_personalizer

DEFAULT_MIX = 0.5
DEFAULT_RATER_ALPHA = 0.5
DEFAULT_LAMBDA_GRID = tuple(float(a) for a in np.logspace(-2, 3, 11))


@dataclass
class TastePrior:
    """Covariance of people's taste coefficients over standardized features, as a factor ``F`` (Σ = F Fᵀ)."""

    factor: np.ndarray                 # d x r
    feature_mean: np.ndarray           # d
    feature_scale: np.ndarray          # d
    iso_scale: float                   # mean |z|² over the population's images
    pop_scale: float                   # mean |Fᵀz|² over the population's images
    meta: Dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.factor.shape[0])

    @cached_property
    def factor64(self) -> np.ndarray:
        """The factor in float64, converted once (every personal fit multiplies by it)."""
        return np.asarray(self.factor, dtype=np.float64)

    def standardize(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise InputError(f"features of width {X.shape[-1]} do not match the taste prior's {self.dim}")
        return (X - self.feature_mean) / self.feature_scale

    # ---- learning the prior from a population of raters -------------------------------------------------------
    @classmethod
    def fit(cls, features: np.ndarray, ratings: pd.DataFrame, alpha: float = DEFAULT_RATER_ALPHA,
            rank: Optional[int] = None, min_ratings: int = 10, meta: Optional[Dict] = None) -> "TastePrior":
        """Learn the prior from ``ratings`` (columns user, image, score; ``image`` = row index into
        ``features``). ``alpha`` is each rater's ridge strength relative to the mean |z|²; ``rank`` keeps the
        leading directions only (None: all raters). Raters with fewer than ``min_ratings`` are skipped."""
        X = np.asarray(features, dtype=np.float64)
        if X.ndim != 2 or len(X) < 3:
            raise InputError("TastePrior.fit needs a 2-d feature array of at least 3 images")
        r = ratings[["user", "image", "score"]].copy()
        r["image"] = r["image"].astype(int)
        if r["image"].min() < 0 or r["image"].max() >= len(X):
            raise InputError("ratings refer to image rows outside the feature array")
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale = np.where(scale > 1e-8, scale, 1.0)
        Z = (X - mean) / scale
        iso = float(np.mean(np.sum(Z * Z, axis=1)))
        dev = _deviation_from_crowd(r)
        betas = []
        for _, g in dev.groupby("user", sort=True):
            if len(g) < min_ratings:
                continue
            Zp = Z[g["image"].to_numpy()]
            d = g["dev"].to_numpy()
            betas.append(Zp.T @ np.linalg.solve(Zp @ Zp.T + alpha * iso * np.eye(len(d)), d - d.mean()))
        if len(betas) < 2:
            raise InputError(f"a taste prior needs at least 2 raters with >= {min_ratings} ratings, got {len(betas)}")
        F = np.asarray(betas).T / np.sqrt(len(betas))           # d x people: F Fᵀ = mean β βᵀ
        if rank is not None and rank < F.shape[1]:
            U, s, _ = np.linalg.svd(F, full_matrices=False)
            F = U[:, :rank] * s[:rank]
        ZF = Z @ F
        pop = float(np.mean(np.sum(ZF * ZF, axis=1)))
        if not pop > 0:
            raise InputError("the raters' taste coefficients are all zero (nobody deviates from the crowd)")
        info = {"raters": len(betas), "images": int(len(X)), "alpha": float(alpha), "rank": int(F.shape[1]),
                **(meta or {})}
        return cls(F.astype(np.float32), mean.astype(np.float32), scale.astype(np.float32), iso, pop, info)

    # ---- pickle-free storage ------------------------------------------------------------------------------------
    def to_arrays(self) -> Dict[str, np.ndarray]:
        import json

        return {"factor": self.factor.astype(np.float16), "feature_mean": self.feature_mean,
                "feature_scale": self.feature_scale, "scales": np.array([self.iso_scale, self.pop_scale]),
                "meta": np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8)}

    @classmethod
    def from_arrays(cls, a) -> "TastePrior":
        import json

        meta = json.loads(bytes(np.asarray(a["meta"], dtype=np.uint8)).decode()) if "meta" in a else {}
        sc = np.asarray(a["scales"], dtype=float)
        return cls(np.asarray(a["factor"], dtype=np.float32), np.asarray(a["feature_mean"], dtype=np.float32),
                   np.asarray(a["feature_scale"], dtype=np.float32), float(sc[0]), float(sc[1]), meta)

    def save(self, path) -> None:
        import io

        from piaa.state import atomic_write_bytes

        buf = io.BytesIO()
        np.savez_compressed(buf, **self.to_arrays())
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> "TastePrior":
        """A prior file, or the prior inside a group's beauty model (``piaa train beauty``: ``taste_prior.*``)."""
        with np.load(path, allow_pickle=False) as a:
            pre = "taste_prior." if "factor" not in a.files and "taste_prior.factor" in a.files else ""
            if pre + "factor" not in a.files:
                raise InputError(f"{path}: holds no taste prior")
            return cls.from_arrays({k[len(pre):]: a[k] for k in a.files if k.startswith(pre)})


def _deviation_from_crowd(r: pd.DataFrame) -> pd.DataFrame:
    """Each rating minus the other raters' mean rating of the image (images nobody else rated are dropped)."""
    g = r.groupby("image")["score"]
    tot, cnt = g.transform("sum"), g.transform("size")
    keep = cnt > 1
    out = r[keep].copy()
    out["dev"] = out["score"] - (tot[keep] - out["score"]) / (cnt[keep] - 1)
    return out


@register_personalizer("probe-prior")
class PriorProbePersonalizer(Personalizer):
    """Ridge probe on the residual of the generic score with a population taste prior; Personalizer contract.

    prior: a :class:`TastePrior`, a reference ``"default:NAME"`` / ``"file:PATH"``, a path to a saved prior, or
    None for the shipped prior (OASIS-beauty raters, EfficientNet-Lite0 multilevel features).
    mix: weight of the population part of the prior (0 = the plain isotropic probe).
    lambdas: relative ridge strengths tried by leave-one-out on the person's own ratings.
    ``X`` may be image paths / PIL images (cached features of ``backbone``/``variant``) or feature rows; rows
    with unreadable images (NaN) are left out of the fit and predict NaN.
    """

    def __init__(self, prior=None, mix: float = DEFAULT_MIX, lambdas: Sequence[float] = DEFAULT_LAMBDA_GRID,
                 backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT):
        self.prior = prior
        self.mix = mix
        self.lambdas = lambdas
        self.backbone = backbone
        self.variant = variant

    def _prior(self):
        """(TastePrior, reference string or None for an in-memory prior)."""
        from piaa.personalize.default_prior import resolve_prior

        return resolve_prior(self.prior)

    def fit(self, X, y, *, offset=None) -> "PriorProbePersonalizer":
        from piaa.personalize.probe import feature_rows, loo_ridge_strength

        if not 0.0 <= float(self.mix) <= 1.0:
            raise InputError(f"mix must be in [0, 1], got {self.mix}")
        prior, ref = self._prior()
        X = feature_rows(X, self.backbone, self.variant)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(X) != len(y):
            raise InputError(f"X has {len(X)} rows but y has {len(y)} values")
        off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float).reshape(-1)
        ok = np.isfinite(X).all(axis=1) & np.isfinite(y) & np.isfinite(off)
        if ok.sum() < 2:
            raise InputError("need at least 2 rated images with features and scores")
        Z = prior.standardize(X[ok])
        r = y[ok] - off[ok]
        # centre over the support so the offset is an unpenalized intercept, as in the plain probe
        zc, rc = Z.mean(axis=0), float(r.mean())
        Zc, r = Z - zc, r - rc
        a_iso, a_pop = (1.0 - float(self.mix)) / prior.iso_scale, float(self.mix) / prior.pop_scale
        F = prior.factor64
        ZF = Zc @ F
        K = a_iso * (Zc @ Zc.T) + a_pop * (ZF @ ZF.T)
        s2, U = np.linalg.eigh(K)
        s2 = np.clip(s2, 0.0, None)
        scale = float(np.mean(s2)) if np.mean(s2) > 0 else 1.0
        self.loo_mse_, strength = loo_ridge_strength(U, s2, r, [lam * scale for lam in self.lambdas])
        self.lambda_ = strength / scale
        c = U @ ((U.T @ r) / (s2 + strength))
        # primal weights w = Σ_eff Zᵀ c: predicting needs neither the support images nor the prior
        self.coef_ = a_iso * (Zc.T @ c) + a_pop * (F @ (ZF.T @ c))
        self.bias_ = float(rc - zc @ self.coef_)
        self.feature_mean_ = prior.feature_mean.astype(np.float64)
        self.feature_scale_ = prior.feature_scale.astype(np.float64)
        self.prior_ref_ = ref
        self.n_support_ = int(ok.sum())
        return self

    def predict(self, X, *, offset=None) -> np.ndarray:
        from piaa.personalize.probe import feature_rows

        self.check_fitted()
        X = feature_rows(X, self.backbone, self.variant)
        if X.shape[1] != len(self.coef_):
            raise InputError(f"features of width {X.shape[1]} do not match the fitted probe's {len(self.coef_)}")
        off = 0.0 if offset is None else np.asarray(offset, dtype=float).reshape(-1)
        return off + ((X - self.feature_mean_) / self.feature_scale_) @ self.coef_ + self.bias_

    # ---- state (no pickle) --------------------------------------------------------------------------------------
    def _get_state(self):
        meta = {"backbone": self.backbone, "variant": self.variant,
                "mix": float(self.mix), "lambdas": [float(a) for a in np.atleast_1d(self.lambdas)],
                "lambda_": self.lambda_, "loo_mse_": self.loo_mse_, "bias_": self.bias_,
                "n_support_": self.n_support_, "prior": self.prior_ref_}
        arrays = {"coef_": self.coef_, "feature_mean_": self.feature_mean_, "feature_scale_": self.feature_scale_}
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays) -> "PriorProbePersonalizer":
        est = cls(prior=meta.get("prior"), mix=meta["mix"], lambdas=tuple(meta["lambdas"]), backbone=meta["backbone"],
                  variant=meta["variant"])
        for k in ("coef_", "feature_mean_", "feature_scale_"):
            setattr(est, k, np.asarray(arrays[k], dtype=np.float64))
        est.lambda_, est.loo_mse_, est.bias_ = float(meta["lambda_"]), float(meta["loo_mse_"]), float(meta["bias_"])
        est.n_support_ = int(meta["n_support_"])
        est.prior_ref_ = meta.get("prior")
        return est

    @classmethod
    def contract_example(cls, rng) -> Dict:
        """Random 8-d feature rows and a random rank-3 prior over them (the shipped prior is 3120-d)."""
        ex = super().contract_example(rng)
        d = ex["X"].shape[1]
        prior = TastePrior(rng.normal(size=(d, 3)).astype(np.float32), np.zeros(d, np.float32),
                           np.ones(d, np.float32), float(d), 3.0)
        ex["params"] = {"prior": prior}
        return ex
