"""PA_IAA and its ablations as evaluation methods (docs/design.md §1A, §3).

- ``pa-iaa``: multi-task network (aesthetics distribution + 5 trait head) trained per fold on the generic task's
  distributions and the trait targets of the tasks with a users table; per person ``s_b = s_a + w_b·p + b``.
- ``pa-iaa-mlp``: same network, the authors'-code fusion (``w`` predicted per image by a small MLP).
- ``pa-iaa-zero``: the same network's generic score ``s_a`` alone (zero-shot): isolates what the fusion adds.
- ``mt-iaa``: the ablation — the trait head replaced by a second aesthetics task (``second_task`` option, default
  ``valence``), fusion over that head's distribution.
- ``pa-iaa-probe``: PA_IAA's fusion, then the per-person ridge probe (as the ``probe`` baseline) fitted to what the
  fusion still gets wrong: does the trait fusion add anything to the probe?
- ``pa-iaa-trait-oracle`` (reference, not a method): the same fusion, but the trait head's prediction ``p`` is
  replaced by the *true* liker profile of each image, computed from the other test people's ratings and traits
  (the person evaluated left out). It is the ceiling of the trait route: what PA_IAA would reach with a perfect
  trait head, so a gap between it and ``pa-iaa`` is the trait head's, not the fusion's.

Options (``[methods.<name>]``; every one optional):
  backbone, variant ("multilevel" | "pooled"), split (int: also fine-tune backbone layers ``split..end`` on cached
  trunk activations), hidden ([1024, 512]), epochs, lr_heads, lr_backbone, batch_size, gamma, momentum,
  weight_decay, lr_decay, seed — training; traits ("auto" = five chosen per fold by split-half reliability on
  the fold's training ratings, or a list), trait_tasks (list of task names; default: the generic task if it has
  users, else the first task with users), trait_weighting ("residual" (default) | "centered" | "zscore", see ``traits.py``),
  second_task (mt-iaa) — data; solver ("ridge" | "sgd"), alpha ("loo" or
  a number), bias, lr, steps (sgd), mlp_hidden, mlp_steps, mlp_lr, mlp_weight_decay — fusion.

The network is trained once per fold and shared (``fold.shared_get``) by every method with the same training
options, and run once over the fold's training and test images; personalizing a person is then a closed-form
fit on cached outputs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import ClassVar, Dict, Sequence

import numpy as np
import pandas as pd

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.evaluation.methods.base import FoldData, Method
from piaa.evaluation.methods.registry import register_method
from piaa.personalize.pa_iaa import PAIAAPersonalizer
from piaa.errors import InputError

_TRAIN_KEYS = ("epochs", "lr_heads", "lr_backbone", "batch_size", "gamma", "momentum", "weight_decay", "lr_decay",
               "seed")
_NET_KEYS = ("backbone", "variant", "split", "hidden", "traits", "trait_tasks", "trait_weighting",
             "second_task") + _TRAIN_KEYS
# fusion options = PAIAAPersonalizer's parameters, except what the method supplies (network, fusion, seed, cache),
# the profile-level scale settings, and ``momentum``, spelled ``momentum_fusion`` here (``momentum`` is training's)
_SUPPLIED = ("network", "fusion", "seed", "cache", "momentum", "generic_scale", "score_range")
_FUSION_KEYS = tuple(k for k in PAIAAPersonalizer.param_names() if k not in _SUPPLIED) + ("momentum_fusion",)


def _combine_trait_tasks(tasks):
    """One dataset from several trait tasks (e.g. rater populations of the same study): ratings de-duplicated
    on (user, image), users tables merged."""
    first = tasks[0]
    if len(tasks) == 1:
        return first.dataset, first.users if first.users is not None else first.dataset.users, first.images_root
    roots = {str(t.images_root) for t in tasks}
    if len(roots) > 1:
        raise InputError(f"trait tasks must share one images root, got {sorted(roots)}")
    r = pd.concat([t.dataset.ratings[["user", "image", "score"]] for t in tasks]).drop_duplicates(["user", "image"])
    users = pd.concat([t.users if t.users is not None else t.dataset.users for t in tasks])
    users = users[~users.index.duplicated()]
    return replace(first.dataset, ratings=r.reset_index(drop=True), users=users), users, first.images_root


class _PAIAABase(Method):
    second_kind: ClassVar[str] = "traits"
    fusion: ClassVar[str] = "linear"

    # ---- fold preparation -------------------------------------------------------------------------------------
    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        unknown = sorted(set(self.options) - set(_NET_KEYS) - set(_FUSION_KEYS))
        if unknown:
            raise InputError(f"{self.name}: unknown option(s) {unknown}; allowed: {sorted(_NET_KEYS + _FUSION_KEYS)}")
        net_opts = {k: self.options[k] for k in _NET_KEYS if k in self.options}
        if self.second_kind == "traits":
            net_opts.pop("second_task", None)
        else:
            net_opts.setdefault("second_task", "valence")
            for k in ("traits", "trait_tasks", "trait_weighting"):
                net_opts.pop(k, None)
        key = f"pa-iaa-net:{self.second_kind}:" + hashlib.sha256(
            json.dumps(net_opts, sort_keys=True, default=str).encode()).hexdigest()[:12]
        self.net = fold.shared_get(key, lambda: self._train(fold, net_opts))
        self.aes_scale = fold.task(fold.generic_task).scale
        self._outputs: Dict[str, Dict[str, np.ndarray]] = fold.shared_get(key + ":outputs", dict)
        if fold.test_images:
            self._lookup(fold.test_images)

    def _train(self, fold: FoldData, opts: dict):
        from piaa.models.pa_iaa.build import aesthetics_task, build_network, split_inputs, traits_task
        from piaa.models.pa_iaa.traits import DEFAULT_WEIGHTING
        from piaa.models.pa_iaa.train import CACHED_HEADS_CONFIG

        aes = fold.task(fold.generic_task)
        if self.second_kind == "traits":
            ds, users, root = self._trait_source(fold, opts)
            second = traits_task(ds, root, users=users, traits=opts.get("traits", "auto"), seed=fold.seed,
                                 weighting=opts.get("trait_weighting", DEFAULT_WEIGHTING))
        else:
            t = fold.task(opts["second_task"])
            second = aesthetics_task(t.dataset, t.images_root, name=t.name)
        backbone = opts.get("backbone", DEFAULT_BACKBONE)
        variant = opts.get("variant", DEFAULT_VARIANT)
        split = opts.get("split")
        cfg_over = {k: opts[k] for k in _TRAIN_KEYS if k in opts}
        cfg = replace(CACHED_HEADS_CONFIG, seed=fold.seed, **cfg_over)
        if split is None:
            def inputs(paths):
                return fold.features.get(list(paths), backbone=backbone, variant=variant)
        else:
            def inputs(paths):
                return split_inputs(list(paths), lambda p, v: fold.features.get(list(p), backbone=backbone, variant=v),
                                    backbone, variant, int(split))
        self._inputs = inputs
        net = build_network(aes.dataset, aes.images_root, second, inputs, backbone=backbone, variant=variant,
                            split=split, hidden=opts.get("hidden", (1024, 512)), config=cfg,
                            info={"fold": fold.fold, "generic_task": aes.name})
        net._inputs = inputs
        return net

    def _trait_source(self, fold: FoldData, opts: dict):
        """(ratings dataset, users table, images root) the trait targets are built from: the ``trait_tasks``, or
        the generic task when it has a users table, else the first task that has one."""
        names = opts.get("trait_tasks")
        if names:
            tasks = [fold.task(n) for n in names]
        else:
            aes = fold.task(fold.generic_task)
            with_users = [t for t in fold.tasks if t.users is not None or t.dataset.users is not None]
            if not with_users:
                raise InputError(f"{self.name}: no task of fold {fold.fold} has a users table; give a task "
                                 f"`users = ...` (per-person traits) for the trait head")
            tasks = [aes] if aes in with_users else [with_users[0]]
        return _combine_trait_tasks(tasks)

    # ---- per-image outputs, computed once ---------------------------------------------------------------------
    def _lookup(self, paths: Sequence[Path]) -> Dict[str, np.ndarray]:
        keys = [str(p) for p in paths]
        todo = [k for k in dict.fromkeys(keys) if k not in self._outputs]
        if todo:
            rows = np.asarray(self.net._inputs([Path(k) for k in todo]), dtype=np.float32).reshape(len(todo), -1)
            out = self.net.predict_arrays(rows)
            for i, k in enumerate(todo):
                self._outputs[k] = {n: v[i] for n, v in out.items()}
        res = {n: np.stack([self._outputs[k][n] for k in keys]) for n in ("score", "second", "hidden")}
        sc, ts = self.aes_scale, self.fold.test_scale  # generic score onto the test scale
        res["score"] = ts.min + (res["score"] - sc.min) / (sc.max - sc.min) * (ts.max - ts.min)
        return res

    # ---- personalization --------------------------------------------------------------------------------------
    def _estimator(self):
        o = self.options
        kw = {k: o[k] for k in _FUSION_KEYS if k in o and k != "momentum_fusion"}
        if "momentum_fusion" in o:
            kw["momentum"] = o["momentum_fusion"]
        return PAIAAPersonalizer(network=self.net, fusion=self.fusion, seed=self.fold.seed, **kw)

    def personalize(self, support, support_scores, query) -> np.ndarray:
        est = self._estimator().fit(self._lookup(support), np.asarray(support_scores, dtype=float))
        return est.predict(self._lookup(query))

    def predict_generic(self, query) -> np.ndarray:
        return self._lookup(query)["score"]


@register_method
class PAIAAMethod(_PAIAABase):
    name = "pa-iaa"
    description = "PA_IAA: aesthetics + trait multi-task network, per-person fusion s_a + w·traits (+ bias)"


@register_method
class PAIAAMLPMethod(_PAIAABase):
    name = "pa-iaa-mlp"
    fusion = "mlp"
    description = "PA_IAA with the authors'-code fusion: per-image w from a small MLP on the head's descriptor"


@register_method
class PAIAAZeroShotMethod(_PAIAABase):
    name = "pa-iaa-zero"
    zero_shot = True
    description = "the PA_IAA network's own generic score s_a (zero-shot), to isolate what the fusion adds"


@register_method
class MTIAAMethod(_PAIAABase):
    name = "mt-iaa"
    second_kind = "aesthetics"
    description = "MT_IAA ablation: trait head replaced by a second aesthetics task (second_task, default valence)"


@register_method
class PAIAAProbeMethod(_PAIAABase):
    """``s = s_a + w_b·p + b`` first, then ridge on image features fitted to the residual of that (the probe of
    ``baselines.ProbeMethod`` with the fusion in place of the generic score as its offset). The probe's alpha is
    chosen by leave-one-out on the support, as always; features and their standardization are the probe's."""

    name = "pa-iaa-probe"
    description = "PA_IAA fusion, then the per-person ridge probe on its residual (do the traits add to the probe?)"

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        from piaa.evaluation.methods.baselines import shared_feature_stats

        self.backbone = self.options.get("backbone", DEFAULT_BACKBONE)
        self.variant = self.options.get("variant", DEFAULT_VARIANT)
        self.stats = shared_feature_stats(fold, self.backbone, self.variant)

    def personalize(self, support, support_scores, query) -> np.ndarray:
        from piaa.personalize.probe import ProbePersonalizer

        y = np.asarray(support_scores, dtype=float)
        sub, qry = self._lookup(support), self._lookup(query)
        fusion = self._estimator().fit(sub, y)
        feats = self.fold.features.get(list(support) + list(query), backbone=self.backbone, variant=self.variant)
        probe = ProbePersonalizer(feature_mean=self.stats[0], feature_scale=self.stats[1], backbone=self.backbone,
                                  variant=self.variant)
        probe.fit(feats[:len(support)], y, offset=fusion.predict(sub))
        return probe.predict(feats[len(support):], offset=fusion.predict(qry))


@register_method
class PAIAATraitOracle(_PAIAABase):
    """Reference: PA_IAA's fusion fed with the true liker profiles of the test images instead of the trait head's
    predictions. Profiles are defined as the training targets are (``traits.trait_targets``), over the fold's test
    people instead of the training raters: their centered ratings, their traits standardized over themselves (a
    chance difference between the two groups' mean trait would otherwise add ``δ × popularity`` to every
    profile), read in the head's units; the person evaluated is left out."""

    name = "pa-iaa-trait-oracle"
    reference = True
    description = ("reference: PA_IAA fusion on the true liker profiles of the test images (other test people's "
                   "ratings and traits) instead of the trait head: the ceiling of the trait route")

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        second = self.net.info.get("second") or {}
        self.traits = list(second.get("traits") or self.net.second_names)
        self.unit = np.asarray(second.get("scale", np.ones(len(self.traits))), dtype=float)
        self.weighting = second.get("weighting", "centered")
        self._sums_for = None

    def _sums(self, ctx):
        """Per image (path): Σ w·z and Σ |w| over every test rating (``traits.liker_sums``)."""
        from piaa.models.pa_iaa.traits import centered_ratings, encode_traits, liker_sums, standardize_known

        if ctx.users is None:
            raise InputError("pa-iaa-trait-oracle needs the test people's traits: give [test] users = \"...\"")
        r = ctx.ratings[["user", "path", "score"]].rename(columns={"path": "image"})
        self._weighted = centered_ratings(r, self.weighting)
        enc = encode_traits(ctx.users, self.traits)
        self._z = standardize_known(enc, sorted(set(self._weighted["user"]) & set(enc.index)))
        self._num, self._den = liker_sums(self._weighted, self._z)
        self._sums_for = ctx.ratings

    def _profiles(self, paths) -> np.ndarray:
        from piaa.models.pa_iaa.traits import liker_sums

        ctx = self.reference_context
        if ctx is None:
            raise RuntimeError("pa-iaa-trait-oracle needs the test ratings: the runner sets reference_context")
        if self._sums_for is not ctx.ratings:
            self._sums(ctx)
        keys = [str(p) for p in paths]
        num = self._num.reindex(keys).fillna(0.0).to_numpy()
        den = self._den.reindex(keys).fillna(0.0).to_numpy()
        mine = self._weighted[self._weighted["user"] == str(ctx.user)]
        if len(mine):  # leave the person evaluated out
            own_num, own_den = liker_sums(mine, self._z)
            num = num - own_num.reindex(keys).fillna(0.0).to_numpy()
            den = den - own_den.reindex(keys).fillna(0.0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            prof = np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), 0.0)
        return prof / self.unit

    def personalize(self, support, support_scores, query) -> np.ndarray:
        sub, qry = dict(self._lookup(support)), dict(self._lookup(query))
        sub["second"], qry["second"] = self._profiles(support), self._profiles(query)
        est = self._estimator().fit(sub, np.asarray(support_scores, dtype=float))
        return est.predict(qry)
