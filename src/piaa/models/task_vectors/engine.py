"""Scores of the merged model θ(λ) = θ_pre + Σ_k λ[l,k] τ[l,k] and their gradient with respect to λ.

Two implementations with one interface:

* ``HeadOnlyProblem`` (split at the top: only fc1/fc2 above it): fc1 is linear in its weights, so
  ``X τ_k^T`` is precomputed once per fit and every step costs a few small matrix products; gradients are
  written out by hand in numpy (no autograd overhead) -- 500 steps over 100 images take milliseconds.
* ``TorchProblem`` (any split, including 0 = the paper's full network): merges the parameters with λ as a
  leaf tensor and runs the top layers through ``torch.func.functional_call``; autograd gives dλ.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from piaa.models.task_vectors.bank import TaskBank
from piaa.models.task_vectors.net import softmax_np
from piaa.models.task_vectors.spec import input_layout
from piaa.errors import InputError

HEAD_PARAMS = ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")


def is_head_only(bank: TaskBank) -> bool:
    return sorted(bank.param_names) == sorted(HEAD_PARAMS) and input_layout(bank.spec).trunk_shape is None


def head_scores(params: Dict[str, np.ndarray], X: np.ndarray, template: np.ndarray) -> np.ndarray:
    z1 = X @ params["fc1.weight"].T + params["fc1.bias"]
    z2 = np.maximum(z1, 0.0) @ params["fc2.weight"].T + params["fc2.bias"]
    return softmax_np(z2) @ template


def predict_scores(bank: TaskBank, X: np.ndarray, lam: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Scores of the merged model on inputs X (rows with NaN give NaN)."""
    params = bank.combine(lam)
    X = np.asarray(X, np.float32)
    ok = np.isfinite(X).all(axis=1)
    out = np.full(len(X), np.nan)
    if not ok.any():
        return out
    if is_head_only(bank):
        out[ok] = head_scores(params, bank.transform(X[ok]), np.asarray(template, np.float32))
    else:
        from piaa.models.task_vectors.net import forward_logits

        out[ok] = softmax_np(forward_logits(bank.top_net(), X[ok], params)) @ template
    return out


class HeadProjections:
    """fc1 pre-activations of θ_pre and of every τ_k for a set of images: ``A0`` [n, h], ``AK`` [K, n, h].

    Computing these is the only cost that grows with the input dimension; an evaluation computes them once
    for every test image of a fold and each person-trial just takes rows (``take``)."""

    def __init__(self, bank: TaskBank, X: np.ndarray = None, A0=None, AK=None):
        pre = bank.theta_pre
        self.bank = bank
        if A0 is None:
            X = bank.transform(X)
            TW1 = bank.tau_stack("fc1.weight")                   # K, h, d
            K, h, d = TW1.shape
            n = len(X)
            A0 = X @ pre["fc1.weight"].T + pre["fc1.bias"]
            AK = (X @ TW1.reshape(K * h, d).T).reshape(n, K, h).transpose(1, 0, 2)
        self.A0 = np.ascontiguousarray(A0, dtype=np.float32)
        self.AK = np.ascontiguousarray(AK, dtype=np.float32)

    def take(self, idx) -> "HeadProjections":
        idx = np.asarray(idx)
        return HeadProjections(self.bank, A0=self.A0[idx], AK=self.AK[:, idx])


class HeadOnlyProblem:
    """Precomputed fc1 projections; forward + backward of scores w.r.t. λ [4, K] in plain numpy."""

    def __init__(self, bank: TaskBank, X: np.ndarray, template: np.ndarray, proj: HeadProjections = None):
        pre = bank.theta_pre
        self.K = bank.num_tasks
        self.t = np.asarray(template, np.float32)
        # row of λ for fc1.weight, fc1.bias, fc2.weight, fc2.bias (the bank's parameter order)
        self.rows = [bank.param_names.index(n) for n in HEAD_PARAMS]
        self.W2, self.b2 = pre["fc2.weight"], pre["fc2.bias"]
        self.Tb1 = bank.tau_stack("fc1.bias")                    # K, h
        self.TW2 = bank.tau_stack("fc2.weight")                  # K, o, h
        self.Tb2 = bank.tau_stack("fc2.bias")                    # K, o
        proj = proj if proj is not None else HeadProjections(bank, X)
        self.A0, self.AK = proj.A0, proj.AK
        K, n, h = self.AK.shape
        self.AK2 = self.AK.reshape(K, n * h)
        self.TW2f = self.TW2.reshape(K, -1)
        self._cache = None

    def scores(self, lam: np.ndarray) -> np.ndarray:
        lam = np.asarray(lam, np.float32)[self.rows]
        z1 = self.A0 + (lam[0] @ self.AK2).reshape(self.A0.shape) + lam[1] @ self.Tb1
        a1 = np.maximum(z1, 0.0)
        W2 = self.W2 + np.tensordot(lam[2], self.TW2, axes=1)
        b2 = self.b2 + lam[3] @ self.Tb2
        p = softmax_np(a1 @ W2.T + b2)
        s = p @ self.t
        self._cache = (z1, a1, W2, p, s)
        return s.astype(np.float64)

    def grad(self, ds: np.ndarray) -> np.ndarray:
        """dLoss/dλ given dLoss/ds at the λ of the last ``scores`` call."""
        z1, a1, W2, p, s = self._cache
        ds = np.asarray(ds, np.float32)
        dz2 = p * (self.t[None, :] - s[:, None]) * ds[:, None]
        g = np.empty((4, self.K), np.float64)  # rows in HEAD_PARAMS order, permuted to the bank's at the end
        g[2] = self.TW2f @ (dz2.T @ a1).ravel()
        g[3] = self.Tb2 @ dz2.sum(0)
        dz1 = (dz2 @ W2) * (z1 > 0)
        g[0] = self.AK2 @ dz1.ravel()
        g[1] = self.Tb1 @ dz1.sum(0)
        out = np.empty_like(g)
        out[self.rows] = g
        return out

    def task_scores(self) -> np.ndarray:
        """[K, n] zero-shot scores of every task model (λ = one-hot)."""
        out = []
        for k in range(self.K):
            lam = np.zeros((4, self.K), np.float32)
            lam[:, k] = 1.0
            out.append(self.scores(lam))
        return np.asarray(out)


class TorchProblem:
    """Any split: λ-merged parameters through ``functional_call``; gradients by autograd."""

    def __init__(self, bank: TaskBank, X: np.ndarray, template: np.ndarray):
        import copy

        import torch

        from piaa.backbones.device import torch_device

        self.torch = torch
        self.bank = bank
        dev = self.device = torch_device()
        self.net = copy.deepcopy(bank.top_net()).to(dev) if dev.type != "cpu" else bank.top_net()
        self.names = bank.param_names
        self.K = bank.num_tasks
        self.pre = {n: torch.as_tensor(bank.theta_pre[n], device=dev) for n in self.names}
        self.taus = {n: torch.as_tensor(bank.tau_stack(n), device=dev) for n in self.names}
        self.X = torch.as_tensor(np.asarray(X, np.float32), device=dev)
        self.t = torch.as_tensor(np.asarray(template, np.float32), device=dev)
        self._lam = None
        self._s = None

    def _merged(self, lam):
        return {n: self.pre[n] + self.torch.tensordot(lam[i], self.taus[n], dims=1) for i, n in enumerate(self.names)}

    def scores(self, lam: np.ndarray) -> np.ndarray:
        from torch.func import functional_call

        torch = self.torch
        self._lam = torch.tensor(np.asarray(lam, np.float32), requires_grad=True, device=self.device)
        logits = functional_call(self.net, self._merged(self._lam), (self.X,))
        self._s = torch.softmax(logits, dim=1) @ self.t
        return self._s.detach().cpu().numpy().astype(np.float64)

    def grad(self, ds: np.ndarray) -> np.ndarray:
        torch = self.torch
        (g,) = torch.autograd.grad(self._s, self._lam,
                                   grad_outputs=torch.as_tensor(np.asarray(ds, np.float32), device=self.device))
        return g.cpu().numpy().astype(np.float64)

    def task_scores(self) -> np.ndarray:
        out = []
        for k in range(self.K):
            lam = np.zeros((len(self.names), self.K), np.float32)
            lam[:, k] = 1.0
            out.append(self.scores(lam))
        return np.asarray(out)


def make_problem(bank: TaskBank, X: np.ndarray, template: np.ndarray, engine: str = "auto"):
    if engine == "numpy" or (engine == "auto" and is_head_only(bank)):
        if not is_head_only(bank):
            raise InputError("the numpy engine needs a head-only bank (split at the top)")
        return HeadOnlyProblem(bank, X, template)
    if engine in ("auto", "torch"):
        return TorchProblem(bank, X, template)
    raise InputError(f"engine must be auto, numpy or torch, not {engine!r}")
