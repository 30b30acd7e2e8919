"""Task-vector customization and the paper's ablations as evaluation methods (docs/design.md §1B/§1C).

Method defaults are the personalizer's (chosen on training-fold-only validation); ``tv-paper`` is the paper's
recipe and the ablations change one thing each relative to ``task-vectors``.

``prepare(fold)`` builds one task bank per fold from ``fold.tasks`` (every TaskSource is a task; images of the
test fold never enter them) -- or loads it from ``fold.workdir`` when a bank with the same task data and
options was built before -- and shares it through ``fold.shared`` with every other tv method of the fold.
For the head-only split it then projects every test image of the fold through fc1 of θ_pre and of every τ_k
once, so a person-trial only gathers rows and runs the small λ optimization.

Options (``[methods.<name>]``): bank options ``backbone, split, pool, hidden, head_steps, head_lr,
head_weight_decay, top_epochs, top_lr, tau_dtype, taste_groups`` and personalizer options ``steps, lr, T, reg,
weight_decay, bt_scale, init, loss, layer_agnostic, prior_strength, steps_per_image`` (Best-fit FT: ``steps, lr,
weight_decay, loss``).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from piaa.backbones.hf import is_hf_spec
from piaa.evaluation.methods.base import FoldData, Method
from piaa.evaluation.methods.registry import register_method
from piaa.models.task_vectors.bank import TaskBank
from piaa.models.task_vectors.spec import TaskModelSpec, template_for
from piaa.models.task_vectors.train import TrainConfig
from piaa.personalize.task_vectors import BestFitFT, TaskVectorPersonalizer
from piaa.errors import InputError, InsufficientDataError

SPEC_KEYS = ("backbone", "split", "pool", "hidden", "seed", "components")
TRAIN_KEYS = ("head_steps", "head_lr", "head_weight_decay", "top_epochs", "top_lr", "top_batch_size", "anchor_task",
              "head_epochs", "head_batch_size", "dropout", "head_loss", "task_epochs", "task_lr")
BANK_KEYS = SPEC_KEYS + TRAIN_KEYS + ("tau_dtype", "taste_groups", "tasks")
# The bank of every task-vector method except tv-paper (chosen on validation people, docs/task_vectors.md): a
# head-only bank on multilevel features through the generic head's projection (256 principal directions), the
# generic task trained first with the generic head's recipe (θ_pre, "anchor_task": "generic" = the experiment's
# generic task) and every task fine-tuned from it.
STRONG_BANK = {"split": -1, "pool": "multilevel", "components": 256, "hidden": 256, "head_epochs": 30,
               "head_lr": 1e-3, "head_weight_decay": 1e-4, "dropout": 0.5, "anchor_task": "generic"}
# the paper's bank (tv-paper): pooled last layer, random shared head init, 50 full-batch steps per task
PAPER_BANK = {"split": -1, "pool": "last", "hidden": 64}
# personalizer options an experiment may set: the estimators' own parameters, except what the method supplies
_SUPPLIED = ("bank", "scale", "cache")
TV_KEYS = tuple(k for k in TaskVectorPersonalizer.param_names() if k not in _SUPPLIED)
FT_KEYS = tuple(k for k in BestFitFT.param_names() if k not in _SUPPLIED)


def _split_bank_options(options: dict):
    spec_kw = {k: options[k] for k in SPEC_KEYS if k in options}
    train_kw = {k: options[k] for k in TRAIN_KEYS if k in options}
    return TaskModelSpec(**spec_kw), TrainConfig(**train_kw), str(options.get("tau_dtype", "float16")), \
        int(options.get("taste_groups", 0))


def _task_data(fold: FoldData, spec: TaskModelSpec, taste_groups: int):
    from piaa.models.task_vectors.tasks import task_from_source, taste_group_tasks

    tasks = [task_from_source(src) for src in fold.tasks]
    if taste_groups:
        src = fold.task(fold.generic_task)
        feats = fold.features.get(src.image_paths(), backbone=spec.backbone, variant="pooled")
        tasks += taste_group_tasks(src, taste_groups, feats, seed=fold.seed)
    return tasks


def prior_ratings(src):
    """Per-person ratings (user, path, score) of a task's raters: where each task's population prior comes from
    (training raters only: the fold's tasks never hold test images)."""
    r = src.dataset.ratings
    return r.assign(path=[str(p) for p in src.image_paths(r["image"].tolist())])[["user", "path", "score"]]


def _fingerprint(tasks, spec, cfg, tau_dtype) -> str:
    parts = {"spec": spec.to_json(), "train": cfg.to_json(), "tau": tau_dtype}
    hf = [b for b in spec.backbones if is_hf_spec(b)]
    if hf:  # a folder's weights can change under the same name: its files' digest is in the cfg
        from piaa.backbones import get_pretrained_cfg

        parts["weights"] = [get_pretrained_cfg(b).fingerprint() for b in hf]
    h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
    for t in tasks:
        h.update(json.dumps(t.fingerprint_parts(), default=str).encode())
    return h.hexdigest()[:16]


def fold_bank(fold: FoldData, options: dict) -> TaskBank:
    """The fold's task bank: built once, shared by every tv method, cached on disk in ``fold.workdir``."""
    if options.get("anchor_task") == "generic":
        options = {**options, "anchor_task": fold.generic_task}
    options = {k: v for k, v in options.items() if k != "tasks"}
    spec, cfg, tau_dtype, taste_groups = _split_bank_options(options)
    tasks = _task_data(fold, spec, taste_groups)
    key = _fingerprint(tasks, spec, cfg, tau_dtype)

    def build():
        from piaa.models.task_vectors.build import build_bank
        from piaa.models.task_vectors.inputs import inputs_from_provider

        path = None if fold.workdir is None else Path(fold.workdir) / f"task_bank_{key}"
        if path is not None and (path / "bank.json").exists():
            try:
                return TaskBank.load(path)
            except (ValueError, OSError) as exc:
                print(f"warning: rebuilding task bank ({exc})", file=sys.stderr)
        bank = build_bank(spec, tasks, lambda paths: inputs_from_provider(spec, fold.features, paths), cfg,
                          tau_dtype=tau_dtype, extra={"fold": fold.fold, "data_key": key},
                          prior_ratings=prior_ratings(fold.task(fold.generic_task)))
        if path is not None:
            bank.save(path)
            bank = TaskBank.load(path)
        return bank

    return fold.shared_get(f"task-bank:{key}", build)


def _bank_options(overrides: dict, options: dict) -> dict:
    """The method's bank defaults under the experiment's options; a bank split inside the backbone (options
    ``split`` >= 0) drops the defaults that only a head-only bank can have (the input projection)."""
    merged = {**overrides, **options}
    if int(merged.get("split", -1)) != -1 and "components" not in options:
        merged.pop("components", None)
    return merged


class _BankMethod(Method):
    """Shared plumbing: the fold's bank, inputs memoized per image, head projections per fold."""

    own_keys: Sequence[str] = TV_KEYS
    bank_overrides: Dict[str, object] = STRONG_BANK

    def _check_options(self):
        unknown = sorted(set(self.options) - set(BANK_KEYS) - set(self.own_keys))
        if unknown:
            raise InputError(f"{self.name}: unknown option(s) {unknown}; bank options {list(BANK_KEYS)}, "
                             f"method options {list(self.own_keys)}")

    def prepare(self, fold: FoldData) -> None:
        from piaa.models.task_vectors.engine import HeadProjections, is_head_only

        self._check_options()
        self.fold = fold
        self.bank = fold_bank(fold, _bank_options(self.bank_overrides, self.options))
        if self.options.get("tasks"):
            # only these tasks of the fold's bank (number-of-tasks curves, ablations); the bank is built once
            names = list(self.options["tasks"])
            unknown = [n for n in names if n not in self.bank.task_names]
            if unknown:
                raise InputError(f"{self.name}: tasks {unknown} are not in the bank {self.bank.task_names}")
            full = self.bank
            self.bank = fold.shared_get(f"task-bank-subset:{full.fingerprint}:{','.join(names)}",
                                        lambda: full.subset([full.task_names.index(n) for n in names]))
        self.template = template_for(fold.test_scale.min, fold.test_scale.max)
        self._row: Dict[str, int] = {}
        self._X: List[np.ndarray] = []
        self._proj = None
        self.head_only = is_head_only(self.bank)
        if fold.test_images:
            self._inputs(fold.test_images)
        if self.head_only and self._row:
            key = f"task-bank-proj:{self.bank.fingerprint}"
            X = self._matrix()
            self._proj = fold.shared_get(key, lambda: (dict(self._row), HeadProjections(self.bank, X)))

    def _matrix(self) -> np.ndarray:
        return np.concatenate(self._X) if self._X else np.zeros((0, 0), np.float32)

    def _inputs(self, paths: Sequence[Path]) -> np.ndarray:
        from piaa.models.task_vectors.inputs import inputs_from_provider

        keys = [str(p) for p in paths]
        todo = [k for k in dict.fromkeys(keys) if k not in self._row]
        if todo:
            X = inputs_from_provider(self.bank.spec, self.fold.features, [Path(k) for k in todo])
            base = sum(len(a) for a in self._X)
            for i, k in enumerate(todo):
                self._row[k] = base + i
            self._X.append(X)
        M = self._matrix()
        return M[[self._row[k] for k in keys]]

    def _problem(self, paths: Sequence[Path]):
        """(λ-problem over the readable images among ``paths``, mask of those images); uses the fold's
        projections when every image is in them."""
        from piaa.models.task_vectors.engine import HeadOnlyProblem, make_problem

        keys = [str(p) for p in paths]
        if self._proj is not None:
            rows, proj = self._proj
            if all(k in rows for k in keys):
                idx = np.array([rows[k] for k in keys], dtype=int)
                ok = np.isfinite(proj.A0[idx]).all(axis=1)
                return HeadOnlyProblem(self.bank, None, self.template, proj=proj.take(idx[ok])), ok
        X = self._inputs(paths)
        ok = np.isfinite(X).all(axis=1)
        return make_problem(self.bank, X[ok], self.template), ok


class _TaskVectorMethod(_BankMethod):
    overrides: Dict[str, object] = {}

    def _personalizer(self):
        kw = dict(self.overrides)
        kw.update({k: v for k, v in self.options.items() if k in TV_KEYS})
        return TaskVectorPersonalizer(bank=self.bank, scale=(self.fold.test_scale.min, self.fold.test_scale.max), **kw)

    def _fit_support(self, support, support_scores):
        """(fitted λ personalizer, support problem, mask of the support images with features, scores)."""
        y = np.asarray(support_scores, np.float64)
        ps, ok_s = self._problem(support)
        if ok_s.sum() < 2:
            raise InsufficientDataError(f"{self.name}: fewer than 2 support images have features")
        return self._personalizer().fit_problem(ps, y[ok_s]), ps, ok_s, y

    def personalize(self, support, support_scores, query) -> np.ndarray:
        est, _, _, _ = self._fit_support(support, support_scores)
        pq, ok_q = self._problem(query)
        out = np.full(len(query), np.nan)
        out[ok_q] = pq.scores(est.coefficients())
        return out


def _tv_method(cls_name: str, name: str, description: str, overrides: dict, bank_overrides=None,
               base_bank=STRONG_BANK) -> type:
    """Register a task-vector method variant (the paper's ablations differ only in personalizer options)."""
    cls = type(cls_name, (_TaskVectorMethod,), {"name": name, "description": description, "overrides": overrides,
                                                "bank_overrides": {**base_bank, **(bank_overrides or {})}})
    return register_method(cls)


TaskVectors = _tv_method("TaskVectors", "task-vectors",
                         "task-vector customization (Yun & Choo, ECCV 2024): per-person λ over layer-wise task "
                         "vectors", {})
TVPaper = _tv_method("TVPaper", "tv-paper",
                     "task vectors with the paper's recipe: plain adaptive init, 500 AdamW steps, lr 1e-2",
                     {"steps": 500, "lr": 1e-2, "prior_strength": 0.0, "steps_per_image": None, "reg": 0.0},
                     base_bank=PAPER_BANK)
TVTasteGroups = _tv_method("TVTasteGroups", "tv-taste-groups",
                           "task vectors + 6 taste-group tasks (k-means of the generic task's raters by taste)",
                           {}, {"taste_groups": 6})
TVUniformInit = _tv_method("TVUniformInit", "tv-uniform-init", "task vectors, ablation: uniform λ init (T → ∞)",
                           {"init": "uniform"})
TVBestfitInit = _tv_method("TVBestfitInit", "tv-bestfit-init", "task vectors, ablation: best-fit λ init (T → 0)",
                           {"init": "bestfit"})
TVMSE = _tv_method("TVMSE", "tv-mse", "task vectors, ablation: MSE loss instead of Bradley–Terry", {"loss": "mse"})
TVLayerAgnostic = _tv_method("TVLayerAgnostic", "tv-layer-agnostic",
                             "task vectors, ablation: one λ per task for every layer", {"layer_agnostic": True})


@register_method
class BestFitFTMethod(_BankMethod):
    name = "bestfit-ft"
    description = "Best-fit FT: fine-tune the task model with the best zero-shot SROCC on the support images"
    own_keys = FT_KEYS

    def personalize(self, support, support_scores, query) -> np.ndarray:
        Xs = self._inputs(support)
        Xq = self._inputs(query)
        ok = np.isfinite(Xs).all(axis=1)
        ps, _ = self._problem(support)  # task models' scores from the fold's projections
        ts = np.full((self.bank.num_tasks, len(support)), np.nan)
        ts[:, ok] = ps.task_scores()
        kw = {k: v for k, v in self.options.items() if k in FT_KEYS}
        est = BestFitFT(bank=self.bank, scale=(self.fold.test_scale.min, self.fold.test_scale.max), **kw)
        return est.fit(Xs, support_scores, task_scores=ts).predict(Xq)


@register_method
class TVZeroShot(_BankMethod):
    """The bank's own generic task model (λ = one-hot of the fold's generic task), without personalization:
    separates what the task models themselves reach from what the per-person λ add."""

    name = "tv-zero"
    zero_shot = True
    description = "task-vector bank's generic task model, zero-shot (λ = one-hot of the generic task)"
    own_keys = ()

    def predict_generic(self, query) -> np.ndarray:
        k = self.bank.task_names.index(self.fold.generic_task)
        lam = np.zeros((len(self.bank.param_names), self.bank.num_tasks))
        lam[:, k] = 1.0
        pq, ok = self._problem(query)
        out = np.full(len(query), np.nan)
        out[ok] = pq.scores(lam)
        return out


PROBE_KEYS = ("variant", "mix", "alpha", "rank", "generic_backbone")


@register_method
class TVProbe(_TaskVectorMethod):
    """``tv-probe``: the shipped :class:`~piaa.personalize.tv_probe.TVProbePersonalizer`, fitted per person on
    the fold's data: the fold's task bank, the taste prior fitted to the fold's training raters and the fold's
    generic model as the offset. The method only supplies those and the cached inputs
    (``fit_problem``/``predict_problem``), so the benchmarked tv-probe is the one ``piaa profile`` fits.
    Options: every task-vector option (λ fit; tv-probe's gentler defaults lr 1e-3, reg 0 unless given), plus the
    probe's ``variant, mix, alpha, rank`` (features of the bank's backbone) and ``generic_backbone``."""

    name = "tv-probe"
    description = "task vectors, then the ridge probe with the taste prior on their residual"
    own_keys = TV_KEYS + PROBE_KEYS

    def prepare(self, fold: FoldData) -> None:
        from piaa.evaluation.methods.baselines import shared_generic_model
        from piaa.evaluation.methods.prior_probe import shared_taste_prior
        from piaa.personalize.prior_probe import DEFAULT_MIX, DEFAULT_RATER_ALPHA

        super().prepare(fold)
        self.probe_backbone = self.bank.spec.backbone
        self.probe_variant = self.options.get("variant", "multilevel")
        self.generic = shared_generic_model(fold, self.options.get("generic_backbone", self.probe_backbone),
                                            self.probe_variant)
        self.mix = float(self.options.get("mix", DEFAULT_MIX))
        self.prior = shared_taste_prior(fold, self.probe_backbone, self.probe_variant,
                                        float(self.options.get("alpha", DEFAULT_RATER_ALPHA)), self.options.get("rank"))

    def _estimator(self):
        from piaa.personalize.tv_probe import TVProbePersonalizer

        tv = {k: v for k, v in self.options.items() if k in TV_KEYS}
        return TVProbePersonalizer(bank=self.bank, prior=self.prior, mix=self.mix, backbone=self.probe_backbone,
                                   variant=self.probe_variant, tv_params=tv or None,
                                   scale=(self.fold.test_scale.min, self.fold.test_scale.max))

    def personalize(self, support, support_scores, query) -> np.ndarray:
        ps, ok_s = self._problem(support)
        if ok_s.sum() < 2:
            raise InsufficientDataError(f"{self.name}: fewer than 2 support images have features")
        pq, ok_q = self._problem(query)
        feats = self.fold.features.get(list(support) + list(query), backbone=self.probe_backbone,
                                       variant=self.probe_variant)
        est = self._estimator().fit_problem(ps, ok_s, support_scores, feats[:len(support)],
                                            offset=self.generic.scores(support))
        return est.predict_problem(pq, ok_q, feats[len(support):], offset=self.generic.scores(query))
