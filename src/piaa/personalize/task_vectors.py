"""Per-person task-vector coefficients (Jooyeol Yun and Jaegul Choo, KAIST, ECCV 2024) and the Best-fit FT baseline.

A person's model is θ[l] = θ_pre[l] + Σ_k λ[l,k] τ[l,k]; only λ (parameter tensors x tasks) is fitted to their
rated images, so the fitted profile is a few hundred bytes plus a reference to the bank.

What the paper's recipe needed on small, noisy personal data (see docs/task_vectors.md): the Bradley–Terry loss
can always be lowered by stretching the score spread, which unconstrained λ do by amplifying noise. Options that
keep λ near its adaptive start -- ``reg`` (L2 toward the init), fewer ``steps`` and a learnable BT temperature
(``bt_scale``, so the spread is not bought with λ) -- are parameters here; the benchmark chose the defaults.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from piaa.errors import InputError, StateError
from piaa.models.task_vectors.bank import TaskBank
from piaa.models.task_vectors.build import resolve_bank
from piaa.models.task_vectors.engine import is_head_only, make_problem, predict_scores
from piaa.models.task_vectors.inputs import as_inputs
from piaa.models.task_vectors.spec import template_for
from piaa.personalize.base import Personalizer
from piaa.personalize.registry import register_personalizer

INITS = ("adaptive", "uniform", "bestfit")
LOSSES = ("bt", "mse")


def _ranks_srocc(a: np.ndarray, b: np.ndarray) -> float:
    from piaa.metrics import srocc

    v = srocc(a, b)
    return 0.0 if not np.isfinite(v) else float(v)


def shrink_srocc(task_srocc, prior, n_support: int, strength: float) -> np.ndarray:
    """Support-set SROCC pulled toward each task's population prior, as if the prior were worth ``strength``
    rated images: (n·SROCC_k + s·prior_k) / (n + s). With 10 images the prior dominates, with 100 the person."""
    s = np.asarray(task_srocc, np.float64)
    if prior is None or strength <= 0:
        return s
    n = max(n_support - 1, 1)
    return (n * s + strength * np.asarray(prior, np.float64)) / (n + strength)


def init_coefficients(task_srocc: np.ndarray, n_layers: int, init: str = "adaptive", T: float = 0.1) -> np.ndarray:
    """λ0 [L, K]: softmax_k(SROCC_k / T) for every layer (adaptive), 1/K (uniform, T→∞) or one-hot (T→0)."""
    s = np.asarray(task_srocc, np.float64)
    K = len(s)
    if init == "adaptive":
        z = s / float(T)
        w = np.exp(z - z.max())
        w /= w.sum()
    elif init == "uniform":
        w = np.full(K, 1.0 / K)
    elif init == "bestfit":
        w = np.zeros(K)
        w[int(np.argmax(s))] = 1.0
    else:
        raise InputError(f"init must be one of {INITS}, not {init!r}")
    return np.tile(w, (n_layers, 1))


def pair_index(y: np.ndarray):
    """All ordered pairs (i, j) with y_i > y_j (ties carry no order and are left out)."""
    y = np.asarray(y, np.float64)
    i, j = np.nonzero(y[:, None] > y[None, :])
    return i, j


def bt_loss_grad(s: np.ndarray, i: np.ndarray, j: np.ndarray, beta: float = 1.0):
    """Bradley–Terry: mean over pairs of −log σ(β(s_i − s_j)); returns (loss, dL/ds, dL/dβ)."""
    if len(i) == 0:
        return 0.0, np.zeros_like(s), 0.0
    d = s[i] - s[j]
    z = np.clip(beta * d, -30.0, 30.0)
    sig = 1.0 / (1.0 + np.exp(-z))                 # P(i ≻ j)
    loss = float(-np.log(sig).mean())
    g = (sig - 1.0) / len(i)                       # dL/dz per pair
    n = len(s)
    ds = beta * (np.bincount(i, g, n) - np.bincount(j, g, n))
    return loss, ds, float(g @ d)


def mse_loss_grad(s: np.ndarray, y: np.ndarray):
    r = s - y
    return float(np.mean(r ** 2)), 2.0 * r / len(r)


class _Adam:
    """AdamW on a numpy array (decoupled weight decay toward 0, as torch.optim.AdamW)."""

    def __init__(self, shape, lr, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.wd, self.b1, self.b2, self.eps = lr, weight_decay, betas[0], betas[1], eps
        self.m = np.zeros(shape)
        self.v = np.zeros(shape)
        self.t = 0

    def step(self, x, g):
        self.t += 1
        if self.wd:
            x = x * (1.0 - self.lr * self.wd)
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        mh = self.m / (1 - self.b1 ** self.t)
        vh = self.v / (1 - self.b2 ** self.t)
        return x - self.lr * mh / (np.sqrt(vh) + self.eps)


@register_personalizer("task-vectors")
class TaskVectorPersonalizer(Personalizer):
    """Fit λ[l,k] to one person's rated images.

    Parameters
    ----------
    bank: "default" (shipped bank), a bank directory or a TaskBank.
    init: "adaptive" (softmax of zero-shot SROCC / T), "uniform" or "bestfit".
    loss: "bt" (Bradley–Terry on pairs with different scores) or "mse".
    layer_agnostic: one λ per task shared by every parameter tensor.
    steps, lr, weight_decay: AdamW on λ. Defaults (100 steps, lr 1e-2, at most 1 step per rated image, prior
        strength 30, reg 0.03) were chosen on validation people (OASIS subset 2 / user fold 2, AVT-AI as a stand-in for an
        unseen domain; BENCHMARKS.md §3) with the strong bank (lr 1e-3 on the older raw-feature bank); the paper's
        recipe is ``TaskVectorPersonalizer(**TaskVectorPersonalizer.PAPER)`` (500 steps, lr 1e-2, plain
        adaptive init), which loses to the generic model on OASIS (docs/task_vectors.md).
    T: temperature of the adaptive init (authors' code: 0.1).
    reg: L2 penalty pulling λ toward its init (0 = the paper).
    bt_scale: learn a BT temperature β (σ(β(s_i − s_j))) so the loss cannot fall by stretching scores.
    steps_per_image: fewer steps for few images: at most ``steps_per_image * n_support`` steps (None = off).
    prior_strength: pull each task's support SROCC toward its population prior (bank metadata
        ``prior_srocc``) as if the prior were worth this many rated images (0 = the paper's adaptive init).
    scale: (min, max) of the person's rating scale; predictions use the 10-value template spanning it
        (default: the first task's scale).
    engine: "auto" | "numpy" | "torch" (see ``piaa.models.task_vectors.engine``).
    """

    PAPER = {"steps": 500, "lr": 1e-2, "prior_strength": 0.0, "steps_per_image": None, "reg": 0.0}
    uses_offset = False                       # the base score comes from the bank's models
    resource_params = ("bank", "cache")

    def __init__(self, bank="default", init: str = "adaptive", loss: str = "bt", layer_agnostic: bool = False,
                 steps: int = 100, lr: float = 1e-2, T: float = 0.1, reg: float = 0.03, weight_decay: float = 0.01,
                 bt_scale: bool = False, prior_strength: float = 30.0, steps_per_image: Optional[float] = 1.0,
                 scale=None, engine: str = "auto", cache="default"):
        self.bank = bank
        self.init = init
        self.loss = loss
        self.layer_agnostic = layer_agnostic
        self.steps = steps
        self.lr = lr
        self.T = T
        self.reg = reg
        self.weight_decay = weight_decay
        self.bt_scale = bt_scale
        self.prior_strength = prior_strength
        self.steps_per_image = steps_per_image
        self.scale = scale
        self.engine = engine
        self.cache = cache

    # ---- helpers ---------------------------------------------------------------------------------------------
    def _bank(self) -> TaskBank:
        """The bank ``self.bank`` names, resolved once (re-resolved when the parameter changes)."""
        if isinstance(self.bank, TaskBank):
            return self.bank
        cached = getattr(self, "_resolved_bank", None)
        if cached is None or cached[0] != self.bank:
            cached = self._resolved_bank = (self.bank, resolve_bank(self.bank))
        return cached[1]

    def _template(self, bank: TaskBank) -> np.ndarray:
        if self.scale is not None:
            lo, hi = float(self.scale[0]), float(self.scale[1])
        else:
            lo, hi = bank.tasks[0]["scale"][0], bank.tasks[0]["scale"][1]
        return template_for(lo, hi)

    def _check(self):
        if self.init not in INITS:
            raise InputError(f"init must be one of {INITS}, not {self.init!r}")
        if self.loss not in LOSSES:
            raise InputError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        if self.steps < 0 or self.lr <= 0 or self.T <= 0:
            raise InputError("steps must be >= 0, lr > 0 and T > 0")

    # ---- scikit-learn contract -------------------------------------------------------------------------------
    def fit(self, X, y, *, offset=None) -> "TaskVectorPersonalizer":
        """Fit λ to the rated images ``X`` and scores ``y``; ``offset`` is ignored (uses_offset=False)."""
        self._check()
        bank = self._bank()
        Xa = as_inputs(bank.spec, X, cache=self.cache)
        y = np.asarray(y, np.float64)
        if len(y) != len(Xa):
            raise InputError(f"{len(Xa)} images but {len(y)} scores")
        ok = np.isfinite(Xa).all(axis=1) & np.isfinite(y)
        if ok.sum() < 2:
            raise InputError("need at least 2 rated images with readable pixels to personalize")
        Xa, y = Xa[ok], y[ok]
        return self.fit_problem(make_problem(bank, Xa, self._template(bank), self.engine), y)

    def fit_problem(self, prob, y) -> "TaskVectorPersonalizer":
        """Fit λ on a prepared problem (``piaa.models.task_vectors.engine``); evaluation code uses this to reuse
        projections computed once per fold."""
        self._check()
        bank = self._bank()
        y = np.asarray(y, np.float64)
        L, K = len(bank.param_names), bank.num_tasks
        task_scores = prob.task_scores()
        self.task_srocc_ = np.array([_ranks_srocc(task_scores[k], y) for k in range(K)])
        prior = [t.get("prior_srocc") for t in bank.tasks]
        prior = None if any(p is None for p in prior) else prior
        evidence = shrink_srocc(self.task_srocc_, prior, len(y), self.prior_strength)
        lam0 = init_coefficients(evidence, 1 if self.layer_agnostic else L, self.init, self.T)
        lam, self.loss_curve_ = self._optimize(prob, lam0, y, L)
        self.init_coef_ = lam0
        self.coef_ = lam
        self.bank_fingerprint_ = bank.fingerprint
        self.n_support_ = int(len(y))
        return self

    def _optimize(self, prob, lam0: np.ndarray, y: np.ndarray, L: int):
        lam = lam0.copy()
        beta = np.zeros(1)  # log β
        opt = _Adam(lam.shape, self.lr, self.weight_decay)
        opt_b = _Adam(beta.shape, self.lr)
        pi, pj = pair_index(y)
        curve = []
        steps = int(self.steps)
        if self.steps_per_image is not None:
            steps = min(steps, int(round(self.steps_per_image * len(y))))
        for _ in range(steps):
            full = np.broadcast_to(lam, (L, lam.shape[1])) if self.layer_agnostic else lam
            s = prob.scores(full)
            if self.loss == "bt":
                b = float(np.exp(beta[0])) if self.bt_scale else 1.0
                loss, ds, db = bt_loss_grad(s, pi, pj, b)
            else:
                loss, ds = mse_loss_grad(s, y)
                db = 0.0
            g = prob.grad(ds)
            if self.layer_agnostic:
                g = g.sum(axis=0, keepdims=True)
            if self.reg:
                diff = lam - lam0
                loss += self.reg * float(np.sum(diff ** 2))
                g = g + 2.0 * self.reg * diff
            curve.append(loss)
            lam = opt.step(lam, g)
            if self.bt_scale and self.loss == "bt":
                beta = opt_b.step(beta, np.array([db * float(np.exp(beta[0]))]))
        return lam, np.asarray(curve)

    def coefficients(self) -> np.ndarray:
        """λ as [L, K] (layer-agnostic coefficients broadcast to every tensor)."""
        bank = self._bank()
        return np.broadcast_to(self.coef_, (len(bank.param_names), bank.num_tasks)).copy()

    def predict(self, X, *, offset=None) -> np.ndarray:
        self.check_fitted()
        bank = self._bank()
        if bank.fingerprint != self.bank_fingerprint_:
            raise StateError(f"this profile was fitted with bank {self.bank_fingerprint_}, not {bank.fingerprint}")
        Xa = as_inputs(bank.spec, X, cache=self.cache)
        return predict_scores(bank, Xa, self.coefficients(), self._template(bank))

    # ---- persistence -----------------------------------------------------------------------------------------
    def _get_state(self):
        bank = self._bank()
        ref = {"fingerprint": self.bank_fingerprint_, "tasks": bank.task_names,
               "path": None if bank.path is None else str(bank.path)}
        from piaa.models.task_vectors.build import DEFAULT_BANK_DIR

        if bank.path is not None and bank.path.resolve() == DEFAULT_BANK_DIR.resolve():
            ref["path"] = "default"
        return ({"params": self.saved_params(), "bank": ref, "n_support": self.n_support_},
                {"coef": self.coef_.astype(np.float32), "task_srocc": self.task_srocc_.astype(np.float32)})

    @classmethod
    def _from_state(cls, meta, arrays, bank=None) -> "TaskVectorPersonalizer":
        ref = meta["bank"]
        if bank is None:
            if ref.get("path") is None:
                raise StateError("this profile's bank was not saved to a file: pass bank=<TaskBank>")
            bank = ref["path"]
        bank = resolve_bank(bank)
        if bank.fingerprint != ref["fingerprint"]:
            raise StateError(f"profile needs task bank {ref['fingerprint']} but {bank.path or 'the given bank'} is "
                             f"{bank.fingerprint}")
        est = cls(bank=bank, **meta["params"])
        est.coef_ = np.asarray(arrays["coef"], np.float64)
        est.task_srocc_ = np.asarray(arrays["task_srocc"], np.float64)
        est.init_coef_ = None
        est.bank_fingerprint_ = ref["fingerprint"]
        est.n_support_ = int(meta.get("n_support", 0))
        return est

    @classmethod
    def contract_example(cls, rng) -> Dict[str, Any]:
        """A random 3-task head-only bank on EfficientNet-Lite0's pooled features (1280-d inputs)."""
        bank = _random_head_bank(rng)
        X = rng.normal(size=(30, 1280)).astype(np.float32)
        y = np.clip(np.rint(4 + 1.5 * X[:, 0] + rng.normal(size=30)), 1, 7)
        return {"params": {"bank": bank, "steps": 20, "scale": (1, 7), "engine": "numpy"}, "X": X, "y": y,
                "offset": None, "resources": {"bank": bank}}


def _random_head_bank(rng) -> TaskBank:
    from piaa.models.task_vectors.net import build_top, get_params
    from piaa.models.task_vectors.spec import TaskModelSpec

    spec = TaskModelSpec(split=_num_layers(TaskModelSpec.backbone), hidden=16)
    pre = get_params(build_top(spec))
    taus = [{n: (rng.standard_normal(a.shape) * 0.3).astype(np.float32) for n, a in pre.items()} for _ in range(3)]
    tasks = [{"name": f"t{k}", "scale": [1.0, 7.0, 7], "template": list(template_for(1, 7)), "prior_srocc": 0.1 * k}
             for k in range(3)]
    return TaskBank(spec, {n: a.shape for n, a in pre.items()}, tasks, pre, taus, tau_dtype="float32")


def _num_layers(backbone: str) -> int:
    from piaa.models.task_vectors.spec import layer_output_shapes

    return len(layer_output_shapes(backbone))


@register_personalizer("bestfit-ft")
class BestFitFT(Personalizer):
    """Best-fit FT (paper ablation): fine-tune the task model with the best zero-shot SROCC on the k images.

    All parameters above the split are trained (torch autograd, AdamW) with the BT or MSE loss."""

    def __init__(self, bank="default", loss: str = "bt", steps: int = 100, lr: float = 1e-3,
                 weight_decay: float = 0.01, scale=None, cache="default"):
        self.bank = bank
        self.loss = loss
        self.steps = steps
        self.lr = lr
        self.weight_decay = weight_decay
        self.scale = scale
        self.cache = cache

    uses_offset = False
    resource_params = ("bank", "cache")
    _bank = TaskVectorPersonalizer._bank
    _template = TaskVectorPersonalizer._template

    @classmethod
    def contract_example(cls, rng) -> Dict[str, Any]:
        ex = TaskVectorPersonalizer.contract_example(rng)
        ex["params"] = {"bank": ex["params"]["bank"], "steps": 10, "scale": (1, 7)}
        return ex

    def fit(self, X, y, *, offset=None, task_scores: Optional[np.ndarray] = None) -> "BestFitFT":
        """``task_scores`` [K, n]: the task models' scores on X when already known (the evaluation computes them
        from per-fold projections); otherwise they are computed here. ``offset`` is ignored."""
        import torch
        from torch.func import functional_call

        if self.loss not in LOSSES:
            raise InputError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        bank = self._bank()
        Xa = as_inputs(bank.spec, X, cache=self.cache)
        y = np.asarray(y, np.float64)
        ok = np.isfinite(Xa).all(axis=1) & np.isfinite(y)
        Xa, y = Xa[ok], y[ok]
        if len(y) < 2:
            raise InputError("need at least 2 rated images with readable pixels to personalize")
        t = self._template(bank)
        ts = make_problem(bank, Xa, t).task_scores() if task_scores is None else np.asarray(task_scores)[:, ok]
        self.task_srocc_ = np.array([_ranks_srocc(ts[k], y) for k in range(bank.num_tasks)])
        self.best_task_ = int(np.argmax(self.task_srocc_))
        net = bank.top_net()
        params = {n: torch.tensor(v, requires_grad=True) for n, v in bank.theta(self.best_task_).items()}
        opt = torch.optim.AdamW(list(params.values()), lr=self.lr, weight_decay=self.weight_decay)
        xt = torch.as_tensor(bank.transform(Xa) if is_head_only(bank) else Xa)
        tt = torch.as_tensor(t, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        pi, pj = (torch.as_tensor(a) for a in pair_index(y))
        for _ in range(int(self.steps)):
            opt.zero_grad()
            s = torch.softmax(functional_call(net, params, (xt,)), dim=1) @ tt
            if self.loss == "bt":
                if len(pi) == 0:
                    break
                loss = torch.nn.functional.softplus(-(s[pi] - s[pj])).mean()
            else:
                loss = ((s - yt) ** 2).mean()
            loss.backward()
            opt.step()
        self.params_ = {n: p.detach().numpy().copy() for n, p in params.items()}
        self.bank_fingerprint_ = bank.fingerprint
        return self

    def predict(self, X, *, offset=None) -> np.ndarray:
        self.check_fitted()
        from piaa.models.task_vectors.engine import head_scores, is_head_only
        from piaa.models.task_vectors.net import forward_logits, softmax_np

        bank = self._bank()
        Xa = as_inputs(bank.spec, X, cache=self.cache)
        t = self._template(bank)
        ok = np.isfinite(Xa).all(axis=1)
        out = np.full(len(Xa), np.nan)
        if ok.any():
            if is_head_only(bank):
                out[ok] = head_scores(self.params_, bank.transform(Xa[ok]), t.astype(np.float32))
            else:
                out[ok] = softmax_np(forward_logits(bank.top_net(), Xa[ok], self.params_)) @ t
        return out

    def _get_state(self):
        bank = self._bank()
        return ({"bank": {"fingerprint": self.bank_fingerprint_,
                          "path": None if bank.path is None else str(bank.path)},
                 "best_task": self.best_task_, "params": self.saved_params()},
                {**{f"param/{n}": v for n, v in self.params_.items()},
                 "task_srocc": self.task_srocc_.astype(np.float32)})

    @classmethod
    def _from_state(cls, meta, arrays, bank=None) -> "BestFitFT":
        if bank is None and meta["bank"].get("path") is None:
            raise StateError("this profile's bank was not saved to a file: pass bank=<TaskBank>")
        bank = resolve_bank(bank if bank is not None else meta["bank"]["path"])
        if bank.fingerprint != meta["bank"]["fingerprint"]:
            raise StateError(f"profile needs task bank {meta['bank']['fingerprint']} but "
                             f"{bank.path or 'the given bank'} is {bank.fingerprint}")
        est = cls(bank=bank, **meta["params"])
        est.params_ = {k[len("param/"):]: np.asarray(v, np.float32) for k, v in arrays.items()
                       if k.startswith("param/")}
        est.task_srocc_ = np.asarray(arrays["task_srocc"], np.float64)
        est.best_task_ = int(meta["best_task"])
        est.bank_fingerprint_ = meta["bank"]["fingerprint"]
        return est
