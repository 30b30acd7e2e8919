"""A library's own taste: what the people who already rated a collection say about a person who joins it.

When other people have rated the same photos, their ratings are worth more than a hundred of a person's own
:class:`CommunityTaste` is learned from a ratings table of *other* people (``user, image, score``,
``image`` = a row index into the library's images) and gives, for a new person,

* at zero ratings, a **baseline** per image: the community mean, shrunk towards a content score (a ridge head on
  image features trained on those means, or scores given by the caller) by empirical Bayes — an image rated by
  many people keeps its mean, a photo nobody rated gets the content score;
* with k of the person's own ratings, a **Gaussian-process fold-in**: the person's deviation from the baseline is
  ``f ~ N(0, K)`` with ``K = L Lᵀ`` the covariance of people's deviations between images, learned from the
  community (``L``: the leading factors of the people × images matrix of centred deviations, the low-rank
  collaborative-filtering view), optionally plus ``content_weight ·`` a feature kernel (the population taste
  prior of ``piaa.personalize.prior_probe``) for photos few people rated, plus a nearly free intercept. The
  prediction is the posterior mean ``baseline_q + K_qS (K_SS + λ I)⁻¹ (y_S − baseline_S)``.

The noise ``λ`` (relative to the mean prior variance), the rank and the content weight are chosen per support
size by :func:`select_settings` on the community itself: some of its people play the newcomer, the model is
refitted on the rest, and the settings with the best mean per-person SROCC on their other ratings win. No rating
of the person being predicted is ever used for anything but their own fold-in.

Missing ratings (a person rated only some images) enter the deviation matrix as zeros with each image's column
divided by the square root of the share of people who rated it, so the prior variance of an image is the mean
squared deviation of its raters, and the kernel stays positive semi-definite.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd

from piaa.errors import InputError

DEFAULT_NOISE_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)

DEFAULT_CONTENT_GRID = (0.0, 0.3, 1.0, 3.0)
INTERCEPT_VARIANCE = 10.0   # prior variance of a person's offset, in units of the mean image variance


@dataclass
class CommunityTaste:
    """The fitted community (scikit-learn style: :meth:`fit` returns the model; arrays are per library image).

    ``baseline`` [n_images]: zero-rating prediction; ``factors`` [n_images, r]: ``K = factors @ factors.T``;
    ``content_factors`` [n_images, c] or None: the feature kernel's factor (same role, for ``content_weight``);
    ``counts``: how many community people rated each image; ``noise``: λ relative to ``prior_var``.
    """

    baseline: np.ndarray
    factors: np.ndarray
    counts: np.ndarray
    prior_var: float
    noise: float = 1.0
    content_factors: Optional[np.ndarray] = None
    content_weight: float = 0.0
    people: int = 0
    meta: Dict = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return int(len(self.baseline))

    # ---- learning ---------------------------------------------------------------------------------------------
    @classmethod
    def fit(cls, ratings: pd.DataFrame, n_images: int, features: Optional[np.ndarray] = None,
            content_scores: Optional[np.ndarray] = None, rank: Optional[int] = None,
            content_factors: Optional[np.ndarray] = None, content_weight: float = 0.0,
            noise: float = 1.0, min_ratings: int = 3) -> "CommunityTaste":
        """Learn from ``ratings`` (columns user, image = row index < ``n_images``, score).

        ``features`` [n_images, d]: a ridge content head is fitted to the community means (strength by exact
        leave-one-out over images) and scores every image; ``content_scores`` [n_images]: use these instead
        (e.g. a generic model's scores on the same scale). Neither: images nobody rated get the overall mean.
        ``rank``: factors kept (None: all). People with fewer than ``min_ratings`` ratings are ignored.
        """
        r = _clean(ratings, n_images, min_ratings)
        users = pd.Index(sorted(r["user"].unique()))
        if len(users) < 2:
            raise InputError(f"a community needs at least 2 people with >= {min_ratings} ratings, got {len(users)}")
        img = r["image"].to_numpy()
        sc = r["score"].to_numpy(dtype=float)
        counts = np.bincount(img, minlength=n_images).astype(float)
        sums = np.bincount(img, weights=sc, minlength=n_images)
        rated = counts > 0
        mean = np.full(n_images, np.nan)
        mean[rated] = sums[rated] / counts[rated]
        # within-image spread: the noise of a mean of n ratings is within_var / n
        sq = np.bincount(img, weights=sc * sc, minlength=n_images)
        multi = counts > 1
        within = float(np.sum(sq[multi] - counts[multi] * mean[multi] ** 2) / max(1.0, np.sum(counts[multi] - 1)))
        content = content_head(mean, counts, features, content_scores)
        baseline = _shrink(mean, counts, content, within)
        factors, prior_var = _deviation_factors(r, users, n_images, counts, rank)
        info = {"people": int(len(users)), "ratings": int(len(r)), "images_rated": int(rated.sum()),
                "within_var": within, "rank": int(factors.shape[1])}
        return cls(baseline=baseline, factors=factors, counts=counts, prior_var=prior_var, noise=float(noise),
                   content_factors=content_factors, content_weight=float(content_weight), people=int(len(users)),
                   meta=info)

    def with_settings(self, noise: Optional[float] = None, rank: Optional[int] = -1,
                      content_weight: Optional[float] = None) -> "CommunityTaste":
        """A copy with other fold-in settings (``rank`` -1: unchanged; None: all factors)."""
        f = self.factors if rank == -1 or rank is None or rank >= self.factors.shape[1] else self.factors[:, :rank]
        return replace(self, factors=f, noise=self.noise if noise is None else float(noise),
                       content_weight=self.content_weight if content_weight is None else float(content_weight))

    # ---- predicting -------------------------------------------------------------------------------------------
    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        K = self.factors[a] @ self.factors[b].T
        if self.content_weight and self.content_factors is not None:
            K = K + self.content_weight * (self.content_factors[a] @ self.content_factors[b].T)
        return K + INTERCEPT_VARIANCE * self.prior_var

    def predict(self, support: Sequence[int], scores: Sequence[float], query: Sequence[int]) -> np.ndarray:
        """The person's predicted scores of ``query`` images from their ``scores`` of ``support`` images."""
        s = np.asarray(support, dtype=int).reshape(-1)
        q = np.asarray(query, dtype=int).reshape(-1)
        y = np.asarray(scores, dtype=float).reshape(-1)
        if len(s) != len(y):
            raise InputError(f"{len(s)} support images but {len(y)} scores")
        ok = np.isfinite(y)
        s, y = s[ok], y[ok]
        if len(s) == 0:
            return self.baseline[q].copy()
        resid = y - self.baseline[s]
        Kss = self._kernel(s, s) + self.noise * self.prior_var * np.eye(len(s))
        alpha = np.linalg.solve(Kss, resid)
        return self.baseline[q] + self._kernel(q, s) @ alpha

    # ---- storage (no pickle) ----------------------------------------------------------------------------------
    def to_arrays(self) -> Dict[str, np.ndarray]:
        import json

        out = {"baseline": self.baseline.astype(np.float64), "factors": self.factors.astype(np.float32),
               "counts": self.counts.astype(np.float64),
               "scalars": np.array([self.prior_var, self.noise, self.content_weight, self.people], dtype=np.float64),
               "meta": np.frombuffer(json.dumps(self.meta).encode(), dtype=np.uint8)}
        if self.content_factors is not None:
            out["content_factors"] = self.content_factors.astype(np.float32)
        return out

    @classmethod
    def from_arrays(cls, a) -> "CommunityTaste":
        import json

        sc = np.asarray(a["scalars"], dtype=float)
        cf = a.get("content_factors") if hasattr(a, "get") else None
        return cls(baseline=np.asarray(a["baseline"], dtype=float), factors=np.asarray(a["factors"], dtype=np.float64),
                   counts=np.asarray(a["counts"], dtype=float), prior_var=float(sc[0]), noise=float(sc[1]),
                   content_factors=None if cf is None else np.asarray(cf, dtype=np.float64),
                   content_weight=float(sc[2]), people=int(sc[3]),
                   meta=json.loads(bytes(np.asarray(a["meta"], dtype=np.uint8)).decode()) if "meta" in a else {})


def _clean(ratings: pd.DataFrame, n_images: int, min_ratings: int) -> pd.DataFrame:
    missing = {"user", "image", "score"} - set(ratings.columns)
    if missing:
        raise InputError(f"community ratings need columns user, image, score; missing {sorted(missing)}")
    r = ratings[["user", "image", "score"]].copy()
    r = r[np.isfinite(r["score"].astype(float))]
    r["image"] = r["image"].astype(int)
    if len(r) and (r["image"].min() < 0 or r["image"].max() >= n_images):
        raise InputError("community ratings refer to images outside the library")
    r["user"] = r["user"].astype(str)
    r = r.groupby(["user", "image"], as_index=False)["score"].mean()
    n = r.groupby("user")["image"].transform("size")
    return r[n >= min_ratings].reset_index(drop=True)


def content_head(mean, counts, features, content_scores=None) -> np.ndarray:
    """A content score for every image: given, or a ridge head on ``features`` fitted to the community means."""
    rated = counts > 0
    if content_scores is not None:
        c = np.asarray(content_scores, dtype=float).reshape(-1)
        if len(c) != len(mean):
            raise InputError(f"{len(c)} content scores for {len(mean)} images")
        return c
    if features is None or rated.sum() < 5:
        return np.full(len(mean), float(np.nanmean(mean)) if rated.any() else np.nan)
    from piaa.models.linear_head import ridge_path

    X = np.asarray(features, dtype=np.float64)
    ok = np.isfinite(X).all(axis=1)
    fit = rated & ok
    mu, sd = X[fit].mean(axis=0), X[fit].std(axis=0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    Z = np.where(ok[:, None], (np.nan_to_num(X) - mu) / sd, 0.0)
    A = Z[fit]
    base = float(np.mean(np.sum(A * A, axis=1)))
    alphas = [base * a for a in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)]
    pred, loo = ridge_path(A, mean[fit], Z, alphas, loo=True)
    best = min(alphas, key=lambda a: float(np.mean((loo[a] - mean[fit]) ** 2)))
    out = pred[best]
    out[~ok] = float(np.mean(mean[fit]))
    # a rated image keeps its leave-one-out content score: the in-sample fit has seen its own mean, and the
    # shrinkage below must weigh an independent guess against the mean
    out[np.flatnonzero(fit)] = loo[best]
    return out


def _shrink(mean, counts, content, within) -> np.ndarray:
    """Empirical-Bayes blend per image: ``(n m / σ² + c / τ²) / (n / σ² + 1 / τ²)`` with ``τ²`` the content
    score's error variance beyond the means' own noise."""
    rated = counts > 0
    if not rated.any():
        return np.asarray(content, dtype=float)
    err = (mean[rated] - content[rated]) ** 2
    tau2 = max(float(np.mean(err) - np.mean(within / counts[rated])), 1e-3 * max(within, 1e-6))
    out = np.asarray(content, dtype=float).copy()
    w = (counts[rated] / max(within, 1e-9)) / (counts[rated] / max(within, 1e-9) + 1.0 / tau2)
    out[rated] = w * mean[rated] + (1 - w) * content[rated]
    return out


def _deviation_factors(r: pd.DataFrame, users: pd.Index, n_images: int, counts: np.ndarray, rank):
    """(factor L [n_images, r] with L Lᵀ ≈ the covariance of people's centred deviations, mean prior variance)."""
    g = r.groupby("image")["score"]
    tot, cnt = g.transform("sum"), g.transform("size")
    other = np.where(cnt > 1, (tot - r["score"]) / np.maximum(cnt - 1, 1), r["score"])
    dev = r["score"].to_numpy(dtype=float) - other
    dev = dev - pd.Series(dev).groupby(r["user"].to_numpy()).transform("mean").to_numpy()
    C = np.zeros((len(users), n_images))
    C[users.get_indexer(r["user"]), r["image"].to_numpy()] = dev
    share = counts / len(users)
    C[:, share > 0] /= np.sqrt(share[share > 0])
    _, s, Vt = np.linalg.svd(C, full_matrices=False)
    keep = s > (s[0] * 1e-8 if s.size and s[0] > 0 else np.inf)
    k = int(keep.sum()) if rank is None else max(1, min(int(rank), int(keep.sum())))
    L = Vt[:k].T * (s[:k] / np.sqrt(len(users)))
    rated = counts > 0
    prior_var = float(np.mean(np.sum(L[rated] ** 2, axis=1))) if rated.any() else 1.0
    return L, max(prior_var, 1e-9)


def content_factor(features: np.ndarray, prior, mix: float = 0.5) -> np.ndarray:
    """A factor ``G`` [n_images, c] of the taste prior's feature kernel over the library's images, scaled so
    its mean diagonal is 1: ``G Gᵀ = ((1 − mix) Z Zᵀ / s_iso + mix · (Z F)(Z F)ᵀ / s_pop) / mean diag``.
    Images without features (NaN rows) get zero rows."""
    X = np.asarray(features, dtype=np.float64)
    ok = np.isfinite(X).all(axis=1)
    Z = prior.standardize(np.where(ok[:, None], X, 0.0)) * ok[:, None]
    ZF = Z @ prior.factor64
    K = (1.0 - mix) * (Z @ Z.T) / prior.iso_scale + mix * (ZF @ ZF.T) / prior.pop_scale
    w, U = np.linalg.eigh(K)
    w = np.clip(w, 0.0, None)
    keep = w > (w.max() * 1e-8 if w.size and w.max() > 0 else np.inf)
    G = U[:, keep] * np.sqrt(w[keep])
    d = float(np.mean(np.sum(G[ok] ** 2, axis=1))) if ok.any() and keep.any() else 1.0
    return G / np.sqrt(d if d > 0 else 1.0)


def fit_community(ratings: pd.DataFrame, features: Optional[np.ndarray], n_images: int,
                  prior_alpha: float = 0.5, mix: float = 0.5, with_content_kernel: bool = True,
                  **settings) -> CommunityTaste:
    """:meth:`CommunityTaste.fit` plus the content kernel from a taste prior fitted on the same people (the
    feature directions along which their deviations vary), scaled to the community's prior variance."""
    model = CommunityTaste.fit(ratings, n_images, features=features, **settings)
    if features is None or not with_content_kernel:
        return model
    from piaa.personalize.prior_probe import TastePrior

    X = np.asarray(features, dtype=np.float64)
    ok = np.isfinite(X).all(axis=1)
    row = -np.ones(n_images, dtype=int)
    row[ok] = np.arange(int(ok.sum()))
    r = ratings[["user", "image", "score"]].copy()
    r["image"] = row[r["image"].astype(int).to_numpy()]
    r = r[r["image"] >= 0]
    try:
        prior = TastePrior.fit(X[ok], r, alpha=prior_alpha)
    except InputError:  # too few raters with enough ratings: no content kernel
        return model
    G = content_factor(X, prior, mix) * np.sqrt(model.prior_var)
    return replace(model, content_factors=G)


class SettingsSearch:
    """Fold-in settings per support size k, chosen on the community alone (no newcomer is involved).

    The community's people are split into ``groups``; each group in turn plays the newcomers (at most
    ``max_people`` of them, ``trials`` random supports of size k each, the rest of their ratings as the query)
    while the model is refitted on the other groups (once, then reused for every k). :meth:`best` returns
    ``{"noise", "content_weight", "srocc"}`` with the best mean per-person SROCC for a support size."""

    def __init__(self, ratings: pd.DataFrame, features: Optional[np.ndarray], n_images: int,
                 noise_grid: Sequence[float] = DEFAULT_NOISE_GRID, content_grid: Sequence[float] = DEFAULT_CONTENT_GRID,
                 groups: int = 3, trials: int = 2, max_people: int = 60, min_ratings: int = 20, seed: int = 0):
        self.ratings = _clean(ratings, n_images, 3)
        self.features = features
        self.n_images = n_images
        self.grid = [(float(n), float(c)) for n in noise_grid for c in content_grid]
        self.groups, self.trials, self.max_people, self.min_ratings, self.seed = groups, trials, max_people, \
            min_ratings, seed
        self._models = None
        self._best: Dict[int, Dict] = {}

    def _group_models(self):
        if self._models is None:
            r = self.ratings
            users = np.array(sorted(r["user"].unique()))
            rng = np.random.default_rng(self.seed)
            part = np.empty(len(users), dtype=int)
            part[rng.permutation(len(users))] = np.arange(len(users)) % self.groups
            by_user = {u: g for u, g in r.groupby("user")}
            self._models = []
            if len(users) >= 2 * self.groups:
                for gi in range(self.groups):
                    held = users[part == gi]
                    model = fit_community(r[~r["user"].isin(set(held))], self.features, self.n_images)
                    people = [u for u in held if len(by_user[u]) >= self.min_ratings]
                    if len(people) > self.max_people:
                        people = list(rng.choice(people, self.max_people, replace=False))
                    self._models.append((model, [(by_user[u]["image"].to_numpy(),
                                                  by_user[u]["score"].to_numpy(dtype=float)) for u in people]))
        return self._models

    def best(self, k: int) -> Dict:
        k = int(k)
        if k in self._best:
            return self._best[k]
        from piaa.metrics import srocc

        rng = np.random.default_rng([self.seed, k])
        score = {g: [] for g in self.grid}
        for model, people in self._group_models():
            variants = {g: model.with_settings(noise=g[0], content_weight=g[1]) for g in self.grid}
            for idx, y in people:
                if len(idx) < k + 5:
                    continue
                vals = {g: [] for g in self.grid}
                for _ in range(self.trials):
                    s = rng.choice(len(idx), k, replace=False)
                    q = np.setdiff1d(np.arange(len(idx)), s)
                    if np.ptp(y[q]) == 0:
                        continue
                    for g, m in variants.items():
                        vals[g].append(srocc(m.predict(idx[s], y[s], idx[q]), y[q]))
                for g in self.grid:
                    v = [x for x in vals[g] if np.isfinite(x)]
                    if v:
                        score[g].append(float(np.mean(v)))
        means = {g: float(np.mean(v)) for g, v in score.items() if v}
        if not means:  # too few people to validate on: a middle setting
            out = {"noise": 3.0, "content_weight": 0.3, "srocc": None}
        else:
            b = max(means, key=means.get)
            out = {"noise": b[0], "content_weight": b[1], "srocc": means[b]}
        self._best[k] = out
        return out


class LibraryCommunity:
    """A library's community model with its fold-in settings chosen per number of the person's ratings: the one
    code path of ``piaa evaluate``'s ``community`` method and ``piaa serve``'s library model (the service once
    used one setting, chosen for 10 ratings, and another content base: its newcomers' first 10 ratings made their
    ranking worse while the evaluated method gained).

    ``ratings`` (user, image row, score) of the community over ``n_images`` rows with ``features``; the model is
    :func:`fit_community`'s, the settings :class:`SettingsSearch`'s for ``k`` = the person's ratings (fixed
    ``noise`` / ``content_weight`` replace the search's choice); :meth:`predict` folds a person's ratings in."""

    def __init__(self, ratings: pd.DataFrame, features: Optional[np.ndarray], n_images: int, groups: int = 3,
                 max_people: int = 60, seed: int = 0, noise: Optional[float] = None,
                 content_weight: Optional[float] = None):
        self.model = fit_community(ratings, features, n_images)
        self.search = SettingsSearch(ratings, features, n_images, groups=groups, max_people=max_people, seed=seed)
        self.fixed = {k: float(v) for k, v in (("noise", noise), ("content_weight", content_weight)) if v is not None}
        self._models: Dict[int, CommunityTaste] = {}

    @property
    def baseline(self) -> np.ndarray:
        """The zero-rating scores of every row (the settings do not change them)."""
        return self.model.baseline

    def settings(self, k: int) -> Dict:
        """``{"noise", "content_weight"}`` for a person with ``k`` ratings (+ ``srocc`` when searched)."""
        chosen = {} if len(self.fixed) == 2 else self.search.best(int(k))
        return {**chosen, **self.fixed}

    def model_for(self, k: int) -> CommunityTaste:
        k = int(k)
        if k not in self._models:
            s = self.settings(k)
            self._models[k] = self.model.with_settings(noise=s.get("noise"), content_weight=s.get("content_weight"))
        return self._models[k]

    def with_fixed(self, **fixed: float) -> "LibraryCommunity":
        """The same fitted model and search with these settings fixed (its own cache of per-k models)."""
        import copy

        out = copy.copy(self)
        out.fixed = {**self.fixed, **{k: float(v) for k, v in fixed.items() if v is not None}}
        out._models = {}
        return out

    def predict(self, support: Sequence[int], scores: Sequence[float], query: Sequence[int]) -> np.ndarray:
        """A person's scores of ``query`` rows from their ``scores`` of ``support`` rows."""
        return self.model_for(len(support)).predict(support, scores, query)

    def suggest(self, rated: Sequence[int], pool: Sequence[int], n: int) -> list:
        """Up to ``n`` rows of ``pool`` to ask a person who rated ``rated`` next, in order: greedily the photo
        whose rating shrinks the fold-in's uncertainty about the whole library most (the posterior variance of
        the person's deviations, summed over every row, under the kernel this model folds ratings in with)."""
        rated = [int(i) for i in rated]
        taken = set(rated)
        cand = np.array([int(i) for i in dict.fromkeys(int(p) for p in pool) if int(i) not in taken], dtype=int)
        n = min(int(n), len(cand))
        if n <= 0:
            return []
        m = self.model_for(len(rated) + n)
        Z = m.factors
        if m.content_weight and m.content_factors is not None:
            Z = np.hstack([Z, np.sqrt(m.content_weight) * m.content_factors])
        Z = np.asarray(Z, dtype=np.float64)
        noise = m.noise * m.prior_var
        # weight space: deviations f = Z w, w ~ N(0, I); B = posterior covariance of w after the rated rows
        B = np.linalg.inv(np.eye(Z.shape[1]) + Z[rated].T @ Z[rated] / noise) if rated else np.eye(Z.shape[1])
        M = Z.T @ Z
        out = []
        for _ in range(n):
            ZB = Z[cand] @ B
            gain = np.einsum("ij,ij->i", ZB @ M, ZB) / (noise + np.einsum("ij,ij->i", ZB, Z[cand]))
            k = int(np.argmax(gain))
            out.append(int(cand[k]))
            b = ZB[k]
            B = B - np.outer(b, b) / (noise + float(b @ Z[cand[k]]))
            cand = np.delete(cand, k)
        return out
