"""``METHOD@active`` in the evaluation runner: supports chosen by the active selector instead of at random.

For every (person, trial) the runner holds out the query first (``[test] query_fraction`` of the person's rated
images, the same draw for METHOD and METHOD@active), and the rest is the person's *pool*. METHOD draws its support
of size k at random from the pool; METHOD@active asks :mod:`piaa.personalize.active` for it batch by batch: the
selector sees the features of the pool and the ratings of the photos it has asked for, never the others', and
never anything of the query. The support of size k is the first k photos asked, so supports are nested across k.

The selector's prior and generic scores come from the fold's training data only: the taste prior fitted on the
generic task's raters (``shared_taste_prior``, as probe-prior uses it) and the fold's generic model.
Options (``[methods."METHOD@active"]``): ``strategy``, ``batch`` (photos asked per round, default 5), ``backbone``,
``variant``, ``alpha``/``rank`` (the prior's), and the selector settings (``noise``, ``density``, ``start``,
``rank_embedding``, ``generic_var``). METHOD's own options stay in ``[methods.METHOD]``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

import numpy as np

from piaa.evaluation.methods.base import FoldData
from piaa.errors import InputError

SUFFIX = "@active"
DEFAULT_BATCH = 5
_OWN = ("strategy", "batch", "backbone", "variant", "alpha", "rank", "rank_embedding")


def split_name(name: str):
    """("probe-prior", True) for "probe-prior@active"; (name, False) otherwise."""
    if name.endswith(SUFFIX) and len(name) > len(SUFFIX):
        return name[: -len(SUFFIX)], True
    return name, False


class ActiveSupport:
    """Chooses supports for one fold (built once per fold and method)."""

    def __init__(self, fold: FoldData, options: Dict):
        from piaa.evaluation.methods.baselines import DEFAULT_BACKBONE, DEFAULT_VARIANT, shared_generic_model
        from piaa.evaluation.methods.prior_probe import shared_taste_prior
        from piaa.personalize.active import DEFAULT_SETTINGS, DEFAULT_STRATEGY, STRATEGIES
        from piaa.personalize.prior_probe import DEFAULT_RATER_ALPHA

        opts = dict(options)
        allowed = set(_OWN) | (set(DEFAULT_SETTINGS) - {"rank"})
        unknown = sorted(set(opts) - allowed)
        if unknown:
            raise InputError(f"@active: unknown option(s) {unknown}; allowed: {sorted(allowed)}")
        self.strategy = str(opts.pop("strategy", DEFAULT_STRATEGY))
        if self.strategy not in STRATEGIES:
            raise InputError(f"@active: unknown strategy {self.strategy!r}; strategies: {', '.join(STRATEGIES)}")
        self.batch = int(opts.pop("batch", DEFAULT_BATCH))
        if self.batch < 1:
            raise InputError(f"@active: batch must be >= 1, got {self.batch}")
        self.backbone = opts.pop("backbone", DEFAULT_BACKBONE)
        self.variant = opts.pop("variant", DEFAULT_VARIANT)
        alpha = float(opts.pop("alpha", DEFAULT_RATER_ALPHA))
        rank = opts.pop("rank", None)
        if "rank_embedding" in opts:
            opts["rank"] = int(opts.pop("rank_embedding"))
        self.settings = opts
        self.fold = fold
        self.prior = shared_taste_prior(fold, self.backbone, self.variant, alpha, rank)
        self.generic = shared_generic_model(fold, self.backbone, self.variant)

    def order(self, pool: Sequence[Path], scores: np.ndarray, k: int, seed: int) -> np.ndarray:
        """Indices into ``pool`` of the first ``k`` photos asked, in order; ``scores`` are revealed to the
        selector only for the photos it asked for (piaa.personalize.active.sequential_order)."""
        from piaa.personalize.active import ActiveSelector, sequential_order

        X = self.fold.features.get(list(pool), backbone=self.backbone, variant=self.variant)
        sel = ActiveSelector(X, self.prior, self.generic.scores(pool), strategy=self.strategy, seed=seed,
                             **self.settings)
        order = sequential_order(sel, scores, k, self.batch)
        if len(order) < k:  # photos without features: fill at random so the method still gets k ratings
            rest = np.setdiff1d(np.arange(len(pool)), order)
            fill = np.random.default_rng(seed).choice(rest, size=k - len(order), replace=False)
            order = np.concatenate([order, fill])
        return order
