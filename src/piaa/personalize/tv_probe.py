"""``tv-probe``: task-vector customization, then the ridge probe with the taste prior on its residual.

The per-person coefficients λ (``piaa.personalize.task_vectors``) are a few-parameter model that carries what
the bank's task models know (rater populations, valence, photo quality, ...): with 10 ratings that is what can
be learned. What the λ-model leaves unexplained on the same rated images is then fitted by the probe with the
population taste prior (``piaa.personalize.prior_probe``), whose many parameters pay off with 100 ratings.
Measured on validation people and the three shipped experiments: BENCHMARKS.md §3–4.

The profile is the two fitted states side by side: a reference to the task bank plus λ ("tv/..."), and the
probe folded into one float32 weight per feature ("probe/w"), no pickle.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np

from piaa.errors import InputError
from piaa.personalize.base import Personalizer
from piaa.personalize.registry import register_personalizer


def _folded(probe):
    """The fitted probe with its standardization folded into float32 weights (one per feature) and the bias:
    what the profile stores, so predictions before and after a save are identical."""
    w = (probe.coef_ / probe.feature_scale_).astype(np.float32).astype(np.float64)
    probe.bias_ = float(probe.bias_ - probe.feature_mean_ @ w)
    probe.coef_, probe.feature_mean_, probe.feature_scale_ = w, np.zeros_like(w), np.ones_like(w)
    return probe


@register_personalizer("tv-probe")
class TVProbePersonalizer(Personalizer):
    """Task vectors, then the probe with the taste prior on their residual (Personalizer contract).

    Parameters
    ----------
    bank: task bank for the λ-model ("default" = the shipped bank, a directory or a TaskBank).
    prior: taste prior of the probe (None = the shipped prior; see ``PriorProbePersonalizer``).
    mix: weight of the prior's population part (None = probe-prior's default).
    backbone, variant: features of the probe (must match the prior's).
    tv_params: extra ``TaskVectorPersonalizer`` parameters (steps, lr, prior_strength, ...).
    scale: (min, max) of the person's rating scale (the λ-model's template spans it).

    ``X``: image paths (bank inputs and probe features come from the feature cache), or feature rows that are
    both the bank's inputs and the probe's features (a head-only multilevel bank on the probe's backbone).
    """

    uses_offset = True                         # offset = the generic score the λ change is added to
    resource_params = ("bank", "prior", "cache")

    def __init__(self, bank="default", prior=None, mix=None, backbone: str = "efficientnet_lite0",
                 variant: str = "multilevel", tv_params=None, scale=None, cache="default"):
        self.bank = bank
        self.prior = prior
        self.mix = mix
        self.backbone = backbone
        self.variant = variant
        self.tv_params = tv_params
        self.scale = scale
        self.cache = cache

    #: λ-fit settings of the tv-probe default (gentler than task-vectors alone; see the evaluation method)
    TV_DEFAULTS = {"lr": 1e-3, "reg": 0.0}

    def _tv(self):
        from piaa.personalize.task_vectors import TaskVectorPersonalizer

        return TaskVectorPersonalizer(bank=self.bank, scale=self.scale, cache=self.cache,
                                      **{**self.TV_DEFAULTS, **(self.tv_params or {})})

    def _probe(self):
        from piaa.personalize.prior_probe import DEFAULT_MIX, PriorProbePersonalizer

        return PriorProbePersonalizer(prior=self.prior, mix=DEFAULT_MIX if self.mix is None else float(self.mix),
                                      backbone=self.backbone, variant=self.variant)

    @staticmethod
    def _items(X):
        return X if isinstance(X, np.ndarray) and X.dtype != object else list(X)

    def _problem(self, X):
        """(λ-problem over the rows of ``X`` with readable inputs, mask of those rows)."""
        from piaa.models.task_vectors.engine import make_problem
        from piaa.models.task_vectors.inputs import as_inputs

        tv = self.tv_ if hasattr(self, "tv_") else self._tv()
        bank = tv._bank()
        Xa = as_inputs(bank.spec, X, cache=self.cache)
        ok = np.isfinite(Xa).all(axis=1)
        return make_problem(bank, Xa[ok], tv._template(bank), tv.engine), ok

    def _base(self, problem, ok, offset) -> np.ndarray:
        """The probe's offset: the generic score plus what the person's λ changed relative to their adaptive
        start (without an offset: the λ-model's own scores); NaN where the bank has no input."""
        lam = self.tv_.coefficients()
        out = np.full(len(ok), np.nan)
        s = problem.scores(lam)
        if offset is None:
            out[ok] = s
            return out
        lam0 = np.broadcast_to(self.init_coef_, lam.shape)
        out[ok] = np.asarray(offset, np.float64).reshape(-1)[ok] + s - problem.scores(lam0)
        return out

    def fit(self, X, y, *, offset=None) -> "TVProbePersonalizer":
        """Fit λ to the rated images, then the probe to what the generic score plus the λ change leaves."""
        from piaa.personalize.probe import feature_rows

        X = self._items(X)
        problem, ok = self._problem(X)
        return self.fit_problem(problem, ok, y, feature_rows(X, self.backbone, self.variant), offset=offset)

    def fit_problem(self, problem, ok, y, features, *, offset=None) -> "TVProbePersonalizer":
        """:meth:`fit` on prepared inputs: the λ-problem of the rows ``ok`` (``piaa.models.task_vectors.engine``)
        and the probe's feature rows of every row. The evaluation method calls this with the fold's cached
        inputs and projections, so what is benchmarked is exactly this estimator."""
        if self.tv_params is not None and not isinstance(self.tv_params, dict):
            raise InputError(f"tv_params must be a dict of task-vector parameters, not {self.tv_params!r}")
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        ok = np.asarray(ok, bool)
        if not np.isfinite(y).all():
            raise InputError("every rated image needs a finite score")
        if ok.sum() < 2:
            raise InputError("need at least 2 rated images with readable pixels to personalize")
        self.tv_ = self._tv().fit_problem(problem, y[ok])
        self.init_coef_ = np.asarray(self.tv_.init_coef_, np.float64)
        off = self._base(problem, ok, offset)
        self.probe_ = _folded(self._probe().fit(np.asarray(features, np.float64), y, offset=off))
        self.n_support_ = int(np.isfinite(off).sum())
        return self

    def predict(self, X, *, offset=None) -> np.ndarray:
        from piaa.personalize.probe import feature_rows

        self.check_fitted()
        X = self._items(X)
        problem, ok = self._problem(X)
        return self.predict_problem(problem, ok, feature_rows(X, self.backbone, self.variant), offset=offset)

    def predict_problem(self, problem, ok, features, *, offset=None) -> np.ndarray:
        """:meth:`predict` on prepared inputs (see :meth:`fit_problem`)."""
        self.check_fitted()
        return self.probe_.predict(np.asarray(features, np.float64), offset=self._base(problem, ok, offset))

    # ---- state: the two fitted states side by side -------------------------------------------------------------
    def _get_state(self):
        tv, pr = self.tv_.state_dict(), self.probe_.state_dict()
        arrays = {**{f"tv/{k}": v for k, v in tv["arrays"].items()}, "probe/w": self.probe_.coef_.astype(np.float32),
                  "init_coef": self.init_coef_.astype(np.float32)}
        return {"params": self.saved_params(), "tv": tv["meta"], "probe": pr["meta"],
                "n_support": self.n_support_}, arrays

    @classmethod
    def _from_state(cls, meta, arrays, bank=None) -> "TVProbePersonalizer":
        from piaa.personalize.prior_probe import PriorProbePersonalizer
        from piaa.personalize.task_vectors import TaskVectorPersonalizer

        tv_arrays = {k[len("tv/"):]: v for k, v in arrays.items() if k.startswith("tv/")}
        tv = TaskVectorPersonalizer.from_state_dict({"meta": meta["tv"], "arrays": tv_arrays}, bank=bank)
        w = np.asarray(arrays["probe/w"], np.float64)
        pr = PriorProbePersonalizer.from_state_dict({"meta": meta["probe"], "arrays": {
            "coef_": w, "feature_mean_": np.zeros_like(w), "feature_scale_": np.ones_like(w)}})
        params = dict(meta.get("params", {}))
        est = cls(bank=tv.bank, prior=pr.prior, **params)
        est.tv_, est.probe_ = tv, pr
        est.n_support_ = int(meta.get("n_support", 0))
        est.init_coef_ = np.asarray(arrays["init_coef"], np.float64)
        return est

    @classmethod
    def contract_example(cls, rng) -> Dict[str, Any]:
        """The task-vector example's random bank (inputs = 1280-d rows) with a random prior over the same rows."""
        from piaa.personalize.prior_probe import TastePrior
        from piaa.personalize.task_vectors import TaskVectorPersonalizer

        ex = TaskVectorPersonalizer.contract_example(rng)
        d = ex["X"].shape[1]
        prior = TastePrior(rng.normal(size=(d, 3)).astype(np.float32), np.zeros(d, np.float32),
                           np.ones(d, np.float32), float(d), 3.0)
        bank = ex["resources"]["bank"]
        ex["params"] = {"bank": bank, "prior": prior, "tv_params": {"steps": 20, "engine": "numpy"}, "scale": (1, 7)}
        return ex
