"""Probe-prior from star ratings *and* "which of the two do you prefer" comparisons, in one fit.

The probe-prior personalizer (:mod:`piaa.personalize.prior_probe`) is kernel ridge on the residual of the generic
score: ``f(x) = offset(x) + w·z(x) + b`` with the Gaussian prior ``w ~ N(0, Σ_eff)`` built from a population's
tastes. A comparison "p is better than q" carries no score, only an order, so it enters through the
Bradley–Terry likelihood that the task-vector personalizer already uses, ``P(p ≻ q) = σ(f(p) − f(q))``, on the
model's score scale. The joint MAP estimate minimizes

    Σ_rated (y_i − f_i)²  +  Σ_compared log(1 + exp(−(f_p − f_q)))  +  λ · wᵀ Σ_eff⁻¹ w

over ``w`` and the unpenalized ``b``. By the representer theorem ``w = Σ_eff Zᵀ α`` over the images involved
(rated or compared), so the fit is an ``n``-dimensional smooth convex problem, never one over the
thousands of feature dimensions; damped Newton solves it in a few steps. With ratings only it is exactly the probe-prior fit (same closed form, same
leave-one-out choice of λ); comparisons then reuse that λ (their own leave-one-out has no closed form), and with
fewer than 3 ratings λ is chosen by 4-fold cross-validation of the Bradley–Terry log-loss over the comparisons. Each comparison weighs like one rating, with
the Bradley–Terry temperature of one score unit, as in the task-vector personalizer.

The result is a fitted :class:`PriorProbePersonalizer` (same state, saving, export and ``predict``).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from piaa.errors import InputError
from piaa.personalize.prior_probe import PriorProbePersonalizer

MIN_RATINGS_FOR_LOO = 3


def fit_prior_probe_pairwise(X: np.ndarray, offset: np.ndarray, rated: Sequence[int], y: Sequence[float],
                             comparisons: Sequence[Tuple[int, int]] = (), prior=None,
                             mix: Optional[float] = None, max_iter: int = 50) -> PriorProbePersonalizer:
    """Fit on feature rows ``X`` (all images involved) with generic scores ``offset``.

    rated: row indices of rated images with targets ``y`` (on the model's score scale); comparisons: pairs of row
    indices ``(better, worse)``. Returns a fitted :class:`PriorProbePersonalizer`.
    """
    X = np.asarray(X, dtype=np.float64)
    off = np.asarray(offset, dtype=np.float64).reshape(-1)
    rated = np.asarray(rated, dtype=int).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    pairs = np.asarray(list(comparisons), dtype=int).reshape(-1, 2)
    if len(rated) != len(y):
        raise InputError(f"{len(rated)} rated rows but {len(y)} ratings")
    if len(X) != len(off):
        raise InputError(f"X has {len(X)} rows but offset has {len(off)} values")
    if not (np.isfinite(X).all() and np.isfinite(off).all() and np.isfinite(y).all()):
        raise InputError("features, generic scores and ratings must be finite")
    est = PriorProbePersonalizer() if mix is None else PriorProbePersonalizer(mix=mix)
    if prior is not None:
        est.prior = prior
    if len(pairs) == 0:
        return est.fit(X[rated], y, offset=off[rated])
    if len(pairs) and (pairs[:, 0] == pairs[:, 1]).any():
        raise InputError("a comparison needs two different images")

    tp, ref = est._prior()
    Z = tp.standardize(X)
    centre_rows = rated if len(rated) else np.unique(pairs)
    zc = Z[centre_rows].mean(axis=0)
    Zc = Z - zc
    a_iso, a_pop = (1.0 - float(est.mix)) / tp.iso_scale, float(est.mix) / tp.pop_scale
    F = tp.factor64
    ZF = Zc @ F
    K = a_iso * (Zc @ Zc.T) + a_pop * (ZF @ ZF.T)
    K = 0.5 * (K + K.T)

    scale = float(np.trace(K[np.ix_(centre_rows, centre_rows)]) / max(1, len(centre_rows)))
    scale = scale if scale > 0 else 1.0
    target = y - off[rated]
    if len(rated) >= MIN_RATINGS_FOR_LOO and np.ptp(y) > 0:
        ridge = PriorProbePersonalizer(prior=tp, mix=est.mix, lambdas=est.lambdas).fit(X[rated], y,
                                                                                      offset=off[rated])
        rel, loo = ridge.lambda_, ridge.loo_mse_
    else:                                                 # no leave-one-out without ratings: k-fold on the pairs
        rel, loo = _pairs_cv_strength(K, off, rated, target, pairs, est.lambdas, scale, max_iter), 0.0
    theta = _solve(K, off, rated, target, pairs, rel * scale, max_iter)
    n = len(X)
    alpha, b = theta[:n], float(theta[n])
    w = a_iso * (Zc.T @ alpha) + a_pop * (F @ (ZF.T @ alpha))
    est.coef_ = w
    est.bias_ = float(b - zc @ w)
    est.feature_mean_ = tp.feature_mean.astype(np.float64)
    est.feature_scale_ = tp.feature_scale.astype(np.float64)
    est.lambda_ = float(rel)
    est.loo_mse_ = float(loo)
    est.prior_ref_ = ref
    est.n_support_ = int(n)
    est.n_comparisons_ = int(len(pairs))
    return est


def _solve(K, off, rated, target, pairs, lam, max_iter) -> np.ndarray:
    """θ = (α, b) minimizing the joint objective for the kernel ``K`` (damped Newton; convex and smooth)."""
    n = len(K)
    J = np.hstack([K, np.ones((n, 1))])      # f = J θ: the residual over the generic score
    R = np.zeros((n + 1, n + 1))
    R[:n, :n] = 2.0 * lam * K                # the prior penalty λ αᵀKα (b is not penalized)
    D = np.zeros((len(pairs), n))
    D[np.arange(len(pairs)), pairs[:, 0]] += 1.0
    D[np.arange(len(pairs)), pairs[:, 1]] -= 1.0
    margin0 = D @ off

    def loss_grad_hess(theta, hess=True):
        f = J @ theta
        e = f[rated] - target
        m = margin0 + D @ f
        loss = float(e @ e) + float(np.logaddexp(0.0, -m).sum()) + 0.5 * float(theta @ R @ theta)
        if not hess:
            return loss, None, None
        sig = 0.5 * (1.0 + np.tanh(0.5 * m))          # σ(m) = P(better ≻ worse)
        g_f = D.T @ (sig - 1.0)
        np.add.at(g_f, rated, 2.0 * e)
        W = D.T @ (D * (sig * (1.0 - sig))[:, None])
        W[rated, rated] += 2.0
        return loss, J.T @ g_f + R @ theta, J.T @ W @ J + R

    theta = np.zeros(n + 1)
    theta[n] = float(target.mean()) if len(target) else 0.0
    for _ in range(max_iter):
        loss, grad, H = loss_grad_hess(theta)
        step = np.linalg.lstsq(H + 1e-10 * np.trace(H) / (n + 1) * np.eye(n + 1), grad, rcond=None)[0]
        dec = float(grad @ step)
        if dec < 1e-12:
            break
        t = 1.0
        while t > 1e-8 and loss_grad_hess(theta - t * step, hess=False)[0] > loss - 0.25 * t * dec:
            t *= 0.5
        theta = theta - t * step
    return theta


def _pairs_cv_strength(K, off, rated, target, pairs, lambdas, scale, max_iter, folds: int = 4) -> float:
    """The relative ridge strength of the grid with the best held-out Bradley–Terry log-loss, by k-fold over the
    comparisons (the middle of the grid when there are too few comparisons to hold some out)."""
    grid = np.sort(np.atleast_1d(np.asarray(lambdas, dtype=float)))
    if len(pairs) < 2 * folds or len(K) > 600:
        return float(grid[len(grid) // 2])
    fold = np.arange(len(pairs)) % folds
    np.random.default_rng(0).shuffle(fold)
    best = None
    for rel in grid:
        ll = 0.0
        for f in range(folds):
            tr, te = pairs[fold != f], pairs[fold == f]
            fz = K @ _solve(K, off, rated, target, tr, rel * scale, max_iter)[:-1]
            m = (off[te[:, 0]] + fz[te[:, 0]]) - (off[te[:, 1]] + fz[te[:, 1]])
            ll += float(np.logaddexp(0.0, -m).sum())
        if best is None or ll < best[0] - 1e-9:
            best = (ll, float(rel))
    return best[1]
