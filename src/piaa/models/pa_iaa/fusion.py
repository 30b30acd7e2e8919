"""Per-person inter-task fusion on the frozen network's outputs: ``s_b = s_a + w_b · p (+ b)``.

Pure numpy/torch on precomputed outputs (generic score ``s_a``, second-task vector ``p``, hidden descriptor), so
personalizing a person costs microseconds and the evaluation runner can reuse one forward pass per fold.

Solvers for the paper's per-person vector ``w_b`` (MSE objective in every case):

* ``"sgd"`` — the paper's recipe: gradient descent with momentum 0.9 and lr 1e-4 from ``w = 0`` over the k
  support images (full batch: with k ≤ 100 every step sees all of them). With tanh traits of magnitude ~0.1 the
  steps are tiny; ``docs/pa_iaa.md`` measures how far ``w`` moves in the step budget.
* ``"ridge"`` — the minimizer of the same squared error plus ``alpha·|w|²`` in closed form. ``alpha="loo"``
  picks alpha per person from a grid by exact leave-one-out error on the support images alone.

``bias=True`` adds a per-person offset ``b`` (unpenalized). An offset does not change a person's ranking, but
without it ``w`` must also absorb the person's mean shift from the generic score.

The MLP variant (the authors' public code) predicts ``w`` per image from the network's hidden descriptor:
``s_b = s_a + MLP(h) · p + b``; the last layer starts at zero, so an unfitted MLP returns ``s_a``.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from piaa.errors import InputError

ALPHA_GRID = tuple(10.0 ** np.arange(-3, 4.01, 0.5))


def _design(P: np.ndarray, bias: bool) -> np.ndarray:
    return np.concatenate([P, np.ones((len(P), 1))], axis=1) if bias else P


def ridge_fusion(s_a: np.ndarray, P: np.ndarray, y: np.ndarray, alpha: float,
                 bias: bool = True) -> Tuple[np.ndarray, float]:
    """Closed-form minimizer of ``Σ (y - s_a - P w - b)² + alpha |w|²`` (b unpenalized)."""
    r = np.asarray(y, float) - np.asarray(s_a, float)
    A = _design(np.asarray(P, float), bias)
    pen = np.full(A.shape[1], float(alpha))
    if bias:
        pen[-1] = 1e-8
    coef = np.linalg.solve(A.T @ A + np.diag(pen), A.T @ r)
    return (coef[:-1], float(coef[-1])) if bias else (coef, 0.0)


def ridge_fusion_scaled(s_a, P, y, alpha: float) -> Tuple[np.ndarray, float, float]:
    """``y ≈ a·s_a + P w + b`` (a, b unpenalized): lets a person follow the crowd's score more or less than the
    traits. Returns (w, b, a)."""
    A = np.concatenate([np.asarray(P, float), np.asarray(s_a, float)[:, None], np.ones((len(P), 1))], axis=1)
    pen = np.full(A.shape[1], float(alpha))
    pen[-2:] = 1e-8
    coef = np.linalg.solve(A.T @ A + np.diag(pen), A.T @ np.asarray(y, float))
    return coef[:-2], float(coef[-1]), float(coef[-2])


def loo_alpha(s_a: np.ndarray, P: np.ndarray, y: np.ndarray, bias: bool = True,
              grid: Sequence[float] = ALPHA_GRID) -> float:
    """Alpha with the smallest exact leave-one-out squared error (hat-matrix shortcut) on the support set."""
    r = np.asarray(y, float) - np.asarray(s_a, float)
    A = _design(np.asarray(P, float), bias)
    best, best_err = float(grid[0]), np.inf
    for alpha in grid:
        pen = np.full(A.shape[1], float(alpha))
        if bias:
            pen[-1] = 1e-8
        Minv = np.linalg.inv(A.T @ A + np.diag(pen))
        H = A @ Minv @ A.T
        resid = r - H @ r
        denom = np.clip(1.0 - np.diag(H), 1e-6, None)
        err = float(np.mean((resid / denom) ** 2))
        if err < best_err - 1e-12:
            best, best_err = float(alpha), err
    return best


def sgd_fusion(s_a: np.ndarray, P: np.ndarray, y: np.ndarray, lr: float = 1e-4, steps: int = 1000,
               momentum: float = 0.9, bias: bool = True) -> Tuple[np.ndarray, float]:
    """The paper's optimizer on the MSE: heavy-ball gradient descent from zero, full batch.

    On a quadratic loss every step is the same affine map of (w, velocity), so ``steps`` steps are that map's
    power, computed by repeated squaring: the iterate of the loop, in microseconds instead of a Python loop.
    """
    r = np.asarray(y, float) - np.asarray(s_a, float)
    A = _design(np.asarray(P, float), bias)
    n, d = A.shape
    G = 2.0 / n * A.T @ A          # gradient = G w - h
    h = 2.0 / n * A.T @ r
    # z = [w, v, 1]:  v' = mu v + G w - h ;  w' = w - lr v'
    M = np.zeros((2 * d + 1, 2 * d + 1))
    eye = np.eye(d)
    M[d:2 * d, :d] = G
    M[d:2 * d, d:2 * d] = momentum * eye
    M[d:2 * d, -1] = -h
    M[:d, :d] = eye - lr * G
    M[:d, d:2 * d] = -lr * momentum * eye
    M[:d, -1] = lr * h
    M[-1, -1] = 1.0
    z = np.zeros(2 * d + 1)
    z[-1] = 1.0
    z = np.linalg.matrix_power(M, int(steps)) @ z
    coef = z[:d]
    return (coef[:-1], float(coef[-1])) if bias else (coef, 0.0)


def sgd_fusion_loop(s_a, P, y, lr: float = 1e-4, steps: int = 1000, momentum: float = 0.9,
                    bias: bool = True) -> Tuple[np.ndarray, float]:
    """Reference step-by-step loop of ``sgd_fusion`` (tests check both agree)."""
    r = np.asarray(y, float) - np.asarray(s_a, float)
    A = _design(np.asarray(P, float), bias)
    coef = np.zeros(A.shape[1])
    vel = np.zeros_like(coef)
    n = len(r)
    for _ in range(int(steps)):
        grad = -2.0 / n * A.T @ (r - A @ coef)
        vel = momentum * vel + grad
        coef -= lr * vel
    return (coef[:-1], float(coef[-1])) if bias else (coef, 0.0)


class FusionMLP:
    """``w(h) = W2 relu(W1 h + c1) + c2``, fitted with Adam on MSE of ``s_a + w(h)·p + b``."""

    def __init__(self, hidden: int = 32, steps: int = 300, lr: float = 1e-3, weight_decay: float = 1e-2,
                 seed: int = 0):
        self.hidden, self.steps, self.lr, self.weight_decay, self.seed = hidden, steps, lr, weight_decay, seed
        self.params: Dict[str, np.ndarray] = {}

    def _module(self, in_dim: int, out_dim: int):
        import torch
        import torch.nn as nn

        g = torch.Generator().manual_seed(self.seed)
        m = nn.Sequential(nn.Linear(in_dim, self.hidden), nn.ReLU(), nn.Linear(self.hidden, out_dim))
        with torch.no_grad():
            for p in m.parameters():  # deterministic init independent of global torch state
                p.copy_(torch.empty_like(p).uniform_(-1, 1, generator=g) / np.sqrt(p.shape[-1]))
            m[2].weight.zero_()
            m[2].bias.zero_()
        return m

    def fit(self, s_a, P, H, y) -> "FusionMLP":
        import torch

        s_a, P, H, y = (torch.as_tensor(np.asarray(a, np.float32)) for a in (s_a, P, H, y))
        old = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny matrices: a second thread only adds synchronization
        try:
            self._fit(self._module(H.shape[1], P.shape[1]), s_a, P, H, y)
        finally:
            torch.set_num_threads(old)
        return self

    def _fit(self, m, s_a, P, H, y) -> None:
        import torch

        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.Adam([{"params": m.parameters(), "weight_decay": self.weight_decay},
                                {"params": [b], "weight_decay": 0.0}], lr=self.lr)
        for _ in range(int(self.steps)):
            pred = s_a + (m(H) * P).sum(1) + b
            loss = ((pred - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.params = {"W1": m[0].weight.detach().numpy().copy(), "c1": m[0].bias.detach().numpy().copy(),
                       "W2": m[2].weight.detach().numpy().copy(), "c2": m[2].bias.detach().numpy().copy(),
                       "b": b.detach().numpy().copy()}

    def weights(self, H: np.ndarray) -> np.ndarray:
        """Per-image fusion weights ``w(h)``."""
        p = self.params
        h = np.maximum(np.asarray(H, np.float32) @ p["W1"].T + p["c1"], 0.0)
        return h @ p["W2"].T + p["c2"]

    def predict(self, s_a, P, H) -> np.ndarray:
        return np.asarray(s_a) + (self.weights(H) * np.asarray(P)).sum(1) + float(self.params["b"][0])


def fit_linear(s_a, P, y, solver: str = "ridge", alpha="loo", bias: bool = True, lr: float = 1e-4,
               steps: int = 1000, momentum: float = 0.9) -> Tuple[np.ndarray, float, Optional[float]]:
    """``(w, b, alpha_used)`` for the per-person linear fusion."""
    if solver == "ridge":
        a = loo_alpha(s_a, P, y, bias) if alpha == "loo" else float(alpha)
        w, b = ridge_fusion(s_a, P, y, a, bias)
        return w, b, a
    if solver == "sgd":
        w, b = sgd_fusion(s_a, P, y, lr=lr, steps=steps, momentum=momentum, bias=bias)
        return w, b, None
    raise InputError(f"unknown fusion solver {solver!r}; use 'ridge' or 'sgd'")
