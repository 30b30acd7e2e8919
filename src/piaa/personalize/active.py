"""Active learning: which photos a person should rate next so their profile learns most from fewest ratings.

One call answers it (the service's ``GET /api/suggestions``, ``piaa profile suggest`` and the evaluation runner's
``METHOD@active`` all use it)::

    idx = select_next(features, rated, scores, prior, n=10, generic=generic_scores)

``features``: the library's feature rows (N x d; rows with NaN are never suggested); ``rated``: row indices the
person has rated so far, ``scores`` their ratings (may be empty: the cold start); ``prior``: the fitted
:class:`~piaa.personalize.prior_probe.TastePrior` (None: the shipped one); ``generic``: the generic model's score
of every row (optional; without it the start spreads over the embedding instead). It returns up to ``n``
distinct row indices, none already rated or excluded, in the order to ask them.

The model behind every strategy is the probe-prior's Bayesian view of a person (``piaa.personalize.prior_probe``):
``y_i = c + b·g_i + w·z_i + ε`` with ``w ~ N(0, Σ_eff)``, ``Σ_eff = (1 − mix)·I/s_iso + mix·Σ_pop/s_pop``, a
nearly flat intercept ``c`` (the person's offset) and a weight ``b`` on the generic score (their scale). The
library is embedded once through the prior's kernel ``K = Z Σ_eff Zᵀ`` (exact eigen-decomposition up to 2,000
photos, randomized beyond), truncated to the leading ``rank`` directions: the directions along which people's
tastes differ. The posterior covariance of the person's coefficients does not depend on the ratings' values, so a
batch of ``n`` is chosen greedily and exactly (each pick updates the posterior as if rated), which is also what
keeps a batch free of near-duplicates: once a photo is picked, its neighbours' variance collapses.

Strategies (``STRATEGIES``; compared on validation people, docs/benchmarks/active.md and BENCHMARKS.md):

- ``random``: uniform; the baseline.
- ``guarded`` (default): ``uncertainty`` while the model fits the pool and the person, random choice
  otherwise (:func:`model_fits`: the pool's spread along the prior's taste directions, and after 10 answers
  whether the generic score orders them). On OASIS pools its first 10 photos are uncertainty's; on AVT-AI
  (AI-generated images) it is random, where uncertainty lost 0.03 at 25-50 ratings (BENCHMARKS.md).
- ``uncertainty``: the photo with the largest predictive variance under the current posterior (= greedy
  D-optimal design), in the embedding truncated to the prior's 16 leading taste directions plus the generic score
  and the offset. Truncation is what keeps it off outliers: a photo is uncertain only when it is extreme along a
  direction in which people's tastes are known to differ, not along any of 3,120 feature directions (the issue's
  pilot, variance reduction over 64 PCA directions of the features, picked outliers and lost to random). On the
  validation people it gained +0.012 (10 ratings), +0.020 (25), +0.008 (50) over random supports.
- ``variance``: greedy reduction of the density-weighted predictive variance summed over the library
  (V-/I-optimal design); ``density`` = 0 weighs every photo alike. Close to ``uncertainty`` at 25-50, weaker at 10.
- ``kcenter``: farthest-first coverage of the embedding.
- ``quantile``: spread over the generic score's quantiles (the most typical photo of each quantile bin).
- ``representative``: a representative start of ``start`` photos spread over the generic score's quantiles
  within the dense part of the library, then density-weighted variance reduction. The quantile start *lost* at
  5-10 ratings on validation people (it spends ratings on pinning an offset the probe does not need for ranking).

``select_pair`` is the pairwise variant: the two photos whose comparison is most informative (largest posterior
variance of their difference, weighted by how uncertain the outcome is).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from piaa.errors import InputError
from piaa.registry import Registry

DEFAULT_STRATEGY = "guarded"
# chosen on validation people (OASIS subsets 2 and 3 with models trained on the other training subsets; subset1
# and held-back people never read): bench/active_validation.py, BENCHMARKS.md "Active learning"
DEFAULT_SETTINGS = {"noise": 1.0, "density": 1.0, "start": 5, "rank": 16, "generic_var": 1.0,
                    "floor": 0.0, "guard_after": 10, "trust": 0.2, "shift": 0.8}
EXACT_LIMIT = 2000          # photos up to which the library kernel is decomposed exactly
# a comparison is read as a noisy observation of the difference of two photos' scores, PAIR_MARGIN apart (in
# rating units) with PAIR_NOISE times a rating's noise: the Gaussian stand-in for the Bradley-Terry likelihood
# the profile is fitted with (piaa.personalize.pairwise), enough for choosing what to ask next
PAIR_MARGIN = 1.0
PAIR_NOISE = 2.0


class ActiveError(InputError):
    """Bad input to the selector (one-line message); a ``ValueError`` too, through :class:`InputError`."""


@dataclass
class Library:
    """A library embedded for selection: ``phi`` (N x m) holds the taste embedding, the standardized generic score
    and a constant; ``prior_var`` their prior variances; ``ok`` marks rows with features; ``density`` per row."""

    phi: np.ndarray
    prior_var: np.ndarray
    ok: np.ndarray
    density: np.ndarray
    generic: Optional[np.ndarray]
    emb: np.ndarray                 # the taste embedding alone (N x r), for coverage strategies
    spread: float = 1.0             # the pool's variance along the prior's taste directions / the prior's own


def embed_library(features, prior=None, generic=None, mix: Optional[float] = None, rank: int = 64,
                  generic_var: float = 1.0, seed: int = 0) -> Library:
    """Embed the library through the prior's kernel (see the module doc)."""
    from piaa.personalize.default_prior import resolve_prior
    from piaa.personalize.prior_probe import DEFAULT_MIX

    prior, _ = resolve_prior(prior)
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ActiveError("features must be a non-empty 2-d array (one row per photo)")
    if X.shape[1] != prior.dim:
        raise ActiveError(f"features of width {X.shape[1]} do not match the taste prior's {prior.dim}")
    N = len(X)
    ok = np.isfinite(X).all(axis=1)
    g = None
    if generic is not None:
        g = np.asarray(generic, dtype=float).reshape(-1)
        if len(g) != N:
            raise ActiveError(f"generic has {len(g)} scores for {N} photos")
        ok &= np.isfinite(g)
    mix = DEFAULT_MIX if mix is None else float(mix)
    emb = np.zeros((N, 0))
    spread = 1.0
    if ok.sum() >= 2:
        Z = prior.standardize(X[ok])
        Z -= Z.mean(axis=0)
        ZF0 = Z @ prior.factor64
        spread = float(np.mean(np.sum(ZF0 * ZF0, axis=1)) / prior.pop_scale)
        a_iso, a_pop = (1.0 - mix) / prior.iso_scale, mix / prior.pop_scale
        B1, B2 = np.sqrt(a_iso) * Z, np.sqrt(a_pop) * (Z @ prior.factor64)
        e = _kernel_embedding(B1, B2, rank, seed)
        scale = float(np.mean(np.sum(e * e, axis=1)))   # mean prior variance of a photo's taste part -> 1
        emb_ok = e / np.sqrt(scale) if scale > 0 else e
        emb = np.zeros((N, emb_ok.shape[1]))
        emb[ok] = emb_ok
    cols = [emb]
    pv = [np.ones(emb.shape[1])]
    gz = None
    if g is not None and ok.sum() >= 2:
        sd = float(np.std(g[ok]))
        gz = np.zeros(N)
        gz[ok] = (g[ok] - g[ok].mean()) / (sd if sd > 0 else 1.0)
        cols.append(gz[:, None])
        pv.append([float(generic_var)])
    cols.append(np.ones((N, 1)))
    pv.append([100.0])              # nearly flat intercept: the person's offset
    phi = np.hstack(cols)
    return Library(phi=phi, prior_var=np.concatenate([np.asarray(p, float) for p in pv]), ok=ok,
                   density=_density(emb, ok), generic=None if g is None else g, emb=emb, spread=spread)


def _kernel_embedding(B1: np.ndarray, B2: np.ndarray, rank: int, seed: int) -> np.ndarray:
    """Rows E (N x m) with E Eᵀ ≈ B1 B1ᵀ + B2 B2ᵀ, keeping the leading ``rank`` eigen-directions."""
    N = len(B1)
    m = max(1, min(int(rank), N - 1))
    if N <= EXACT_LIMIT:
        K = B1 @ B1.T + B2 @ B2.T
        s, U = np.linalg.eigh(K)
        s, U = s[::-1][:m], U[:, ::-1][:, :m]
    else:  # randomized range finder with two power iterations, never forming the N x N kernel
        rng = np.random.default_rng(seed)
        Y = rng.standard_normal((N, m + 10))

        def kmul(V):
            return B1 @ (B1.T @ V) + B2 @ (B2.T @ V)

        Q, _ = np.linalg.qr(kmul(Y))
        for _ in range(2):
            Q, _ = np.linalg.qr(kmul(Q))
        T = Q.T @ kmul(Q)
        s, W = np.linalg.eigh((T + T.T) / 2)
        s, U = s[::-1][:m], (Q @ W[:, ::-1])[:, :m]
    s = np.clip(s, 0.0, None)
    keep = s > 1e-9 * max(float(s[0]) if len(s) else 0.0, 1e-300)
    return U[:, keep] * np.sqrt(s[keep])


def _density(emb: np.ndarray, ok: np.ndarray, k: int = 10) -> np.ndarray:
    """How typical each photo is: exp(−mean squared distance to its k nearest neighbours / median of it)."""
    d = np.zeros(len(emb))
    idx = np.flatnonzero(ok)
    if len(idx) < 3 or emb.shape[1] == 0:
        d[idx] = 1.0
        return d
    E = emb[idx]
    kk = min(k, len(idx) - 1)
    sq = np.sum(E * E, axis=1)
    out = np.empty(len(idx))
    for a in range(0, len(idx), 1024):   # blocks keep memory at 1024 x N
        D = sq[a:a + 1024, None] + sq[None, :] - 2.0 * E[a:a + 1024] @ E.T
        D = np.maximum(D, 0.0)
        out[a:a + 1024] = np.mean(np.partition(D, kk, axis=1)[:, 1:kk + 1], axis=1)
    med = float(np.median(out)) or 1.0
    d[idx] = np.exp(-out / med)
    return d


# ---- posterior bookkeeping ---------------------------------------------------------------------------------------
class _Posterior:
    """Precision-form posterior of the person's coefficients; each observation is a rank-one update."""

    def __init__(self, lib: Library, noise: float):
        self.lib = lib
        self.noise = float(noise)
        self.cov = np.diag(lib.prior_var.astype(float))

    def observe(self, i: int) -> None:
        self._update(self.lib.phi[i], self.noise)

    def observe_pair(self, better: int, worse: int) -> None:
        """A comparison: an observation of ``f_better − f_worse`` (noise ``PAIR_NOISE`` × the rating noise)."""
        self._update(self.lib.phi[better] - self.lib.phi[worse], PAIR_NOISE * self.noise)

    def _update(self, f: np.ndarray, noise: float) -> None:
        cf = self.cov @ f
        self.cov -= np.outer(cf, cf) / (noise + f @ cf)

    def variances(self) -> np.ndarray:
        P = self.lib.phi
        return np.einsum("ij,jk,ik->i", P, self.cov, P)


def _candidates(lib: Library, taken: np.ndarray) -> np.ndarray:
    return lib.ok & ~taken


# ---- strategies: (lib, taken mask, n, posterior, rng, settings) -> picks ----------------------------------------
def _random(lib, taken, n, post, rng, s):
    cand = np.flatnonzero(_candidates(lib, taken))
    return list(rng.choice(cand, size=min(n, len(cand)), replace=False))


def _typical(lib: Library, floor: float) -> np.ndarray:
    """Photos whose density is at least the ``floor`` quantile of the library's (all photos for floor 0)."""
    if not floor or not lib.ok.any():
        return np.ones(len(lib.ok), dtype=bool)
    return lib.density >= np.quantile(lib.density[lib.ok], float(floor))


def _uncertainty(lib, taken, n, post, rng, s):
    picks = []
    typical = _typical(lib, s.get("floor", 0.0))
    for _ in range(n):
        cand = _candidates(lib, taken) & typical
        if not cand.any():
            cand = _candidates(lib, taken)
        if not cand.any():
            break
        v = np.where(cand, post.variances(), -np.inf)
        i = int(np.argmax(v))
        picks.append(i)
        taken[i] = True
        post.observe(i)
    return picks


def _variance_step(lib: Library, post: _Posterior, cand: np.ndarray, weights: np.ndarray) -> int:
    """The candidate whose rating most reduces Σ_j weights_j · var_j (closed form through m x m matrices)."""
    P = lib.phi
    Sw = (P * weights[:, None]).T @ P
    M = post.cov @ Sw @ post.cov
    gain = np.einsum("ij,jk,ik->i", P, M, P) / (post.noise + np.einsum("ij,jk,ik->i", P, post.cov, P))
    return int(np.argmax(np.where(cand, gain, -np.inf)))


def _weights(lib: Library, density: float) -> np.ndarray:
    w = np.where(lib.ok, lib.density ** float(density) if density else 1.0, 0.0)
    return w / max(float(w.sum()), 1e-300)


def _variance(lib, taken, n, post, rng, s):
    w = _weights(lib, s["density"])
    picks = []
    for _ in range(n):
        cand = _candidates(lib, taken)
        if not cand.any():
            break
        i = _variance_step(lib, post, cand, w)
        picks.append(i)
        taken[i] = True
        post.observe(i)
    return picks


def _kcenter(lib, taken, n, post, rng, s):
    E = lib.emb
    picks = []
    ok = lib.ok
    chosen = np.flatnonzero(taken & ok)
    if len(chosen):
        d = np.min(((E[:, None, :] - E[None, chosen, :]) ** 2).sum(-1), axis=1)
    else:  # start at the most typical photo
        d = None
    for _ in range(n):
        cand = _candidates(lib, taken)
        if not cand.any():
            break
        i = int(np.argmax(np.where(cand, lib.density, -np.inf))) if d is None else \
            int(np.argmax(np.where(cand, d, -np.inf)))
        picks.append(i)
        taken[i] = True
        post.observe(i)
        di = ((E - E[i]) ** 2).sum(-1)
        d = di if d is None else np.minimum(d, di)
    return picks


def _spread_key(lib: Library) -> np.ndarray:
    """What the quantile spread runs over: the generic score, else the leading taste direction."""
    if lib.generic is not None:
        return lib.generic
    return lib.emb[:, 0] if lib.emb.shape[1] else np.zeros(len(lib.ok))


def _quantile_picks(lib, taken, n, post, rng, pool_mask=None):
    """``n`` photos, one per quantile bin of the spread key (among untaken candidates, within ``pool_mask``),
    each the most typical photo of its bin; bins that already hold a rated photo are served last."""
    key = _spread_key(lib)
    cand = _candidates(lib, taken) & (pool_mask if pool_mask is not None else True)
    if not cand.any():
        return []
    allidx = np.flatnonzero(lib.ok)
    order = allidx[np.argsort(key[allidx], kind="stable")]
    rated = np.flatnonzero(taken & lib.ok)
    nb = n + len(rated)
    bins = np.array_split(order, nb)
    full = [b for b in bins if not np.isin(b, rated).any()] + [b for b in bins if np.isin(b, rated).any()]
    picks = []
    for b in full:
        if len(picks) == n:
            break
        b = b[cand[b]]
        if len(b):
            i = int(b[np.argmax(lib.density[b])])
            picks.append(i)
            cand[i] = False
            taken[i] = True
            post.observe(i)
    return picks


def _quantile(lib, taken, n, post, rng, s):
    picks = _quantile_picks(lib, taken, n, post, rng)
    if len(picks) < n:
        picks += _random(lib, taken | np.isin(np.arange(len(taken)), picks), n - len(picks), post, rng, s)
    return picks


def _representative(lib, taken, n, post, rng, s):
    picks = []
    have = int((taken & lib.ok).sum())
    n_start = max(0, min(n, int(s["start"]) - have))
    if n_start:
        dense = lib.density >= np.quantile(lib.density[lib.ok], 0.25) if lib.ok.any() else None
        picks += _quantile_picks(lib, taken, n_start, post, rng, pool_mask=dense)
    if len(picks) < n:
        picks += _variance(lib, taken, n - len(picks), post, rng, s)
    return picks


#: selection strategies by name: ``strategy(lib, taken, n, posterior, rng, settings) -> picks``
STRATEGIES: Registry[Callable] = Registry("strategy")
for _name, _fn in (("random", _random), ("uncertainty", _uncertainty), ("variance", _variance),
                   ("kcenter", _kcenter), ("quantile", _quantile), ("representative", _representative),
                   # uncertainty while the person's answers fit the model, else random (ActiveSelector.select)
                   ("guarded", _uncertainty)):
    STRATEGIES.register(_name, _fn)


def model_fits(lib: Library, rated: np.ndarray, scores, settings) -> bool:
    """The guard of ``guarded``: does the selector's model of taste fit this person's pool? Two checks, either
    sends the selector to random choice:

    * the pool itself: its variance along the prior's taste directions, relative to the prior's own photos
      (``Library.spread``), must be at least ``shift``. On OASIS pools (the prior's domain) it is 0.91-1.16
      (157-photo pools of each subset), on AVT-AI pools 0.69-0.71: AI-generated images hardly vary along the
      directions OASIS raters' tastes differ along, and picking extremes along them loses to random (−0.03 at
      25-50 ratings, BENCHMARKS.md §8). 0.8 lies below every in-domain pool measured;
    * the person's answers: once they answered ``guard_after`` photos, the generic score of those photos must
      order their answers with SROCC of at least ``trust``; when it does not, the model of taste uncertainty
      sampling trusts is not this person's, and extreme photos along it teach less than a random sample."""
    if lib.spread < float(settings["shift"]):
        return False
    if lib.generic is None or scores is None or len(rated) < int(settings["guard_after"]):
        return True
    y = np.asarray(scores, dtype=float).reshape(-1)
    g = lib.generic[np.asarray(rated, dtype=int)]
    ok = np.isfinite(y) & np.isfinite(g)
    if ok.sum() < 3 or np.ptp(y[ok]) == 0 or np.ptp(g[ok]) == 0:
        return True
    from scipy.stats import spearmanr

    return bool(spearmanr(g[ok], y[ok])[0] >= float(settings["trust"]))


class ActiveSelector:
    """The selector with the library embedded once: ``ActiveSelector(features, prior, generic).select(rated,
    scores, n)``; :func:`select_next` is the one-shot form. Settings: ``noise`` (rating noise variance relative
    to a photo's prior taste variance), ``density`` (exponent of the density weight), ``start`` (photos of the
    representative start), ``rank`` (embedding directions), ``generic_var`` (prior variance of the weight on the
    generic score), ``mix`` (the prior's population share; None = probe-prior's default)."""

    def __init__(self, features, prior=None, generic=None, strategy: str = DEFAULT_STRATEGY, seed: int = 0,
                 mix: Optional[float] = None, **settings):
        if strategy not in STRATEGIES:
            raise ActiveError(f"unknown strategy {strategy!r}; strategies: {', '.join(STRATEGIES)}")
        unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
        if unknown:
            raise ActiveError(f"unknown selector setting(s) {unknown}; settings: {sorted(DEFAULT_SETTINGS)}")
        self.strategy = strategy
        self.last_strategy = strategy
        self.seed = int(seed)
        self.settings = {**DEFAULT_SETTINGS, **settings}
        if not float(self.settings["noise"]) > 0:
            raise ActiveError(f"noise must be > 0, got {self.settings['noise']}")
        self.lib = embed_library(features, prior, generic, mix=mix, rank=int(self.settings["rank"]),
                                 generic_var=float(self.settings["generic_var"]), seed=self.seed)
        # random choices depend on the pool too: two people whose pools hold different photos get independent
        # draws (with the seed alone, every person of an evaluation trial got the same row positions, i.e. nearly
        # the same photos in a shared, name-sorted library — one design per trial instead of one per person)
        import zlib

        self._pool_key = zlib.crc32(np.ascontiguousarray(np.asarray(features, dtype=np.float32)).tobytes())

    @property
    def size(self) -> int:
        return len(self.lib.ok)

    def _state(self, rated, scores, exclude, pairs=()):
        N = self.size
        rated = np.asarray(list(rated), dtype=int).reshape(-1)
        if scores is not None and len(np.asarray(scores).reshape(-1)) != len(rated):
            raise ActiveError(f"{len(rated)} rated photos but {len(np.asarray(scores).reshape(-1))} scores")
        bad = rated[(rated < 0) | (rated >= N)]
        if len(bad):
            raise ActiveError(f"rated index {int(bad[0])} is outside the library of {N} photos")
        taken = np.zeros(N, dtype=bool)
        taken[rated] = True
        if exclude is not None:
            ex = np.asarray(list(exclude), dtype=int).reshape(-1)
            ex = ex[(ex >= 0) & (ex < N)]
            taken[ex] = True
        post = _Posterior(self.lib, self.settings["noise"])
        for i in np.unique(rated):
            if self.lib.ok[i]:
                post.observe(int(i))
        for b, w in self._pairs(pairs):
            post.observe_pair(b, w)
        return rated, taken, post

    def _pairs(self, pairs):
        """The (better, worse) rows of ``pairs`` that are inside the library and have features."""
        out = []
        for b, w in pairs or ():
            b, w = int(b), int(w)
            if b == w or not (0 <= b < self.size and 0 <= w < self.size):
                raise ActiveError(f"comparison ({b}, {w}) is not a pair of two photos of the library of {self.size}")
            if self.lib.ok[b] and self.lib.ok[w]:
                out.append((b, w))
        return out

    def select(self, rated: Sequence[int] = (), scores=None, n: int = 10, exclude=None) -> np.ndarray:
        """Up to ``n`` row indices to ask next, in order (see :func:`select_next`)."""
        if int(n) < 0:
            raise ActiveError(f"n must be >= 0, got {n}")
        rated, taken, post = self._state(rated, scores, exclude)
        n = min(int(n), int((self.lib.ok & ~taken).sum()))
        if n == 0:
            return np.zeros(0, dtype=int)
        rng = np.random.default_rng([self.seed, self._pool_key, len(rated), n])
        strategy = self.strategy
        if strategy == "guarded" and not model_fits(self.lib, rated, scores, self.settings):
            strategy = "random"
        self.last_strategy = strategy
        picks = STRATEGIES.get(strategy)(self.lib, taken.copy(), n, post, rng, self.settings)
        return np.asarray(picks[:n], dtype=int)

    def select_pair(self, rated: Sequence[int] = (), scores=None, exclude=None, candidates: int = 200,
                    pairs: Sequence[Tuple[int, int]] = (), avoid: Sequence[Tuple[int, int]] = ()) -> Tuple[int, int]:
        """The two photos to compare next: among the ``candidates`` photos of largest predictive variance, the
        pair maximizing var(f_i − f_j) · p(1 − p), p = σ(mean_i − mean_j) under the current posterior (the
        outcome of a comparison that is certain teaches nothing). ``pairs``: the person's comparisons so far,
        (better, worse) rows: they update the posterior like ratings do, and a pair already compared (in either
        order) is never offered again, nor one in ``avoid`` (pairs skipped: not offered, but nothing learned).
        :class:`ActiveError` when every pair left has been compared."""
        rated, taken, post = self._state(rated, scores, exclude, pairs)
        done = {frozenset(p) for p in self._pairs(pairs)} | {frozenset(p) for p in self._pairs(avoid)}
        cand = np.flatnonzero(self.lib.ok & ~taken)
        if len(cand) < 2:
            raise ActiveError("fewer than 2 photos left to compare")
        v = post.variances()
        order = cand[np.argsort(-v[cand], kind="stable")]
        mean = self._posterior_mean(rated, scores, post, pairs)
        size = max(2, int(candidates))
        while True:  # widen the candidates when every pair among them has been compared
            cand = order[:size]
            P = self.lib.phi[cand]
            C = P @ post.cov @ P.T
            dv = np.diag(C)[:, None] + np.diag(C)[None, :] - 2 * C
            p = 1.0 / (1.0 + np.exp(-(mean[cand][:, None] - mean[cand][None, :])))
            score = dv * p * (1 - p)
            np.fill_diagonal(score, -np.inf)
            pos = {int(r): k for k, r in enumerate(cand)}
            for pr in done:
                a, b = tuple(pr)
                if a in pos and b in pos:
                    score[pos[a], pos[b]] = score[pos[b], pos[a]] = -np.inf
            if np.isfinite(score).any():
                a, b = np.unravel_index(int(np.argmax(score)), score.shape)
                return int(cand[a]), int(cand[b])
            if size >= len(order):
                raise ActiveError("every pair of the photos left has been compared")
            size *= 2

    def _posterior_mean(self, rated, scores, post, pairs=()) -> np.ndarray:
        """The posterior mean of every photo's score from the ratings and the comparisons (each a difference of
        ``PAIR_MARGIN`` observed with ``PAIR_NOISE`` × the rating noise)."""
        b = np.zeros(self.lib.phi.shape[1])
        if scores is not None and len(rated):
            y = np.asarray(scores, dtype=float).reshape(-1)
            keep = self.lib.ok[rated] & np.isfinite(y)
            b += self.lib.phi[rated[keep]].T @ y[keep] / post.noise
        for hi, lo in self._pairs(pairs):
            b += (self.lib.phi[hi] - self.lib.phi[lo]) * PAIR_MARGIN / (PAIR_NOISE * post.noise)
        if not b.any():
            return np.zeros(self.size)
        return self.lib.phi @ (post.cov @ b)


def select_next(features, rated: Sequence[int] = (), scores=None, prior=None, n: int = 10, *, generic=None,
                strategy: str = DEFAULT_STRATEGY, exclude=None, seed: int = 0, **settings) -> np.ndarray:
    """The next ``n`` photos a person should rate: row indices into ``features`` (see the module doc)."""
    return ActiveSelector(features, prior, generic, strategy=strategy, seed=seed, **settings).select(
        rated, scores, n, exclude=exclude)


def select_pair(features, rated: Sequence[int] = (), scores=None, prior=None, *, generic=None, exclude=None,
                pairs: Sequence[Tuple[int, int]] = (), seed: int = 0, **settings) -> Tuple[int, int]:
    """The two photos whose comparison teaches the person's profile most (see :meth:`ActiveSelector.select_pair`)."""
    return ActiveSelector(features, prior, generic, seed=seed, **settings).select_pair(rated, scores,
                                                                                     exclude=exclude, pairs=pairs)


def sequential_order(selector: ActiveSelector, scores, k: int, batch: int = 5) -> np.ndarray:
    """Simulate a person rating batch after batch: ask ``batch`` photos, read their ``scores`` (the full vector
    over the library, of which the selector only ever sees the entries it asked for), ask the next batch, up to
    ``k`` photos. Returns the asked row indices in order (the support of size j is the first j)."""
    if int(batch) < 1:
        raise ActiveError(f"batch must be >= 1, got {batch}")
    y = np.asarray(scores, dtype=float).reshape(-1)
    asked: list = []
    k = min(int(k), int(selector.lib.ok.sum()))
    while len(asked) < k:
        got = selector.select(asked, y[asked] if asked else None, min(int(batch), k - len(asked)))
        if len(got) == 0:
            break
        asked.extend(int(i) for i in got)
    return np.asarray(asked, dtype=int)
