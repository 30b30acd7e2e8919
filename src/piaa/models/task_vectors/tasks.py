"""Tasks: any ratings source becomes (images, per-image soft targets, scale) for one task model.

A task is a database, a population of raters inside one (a ``where`` filter on the raters' traits), a criterion
(OASIS valence/arousal norms, AVT image_appeal/quality/realism) or a single per-image score column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

from piaa.models.task_vectors.spec import template_for
from piaa.models.task_vectors.targets import image_targets
from piaa.errors import InputError


@dataclass
class TaskData:
    name: str
    paths: List[Path]          # absolute image paths, one per target row
    targets: np.ndarray        # [n, 10] soft distributions over the template
    means: np.ndarray          # [n] mean score per image (for metrics)
    lo: float
    hi: float
    buckets: int
    meta: Dict = field(default_factory=dict)

    @property
    def template(self) -> np.ndarray:
        return template_for(self.lo, self.hi)

    def fingerprint_parts(self) -> list:
        return [self.name, self.lo, self.hi, [str(p) for p in self.paths], np.round(self.means, 6).tolist()]


def task_from_ratings(name: str, ratings: pd.DataFrame, images_root, scale, meta: Optional[dict] = None) -> TaskData:
    """ratings: columns image (relative to images_root), score; scale: a piaa Scale."""
    if ratings.empty:
        raise InputError(f"task {name!r} has no ratings")
    t = image_targets(ratings, scale.min, scale.max)
    root = Path(images_root) if images_root is not None else Path(".")
    paths = [root / i for i in t.index]
    m = {"n_images": int(len(t)), "n_ratings": int(len(ratings)),
         "n_raters": int(ratings["user"].nunique()) if "user" in ratings.columns else None}
    m.update(meta or {})
    return TaskData(name, paths, t[[f"t{i}" for i in range(10)]].to_numpy(), t["mean"].to_numpy(),
                    float(scale.min), float(scale.max), int(scale.buckets), m)


def task_from_source(src) -> TaskData:
    """A runner ``TaskSource`` (already restricted to the fold's training data) -> TaskData."""
    return task_from_ratings(src.name, src.dataset.ratings, src.images_root, src.dataset.scale,
                             {"source": src.dataset.name, "per_image": bool(src.per_image)})


def taste_group_tasks(src, n_groups: int, features: np.ndarray, seed: int = 0, min_raters: int = 5) -> List[TaskData]:
    """Rater populations that really differ: cluster the source's raters by taste, one task per cluster.

    Each rater's taste is the ridge map from image features to their centered ratings (comparable across
    raters who rated different images); k-means on those maps (cosine) gives ``n_groups`` populations.
    ``features``: [n_images, d] rows aligned with ``src.dataset.image_ids``.
    """
    r = src.dataset.ratings
    images = src.dataset.image_ids
    pos = {im: i for i, im in enumerate(images)}
    F = np.asarray(features, np.float64)
    ok = np.isfinite(F).all(axis=1)
    mu, sd = F[ok].mean(0), F[ok].std(0) + 1e-6
    Z = np.where(ok[:, None], (F - mu) / sd, 0.0)
    # a low-rank basis keeps the per-rater ridge fits cheap and stable
    _, _, vt = np.linalg.svd(Z[ok], full_matrices=False)
    B = Z @ vt[:32].T
    users, W = [], []
    for u, g in r.groupby("user"):
        idx = np.array([pos[i] for i in g["image"]])
        m = ok[idx]
        if m.sum() < 10:
            continue
        y = g["score"].to_numpy(float)[m]
        y = y - y.mean()
        X = B[idx[m]]
        w = np.linalg.solve(X.T @ X + 10.0 * len(y) * np.eye(X.shape[1]), X.T @ y)
        users.append(str(u))
        W.append(w / (np.linalg.norm(w) + 1e-9))
    W = np.asarray(W)
    labels = _kmeans(W, n_groups, seed)
    out = []
    for c in range(n_groups):
        members = {users[i] for i in np.flatnonzero(labels == c)}
        if len(members) < min_raters:
            continue
        rc = r[r["user"].astype(str).isin(members)]
        out.append(task_from_ratings(f"{src.name}:taste{c}", rc, src.images_root, src.dataset.scale,
                                     {"source": src.dataset.name, "population": f"taste cluster {c}",
                                      "per_image": False}))
    return out


def _kmeans(X: np.ndarray, k: int, seed: int, iters: int = 50) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = min(k, len(X))
    C = X[rng.choice(len(X), k, replace=False)]
    labels = np.zeros(len(X), int)
    for _ in range(iters):
        new = np.argmax(X @ C.T, axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for c in range(k):
            m = labels == c
            if m.any():
                v = X[m].mean(0)
                C[c] = v / (np.linalg.norm(v) + 1e-9)
    return labels


def drop_missing(task: TaskData, X: np.ndarray):
    """Rows whose features are NaN (unreadable images) are left out of training."""
    ok = np.isfinite(X).all(axis=1)
    return X[ok], task.targets[ok], task.means[ok], int((~ok).sum())
