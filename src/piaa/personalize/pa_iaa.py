"""PA_IAA inter-task fusion as a personalizer (scikit-learn contract, docs/design.md §1A and §4).

    from piaa.personalize import make_personalizer
    est = make_personalizer("pa-iaa")              # the shipped OASIS network, ridge fusion
    est.fit(my_photos[:50], my_stars[:50])
    est.predict(other_photos)
    est.trait_weights()                            # {"gender": 0.8, ...}: what the fit says about the taste

The multi-task network is frozen and only referenced: the fitted state holds ``w_b`` (+ bias, or the MLP's
weights) and the network's reference (``default:NAME`` / ``file:PATH``) and fingerprint, so a profile is a few
hundred bytes and loading it with a different network fails loudly instead of predicting nonsense.

``X`` may be image paths / PIL images (features via the cached FeatureExtractor), a precomputed array of the
network's input rows, or a dict of precomputed network outputs (``score``, ``second``, ``hidden``; what
``PAIAANet.predict_arrays`` returns) — the evaluation runner uses the latter to run the network once per fold.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from piaa.errors import InputError, StateError
from piaa.models.pa_iaa.fusion import FusionMLP, fit_linear, loo_alpha, ridge_fusion_scaled
from piaa.personalize.base import Personalizer
from piaa.personalize.registry import register_personalizer


@register_personalizer("pa-iaa")
class PAIAAPersonalizer(Personalizer):
    """``s_b = s_a + w_b · p + b`` on a frozen PA_IAA (or MT_IAA) network.

    network: a ``PAIAANet``, a reference string (``"default:NAME"``, ``"file:PATH"``) or None (shipped default).
    fusion: "linear" (the paper's per-person w_b) or "mlp" (the authors' code: w predicted per image).
    solver: "sgd" (default: the paper's lr 1e-4 with momentum 0.9, ``steps`` full-batch steps from w = 0 — the
    step budget acts as shrinkage; 3000 chosen on validation people, docs/pa_iaa.md) or "ridge" (closed form;
    ``alpha="loo"`` picks alpha by leave-one-out on the support images).
    bias: fit a per-person offset b (does not change rankings; keeps w from absorbing the mean shift).
    score_range: (min, max) of the person's rating scale; the network's generic score is mapped linearly from
    its own scale (OASIS 1–7) onto it, so e.g. 1–5 stars need no offset/scale learning. None: the network's scale.
    generic_scale: also fit a factor on s_a (``a·s_a + w·p + b``, ridge only): how much this person follows the
    crowd relative to the traits.
    """

    uses_offset = False                       # the generic score s_a comes from the network itself
    resource_params = ("network", "cache")

    def __init__(self, network: Union[None, str, Any] = None, fusion: str = "linear", solver: str = "sgd",
                 alpha: Union[str, float] = "loo", bias: bool = True, generic_scale: bool = False,
                 score_range: Optional[Sequence[float]] = None,
                 lr: float = 1e-4, steps: int = 3000,
                 momentum: float = 0.9, mlp_hidden: int = 32, mlp_steps: int = 300, mlp_lr: float = 1e-3,
                 mlp_weight_decay: float = 1e-2, seed: int = 0, cache="default"):
        self.network = network
        self.fusion = fusion
        self.solver = solver
        self.alpha = alpha
        self.bias = bias
        self.generic_scale = generic_scale
        self.score_range = score_range
        self.lr = lr
        self.steps = steps
        self.momentum = momentum
        self.mlp_hidden = mlp_hidden
        self.mlp_steps = mlp_steps
        self.mlp_lr = mlp_lr
        self.mlp_weight_decay = mlp_weight_decay
        self.seed = seed
        self.cache = cache

    # ---- network and inputs -----------------------------------------------------------------------------------
    def _net(self):
        """The network ``self.network`` names, resolved once (re-resolved when the parameter changes)."""
        cached = getattr(self, "_network", None)
        if cached is not None and cached[0] is self.network:
            return cached[1]
        from piaa.models.pa_iaa.default import resolve_network

        net = self.network if hasattr(self.network, "predict_arrays") else resolve_network(self.network)
        self._network = (self.network, net)
        return net

    def _outputs(self, X) -> Dict[str, np.ndarray]:
        if isinstance(X, dict):
            missing = [k for k in ("score", "second") if k not in X]
            if missing:
                raise InputError(f"precomputed outputs lack {missing}; pass PAIAANet.predict_arrays(...) results")
            return X
        net = self._net()
        if isinstance(X, np.ndarray) and X.dtype != object:
            rows = X.reshape(len(X), -1)
        else:
            rows, errors = net.extract_inputs(list(X), cache=self.cache)
            if errors:
                i, msg = next(iter(errors.items()))
                raise InputError(f"{len(errors)} image(s) could not be read, e.g. #{i} {list(X)[i]}: {msg}")
        return net.predict_arrays(rows)

    def _generic(self, out) -> np.ndarray:
        """Generic score, on ``score_range`` when given."""
        s_a = np.asarray(out["score"], float)
        if self.score_range is None:
            return s_a
        lo, hi = (float(v) for v in self.score_range)
        vals = self._net().config["bucket_values"]
        return lo + (s_a - vals[0]) / (vals[-1] - vals[0]) * (hi - lo)

    # ---- fit / predict ----------------------------------------------------------------------------------------
    def fit(self, X, y, *, offset=None) -> "PAIAAPersonalizer":
        """Fit the fusion on the rated images ``X`` and scores ``y``; ``offset`` is ignored (uses_offset=False:
        the network's own generic score is the starting point)."""
        y = np.asarray(y, dtype=float).ravel()
        out = self._outputs(X)
        s_a, P = self._generic(out), np.asarray(out["second"], float)
        if len(y) != len(s_a):
            raise InputError(f"{len(s_a)} images but {len(y)} scores")
        ok = np.isfinite(y) & np.isfinite(s_a) & np.isfinite(P).all(1)
        if ok.sum() < 2:
            raise InputError("need at least 2 rated images with features to fit a PA_IAA fusion")
        self.a_ = 1.0
        if self.fusion == "linear" and self.generic_scale:
            if self.solver != "ridge":
                raise InputError("generic_scale=True needs solver='ridge'")
            a = loo_alpha(s_a[ok], P[ok], y[ok], True) if self.alpha == "loo" else float(self.alpha)
            w, b, self.a_ = ridge_fusion_scaled(s_a[ok], P[ok], y[ok], a)
            self.w_, self.b_, self.alpha_, self.mlp_ = np.asarray(w, float), float(b), a, None
        elif self.fusion == "linear":
            w, b, a = fit_linear(s_a[ok], P[ok], y[ok], self.solver, self.alpha, self.bias, self.lr, self.steps,
                                 self.momentum)
            self.w_, self.b_, self.alpha_ = np.asarray(w, float), float(b), a
            self.mlp_ = None
        elif self.fusion == "mlp":
            if "hidden" not in out:
                raise InputError("the MLP fusion needs the network's hidden descriptor ('hidden' output)")
            self.mlp_ = FusionMLP(self.mlp_hidden, self.mlp_steps, self.mlp_lr, self.mlp_weight_decay,
                                  self.seed).fit(s_a[ok], P[ok], np.asarray(out["hidden"])[ok], y[ok])
            self.w_, self.b_, self.alpha_ = None, float(self.mlp_.params["b"][0]), None
        else:
            raise InputError(f"unknown fusion {self.fusion!r}; use 'linear' or 'mlp'")
        self.n_support_ = int(ok.sum())
        self.network_fingerprint_ = self._fingerprint()
        return self

    def predict(self, X, *, offset=None) -> np.ndarray:
        self.check_fitted()
        out = self._outputs(X)
        s_a, P = self._generic(out), np.asarray(out["second"], float)
        if self.mlp_ is not None:
            return self.mlp_.predict(s_a, P, np.asarray(out["hidden"]))
        return self.a_ * s_a + P @ self.w_ + self.b_

    def predict_generic(self, X) -> np.ndarray:
        """The network's generic score ``s_a`` (what the fusion starts from), on ``score_range`` when given."""
        return self._generic(self._outputs(X))

    def trait_weights(self) -> Dict[str, float]:
        """``w_b`` by trait name (linear fusion); positive = this person likes images liked by people high in it."""
        self.check_fitted()
        if self.w_ is None:
            raise InputError("the MLP fusion has per-image weights, not one vector")
        names = self._net().config["second_names"]
        return {str(n): float(v) for n, v in zip(names, self.w_)}

    # ---- state ------------------------------------------------------------------------------------------------
    def _fingerprint(self) -> str:
        net = self._net()
        if getattr(net, "_fp_cache", None) is None:
            net._fp_cache = net.fingerprint()
        return net._fp_cache

    def _get_state(self):
        net = self._net()
        ref = getattr(net, "source", None)
        meta = {"params": self.saved_params(), "network": ref,
                "network_fingerprint": self.network_fingerprint_, "n_support": self.n_support_,
                "alpha": self.alpha_, "bias": self.b_, "generic_factor": self.a_,
                "second_names": list(net.config["second_names"])}
        arrays = {}
        if self.mlp_ is not None:
            arrays = {f"mlp_{k}": v for k, v in self.mlp_.params.items()}
        else:
            arrays["w"] = np.asarray(self.w_, dtype=np.float64)
        return meta, arrays

    @classmethod
    def _from_state(cls, meta, arrays, network=None) -> "PAIAAPersonalizer":
        """Rebuild a fitted personalizer; ``network`` overrides the recorded reference (must match its
        fingerprint)."""
        ref = network if network is not None else meta.get("network")
        if ref is None:
            raise StateError("this state was fitted with an in-memory network that has no file reference; "
                             "pass network=<PAIAANet> to from_state_dict")
        est = cls(network=ref, **meta["params"])
        net = est._net()
        fp = meta.get("network_fingerprint")
        if fp and net.fingerprint() != fp:
            raise StateError(f"network {getattr(net, 'source', ref)!r} has fingerprint {net.fingerprint()} but the "
                             f"state was fitted with {fp}; refit the profile")
        est.network_fingerprint_ = fp
        est.n_support_ = int(meta["n_support"])
        est.alpha_ = meta.get("alpha")
        est.b_ = float(meta.get("bias") or 0.0)
        est.a_ = float(meta.get("generic_factor", 1.0))
        if "w" in arrays:
            est.w_, est.mlp_ = np.asarray(arrays["w"], dtype=float), None
        else:
            mlp = FusionMLP(est.mlp_hidden, est.mlp_steps, est.mlp_lr, est.mlp_weight_decay, est.seed)
            mlp.params = {k[len("mlp_"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("mlp_")}
            est.mlp_, est.w_ = mlp, None
        return est

    @classmethod
    def contract_example(cls, rng) -> Dict[str, Any]:
        """A tiny random network (10 input features, 5 traits) and its precomputed outputs."""
        import torch

        from piaa.models.pa_iaa.network import PAIAANet

        torch.manual_seed(int(rng.integers(1 << 31)))
        net = PAIAANet(10, np.arange(1, 8, dtype=float), 5, "traits", [f"t{i}" for i in range(5)],
                       hidden=(16,)).eval()
        X = net.predict_arrays(rng.normal(size=(40, 10)).astype(np.float32))
        y = X["score"] + X["second"] @ rng.normal(size=5) + 0.1 * rng.normal(size=40)
        return {"params": {"network": net, "steps": 200}, "X": X, "y": y, "offset": X["score"],
                "resources": {"network": net}}
