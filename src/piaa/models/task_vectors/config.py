"""Task-bank config files (``piaa tasks train CONFIG.toml``).

``[[tasks]]`` tables use exactly the evaluation experiment's format (ratings, images, scale, users, where,
rating_column, single_user, criterion, ...; see docs/experiments.md), so a bank can be built from the task list
of an experiment. An optional ``[model]`` table sets the architecture and training (``backbone, split, pool,
hidden, seed, head_steps, head_lr, head_weight_decay, top_epochs, top_lr, top_batch_size, tau_dtype``;
``prior_task`` names the task whose per-person ratings give every task's population prior) and
``exclude_images`` (a file with one image path per line, relative to each task's images) keeps held-out images
out of every task. Relative paths resolve against the config file's folder.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

from piaa.errors import InputError
from piaa.models.task_vectors.spec import TaskModelSpec
from piaa.models.task_vectors.tasks import TaskData, task_from_ratings
from piaa.models.task_vectors.train import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SPEC_KEYS = ("backbone", "split", "pool", "hidden", "seed", "components")
TRAIN_KEYS = ("head_steps", "head_lr", "head_weight_decay", "top_epochs", "top_lr", "top_batch_size", "anchor_task",
              "head_epochs", "head_batch_size", "dropout", "head_loss", "task_epochs", "task_lr")
MODEL_KEYS = set(SPEC_KEYS) | set(TRAIN_KEYS) | {"tau_dtype", "prior_task"}


class TaskConfigError(InputError):
    """The task config is wrong; the message names the file and the table."""


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        raise TaskConfigError(f"{path}: config file not found")
    with open(path, "rb") as fh:
        try:
            return tomllib.load(fh)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise TaskConfigError(f"{path}: not a valid UTF-8 TOML file: {exc}") from None


def load_task_config(path) -> Tuple[TaskModelSpec, TrainConfig, str, List[TaskData], List[str], object]:
    """(spec, training config, tau dtype, tasks, warnings, prior ratings or None) of a config file."""
    from piaa.data.source_spec import TASK_KEYS, ExperimentError, TaskSpec, check_keys, source_fields
    from piaa.data.sources import load_source

    path = Path(path)
    raw = _read_toml(path)
    unknown = sorted(set(raw) - {"model", "tasks", "name", "description", "exclude_images"})
    if unknown:
        raise TaskConfigError(f"{path}: unknown top-level key(s) {unknown}; expected [model], [[tasks]], name, "
                              "description, exclude_images")
    model = raw.get("model", {})
    bad = sorted(set(model) - MODEL_KEYS)
    if bad:
        raise TaskConfigError(f"{path}: [model]: unknown key(s) {bad}; known: {sorted(MODEL_KEYS)}")
    if isinstance(model.get("backbone"), str):  # a local hf: folder resolves against the config's folder
        from piaa.backbones.hf import canonical_spec

        model = {**model, "backbone": canonical_spec(model["backbone"], path.resolve().parent)}
    try:
        spec = TaskModelSpec(**{k: model[k] for k in SPEC_KEYS if k in model})
        cfg = TrainConfig(**{k: model[k] for k in TRAIN_KEYS if k in model})
    except (TypeError, ValueError) as exc:
        raise TaskConfigError(f"{path}: [model]: {exc}") from None
    base = path.resolve().parent
    exclude = set()
    if "exclude_images" in raw:
        ex = (base / raw["exclude_images"]).resolve()
        if not ex.is_file():
            raise TaskConfigError(f"{path}: exclude_images file not found: {ex}")
        exclude = {ln.strip() for ln in ex.read_text().splitlines() if ln.strip() and not ln.startswith("#")}
    tasks_raw = raw.get("tasks")
    if not isinstance(tasks_raw, list) or not tasks_raw:
        raise TaskConfigError(f"{path}: at least one [[tasks]] table is required")
    tasks, warnings, prior = [], [], None
    for i, t in enumerate(tasks_raw):
        label = f"[[tasks]] {t.get('name', '#' + str(i + 1))!r}"
        try:
            check_keys(t, TASK_KEYS, str(path), label)
            if not t.get("name"):
                raise ExperimentError(f"{path}: {label} needs a name")
            ts = TaskSpec(**source_fields(t, base, str(path), label), name=str(t["name"]),
                          per_image=t.get("per_image"))
            src = load_source(ts, ts.name, warnings=warnings, per_image=ts.per_image)
        except ExperimentError as exc:
            raise TaskConfigError(str(exc)) from None
        r = src.dataset.ratings
        if exclude:
            r = r[~r["image"].isin(exclude)]
        if ts.name == model.get("prior_task"):
            prior = r.assign(path=[str(src.images_root / i) for i in r["image"]])[["user", "path", "score"]]
        tasks.append(task_from_ratings(ts.name, r, src.images_root, src.dataset.scale,
                                       {"source": str(ts.ratings.name), "where": ts.where,
                                        "per_image": bool(src.per_image), "criterion": ts.criterion,
                                        "rating_column": ts.rating_column}))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise TaskConfigError(f"{path}: task names must be unique: {names}")
    if model.get("prior_task") and prior is None:
        raise TaskConfigError(f"{path}: [model] prior_task = {model['prior_task']!r} is not a task name: {names}")
    return spec, cfg, str(model.get("tau_dtype", "float16")), tasks, warnings, prior
