"""``probe-prior``: the per-person ridge probe with a taste prior learned from the fold's training raters.

Per fold the prior (``piaa.personalize.prior_probe.TastePrior``) is fitted on the generic task's ratings — the
training raters' deviations from the crowd on training images only — and shared by every method asking for the
same settings. Per person it is the ``probe`` baseline (same generic model as offset, same features) with the
population part of the prior mixed in. Options: backbone, variant, mix, alpha (each training rater's relative
ridge strength), rank, generic_backbone (features of the offset's generic model; default: backbone).
"""
from __future__ import annotations

import numpy as np

from piaa.evaluation.methods.base import FoldData, Method
from piaa.evaluation.methods.baselines import DEFAULT_BACKBONE, DEFAULT_VARIANT, shared_generic_model
from piaa.evaluation.methods.registry import register_method
from piaa.errors import InputError

_OPTIONS = ("backbone", "variant", "mix", "alpha", "rank", "generic_backbone")


def shared_taste_prior(fold: FoldData, backbone: str, variant: str, alpha: float, rank):
    """The fold's taste prior from the generic task's raters (training images only), built once per fold."""
    def build():
        from piaa.personalize.prior_probe import TastePrior

        task = fold.task(fold.generic_task)
        images = task.dataset.image_ids
        X = np.asarray(fold.features.get(task.image_paths(images), backbone=backbone, variant=variant))
        ok = np.isfinite(X).all(axis=1)
        row = {im: i for i, im in enumerate(im for im, k in zip(images, ok) if k)}
        r = task.dataset.ratings
        r = r[r["image"].isin(row)].assign(image=lambda d: d["image"].map(row))
        return TastePrior.fit(X[ok], r, alpha=alpha, rank=rank,
                              meta={"fold": fold.fold, "task": task.name, "backbone": backbone, "variant": variant})

    return fold.shared_get(f"taste-prior:{backbone}:{variant}:{alpha}:{rank}", build)


@register_method
class PriorProbeMethod(Method):
    name = "probe-prior"
    description = "ridge probe on the generic residual with a taste prior learned from the training raters"

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        from piaa.personalize.prior_probe import DEFAULT_MIX, DEFAULT_RATER_ALPHA

        unknown = sorted(set(self.options) - set(_OPTIONS))
        if unknown:
            raise InputError(f"probe-prior: unknown option(s) {unknown}; allowed: {list(_OPTIONS)}")
        self.backbone = self.options.get("backbone", DEFAULT_BACKBONE)
        self.variant = self.options.get("variant", DEFAULT_VARIANT)
        self.mix = float(self.options.get("mix", DEFAULT_MIX))
        # generic_backbone: the offset's model on other features than the probe's (profiles --accurate: the
        # Lite0+Lite2 generic model under a Lite0 probe and prior)
        self.model = shared_generic_model(fold, self.options.get("generic_backbone", self.backbone), self.variant)
        self.prior = shared_taste_prior(fold, self.backbone, self.variant,
                                        float(self.options.get("alpha", DEFAULT_RATER_ALPHA)), self.options.get("rank"))

    def personalize(self, support, support_scores, query) -> np.ndarray:
        from piaa.personalize.prior_probe import PriorProbePersonalizer

        feats = self.fold.features.get(list(support) + list(query), backbone=self.backbone, variant=self.variant)
        est = PriorProbePersonalizer(prior=self.prior, mix=self.mix, backbone=self.backbone, variant=self.variant)
        est.fit(feats[:len(support)], support_scores, offset=self.model.scores(support))
        return est.predict(feats[len(support):], offset=self.model.scores(query))
