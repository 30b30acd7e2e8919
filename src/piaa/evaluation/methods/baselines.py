"""The baselines every personalization method is reported next to (docs/design.md §3.4).

- ``generic``: the zero-shot generic model — a :class:`piaa.models.giaa.GenericHead` trained on the fold's
  generic task (score distributions of the task's images; for a task of published per-image means, soft
  two-bucket distributions of the means). It is built once per fold and shared through
  ``fold.shared_get("generic:<backbone>:<variant>", ...)`` so every method reuses the same model.
- ``probe``: per person, ridge on image features fitted to the residual of the generic score
  (:class:`piaa.personalize.probe.ProbePersonalizer`, alpha by leave-one-out on the support only).
- ``crowd-oracle`` (reference, not a method): the mean of the *other* test people's ratings of the same image.
  It reads the test ratings through ``method.reference_context``, which the runner sets for reference methods
  only.

Generic scores are mapped linearly from the generic task's scale onto the test scale, so a model trained on a
1–7 scale predicts on the test's 1–5 scale (SROCC does not care; the probe's residuals do).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.data.ratings import Scale
from piaa.evaluation.methods.base import FoldData, Method, TaskSource
from piaa.evaluation.methods.registry import register_method
from piaa.errors import InputError, InsufficientDataError



def soft_distributions(means: np.ndarray, scale: Scale) -> np.ndarray:
    """One score per image -> a distribution over the scale's buckets whose mean is that score."""
    return scale.soft_onehot(means)


def task_distributions(task: TaskSource, images: Sequence[str]) -> np.ndarray:
    """Training targets of a task: per-image score distributions (soft one-hot of the mean for per-image tasks)."""
    from piaa.models.giaa import distributions_from_ratings

    ds = task.dataset
    if task.per_image or ds.ratings.groupby("image").size().max() == 1:
        means = ds.image_means().reindex(list(images)).to_numpy()
        return soft_distributions(means, ds.scale)
    return distributions_from_ratings(ds, images)


def rescale(scores: np.ndarray, src: Scale, dst: Scale) -> np.ndarray:
    return dst.min + (np.asarray(scores, dtype=float) - src.min) / (src.max - src.min) * (dst.max - dst.min)


class GenericModel:
    """A fitted generic head plus scores on the test scale, memoized per image."""

    def __init__(self, head, task: TaskSource, test_scale: Scale, features, backbone: str, variant: str,
                 n_train: int):
        self.head = head
        self.task = task
        self.task_scale = task.scale
        self.test_scale = test_scale
        self.features = features
        self.backbone = backbone
        self.variant = variant
        self.n_train = n_train
        self._memo: Dict[str, float] = {}

    def predict_features(self, X: np.ndarray) -> np.ndarray:
        """Generic scores on the *task* scale for a feature array (NaN rows give NaN)."""
        X = np.asarray(X, dtype=np.float32)
        out = np.full(len(X), np.nan)
        ok = np.isfinite(X).all(axis=1)
        if ok.any():
            pred = np.asarray(self.head.predict(X[ok]), dtype=float)
            if pred.ndim == 2:  # a distribution per image
                pred = pred @ self.task_scale.values
            out[ok] = pred
        return out

    def scores(self, paths: Sequence[Path]) -> np.ndarray:
        """Generic scores on the test scale."""
        keys = [str(p) for p in paths]
        todo = [k for k in dict.fromkeys(keys) if k not in self._memo]
        if todo:
            X = self.features.get([Path(k) for k in todo], backbone=self.backbone, variant=self.variant)
            for k, v in zip(todo, rescale(self.predict_features(X), self.task_scale, self.test_scale)):
                self._memo[k] = float(v)
        return np.array([self._memo[k] for k in keys], dtype=float)


def _head_key(backbone: str, variant: str, head_options: dict) -> str:
    key = f"generic:{backbone}:{variant}"
    if head_options:
        key += ":" + hashlib.sha256(json.dumps(head_options, sort_keys=True).encode()).hexdigest()[:10]
    return key


def shared_generic_model(fold: FoldData, backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT,
                         head_options: Optional[dict] = None) -> GenericModel:
    """The fold's generic model, trained once and shared by every method that asks for it."""
    head_options = dict(head_options or {})
    return fold.shared_get(_head_key(backbone, variant, head_options),
                           lambda: train_generic_model(fold, backbone, variant, head_options))


def train_generic_model(fold: FoldData, backbone: str, variant: str, head_options: dict) -> GenericModel:
    from piaa.models.giaa import GenericHead

    task = fold.task(fold.generic_task)
    images = task.dataset.image_ids
    X = fold.features.get(task.image_paths(images), backbone=backbone, variant=variant)
    ok = np.isfinite(X).all(axis=1)
    if ok.sum() < 10:
        raise InsufficientDataError(f"generic task {task.name!r}: only {int(ok.sum())} images with features in fold "
                           f"{fold.fold}; the generic model needs more")
    X = np.asarray(X[ok], dtype=np.float32)
    D = task_distributions(task, [i for i, k in zip(images, ok) if k])
    opts = {"seed": fold.seed, **head_options}
    head = GenericHead(task.scale, **opts).fit(X, D)
    return GenericModel(head, task, fold.test_scale, fold.features, backbone, variant, n_train=int(ok.sum()))


def shared_feature_stats(fold: FoldData, backbone: str, variant: str):
    """(mean, std) per feature dimension over the generic task's images of this fold (training data only),
    for standardizing features without looking at test images."""
    def build():
        task = fold.task(fold.generic_task)
        X = fold.features.get(task.image_paths(), backbone=backbone, variant=variant)
        X = np.asarray(X[np.isfinite(X).all(axis=1)], dtype=np.float64)
        if len(X) < 2:
            raise InsufficientDataError(f"generic task {task.name!r} has fewer than 2 images with features")
        std = X.std(axis=0)
        return X.mean(axis=0), np.where(std > 1e-8, std, 1.0)

    return fold.shared_get(f"feature-stats:{backbone}:{variant}", build)


def _split_options(options: dict, own: Sequence[str]):
    """(this method's options, options passed on to GenericHead under ``head``)."""
    head = dict(options.get("head", {}))
    unknown = sorted(set(options) - set(own) - {"head", "backbone", "variant"})
    if unknown:
        raise InputError(f"unknown option(s) {unknown}; allowed: {sorted(set(own) | {'head', 'backbone', 'variant'})}"
                         f" (GenericHead options go in a [methods.<name>.head] table)")
    return head


@register_method
class GenericMethod(Method):
    name = "generic"
    zero_shot = True
    description = "generic zero-shot model (GenericHead on backbone features of the generic task)"

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        head = _split_options(self.options, ())
        self.model = shared_generic_model(fold, self.options.get("backbone", DEFAULT_BACKBONE),
                                          self.options.get("variant", DEFAULT_VARIANT), head)

    def predict_generic(self, query: Sequence[Path]) -> np.ndarray:
        return self.model.scores(query)


@register_method
class ProbeMethod(Method):
    name = "probe"
    description = "per-person ridge on features fitted to the residual of the generic score (alpha by LOO)"

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        head = _split_options(self.options, ("alphas", "residual", "standardize"))
        self.backbone = self.options.get("backbone", DEFAULT_BACKBONE)
        self.variant = self.options.get("variant", DEFAULT_VARIANT)
        self.residual = bool(self.options.get("residual", True))
        self.standardize = self.options.get("standardize", "train")
        if self.standardize not in ("train", "support"):
            raise InputError("probe: standardize must be 'train' (generic task's features) or 'support'")
        self.model = shared_generic_model(fold, self.backbone, self.variant, head) if self.residual else None
        self.stats = shared_feature_stats(fold, self.backbone, self.variant) if self.standardize == "train" else None

    def personalize(self, support, support_scores, query) -> np.ndarray:
        from piaa.personalize.probe import DEFAULT_ALPHA_GRID, ProbePersonalizer

        feats = self.fold.features.get(list(support) + list(query), backbone=self.backbone, variant=self.variant)
        Xs, Xq = feats[:len(support)], feats[len(support):]
        off_s = self.model.scores(support) if self.residual else None
        off_q = self.model.scores(query) if self.residual else None
        stats = {"feature_mean": self.stats[0], "feature_scale": self.stats[1]} if self.stats else {}
        est = ProbePersonalizer(alphas=self.options.get("alphas", DEFAULT_ALPHA_GRID), backbone=self.backbone,
                                variant=self.variant, **stats)
        est.fit(Xs, support_scores, offset=off_s)
        return est.predict(Xq, offset=off_q)


@register_method
class CrowdOracle(Method):
    name = "crowd-oracle"
    zero_shot = True
    reference = True
    description = "reference: mean of the other test people's ratings of the same image"

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        if self.options:
            raise InputError(f"crowd-oracle takes no options, got {sorted(self.options)}")
        self._stats_for = None

    def predict_generic(self, query: Sequence[Path]) -> np.ndarray:
        ctx = self.reference_context
        if ctx is None:
            raise RuntimeError("crowd-oracle needs the test ratings: the runner sets method.reference_context")
        r = ctx.ratings
        if self._stats_for is not r:
            g = r.groupby("path")["score"]
            self._sum, self._cnt = g.sum(), g.size()
            self._stats_for = r
        keys = pd.Index([str(p) for p in query])
        own = r[r["user"] == ctx.user].groupby("path")["score"].mean().reindex(keys)
        s = self._sum.reindex(keys).to_numpy(dtype=float)
        c = self._cnt.reindex(keys).to_numpy(dtype=float)
        has_own = own.notna().to_numpy()
        s = np.where(has_own, s - own.fillna(0).to_numpy(), s)
        c = np.where(has_own, c - 1, c)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)
