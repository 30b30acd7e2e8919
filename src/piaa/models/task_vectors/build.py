"""Building a TaskBank from tasks, and the default bank that ships with piaa."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np

from piaa.catalogue import asset_path, default_asset
from piaa.models.task_vectors.bank import TaskBank
from piaa.models.task_vectors.net import build_top, get_params, softmax_np, forward_logits, set_params
from piaa.models.task_vectors.spec import TaskModelSpec
from piaa.models.task_vectors.tasks import TaskData, drop_missing
from piaa.models.task_vectors.train import TrainConfig, train_task_model
from piaa.errors import InputError

DEFAULT_BANK = default_asset("task-bank")
DEFAULT_BANK_DIR = DEFAULT_BANK.path


def build_bank(spec: TaskModelSpec, tasks: List[TaskData], inputs: Callable[[List[Path]], np.ndarray],
               cfg: TrainConfig = TrainConfig(), tau_dtype: str = "float16", progress: bool = False,
               extra: Optional[dict] = None, prior_ratings=None) -> TaskBank:
    """Fine-tune one model per task from the same θ_pre and keep τ_k = θ_k − θ_pre.

    ``inputs(paths)`` returns the flat model inputs of those images (see ``inputs.py``).
    ``prior_ratings``: optional DataFrame (user, path, score) of training raters; each task's mean per-person
    SROCC on them is stored as ``prior_srocc`` (the prior that the shrunk adaptive init pulls toward)."""
    if not tasks:
        raise InputError("a task bank needs at least one task")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InputError(f"task names must be unique: {names}")
    net = build_top(spec)
    theta_pre = get_params(net)
    transform = None
    raw_inputs = inputs
    if spec.components:
        transform = fit_input_transform(tasks, inputs, spec.components, seed=cfg.seed)

        def inputs(paths):  # noqa: F811 - every task model sees the projected features
            X = raw_inputs(paths)
            return (np.asarray(X, np.float32) - transform["mean"]) @ transform["proj"]
    if cfg.anchor_task:
        if cfg.anchor_task not in names:
            raise InputError(f"anchor_task {cfg.anchor_task!r} is not a task: {names}")
        anchor = tasks[names.index(cfg.anchor_task)]
        Xa, ya, _, _ = drop_missing(anchor, inputs(anchor.paths))
        theta_pre = train_task_model(net, theta_pre, Xa, ya, cfg)
        cfg_task = cfg.for_task()
    else:
        cfg_task = cfg
    shapes = {n: tuple(a.shape) for n, a in theta_pre.items()}
    taus, meta = [], []
    it = tasks
    if progress:
        from tqdm import tqdm

        it = tqdm(tasks, desc="task models", unit="task", leave=False, dynamic_ncols=True)
    for task in it:
        t0 = time.perf_counter()
        X = inputs(task.paths)
        X, targets, means, missing = drop_missing(task, X)
        theta = train_task_model(net, theta_pre, X, targets, cfg_task)
        taus.append({n: (theta[n] - theta_pre[n]).astype(tau_dtype) for n in theta_pre})
        scores = softmax_np(forward_logits(set_params(net, theta), X)) @ task.template
        from piaa.metrics import srocc

        m = dict(task.meta)
        m.update({"name": task.name, "scale": [task.lo, task.hi, task.buckets],
                  "template": [float(v) for v in task.template], "n_images_used": int(len(X)),
                  "missing_images": missing, "train_srocc": float(srocc(scores, means)),
                  "train_seconds": round(time.perf_counter() - t0, 2)})
        meta.append(m)
    info = {"train": cfg.to_json()}
    info.update(extra or {})
    bank = TaskBank(spec, shapes, meta, theta_pre, taus, tau_dtype, extra=info, input_transform=transform)
    if prior_ratings is not None:
        for m, v in zip(bank.tasks, task_priors(bank, prior_ratings, raw_inputs)):
            m["prior_srocc"] = v
        bank._fingerprint = None
    return bank


def fit_input_transform(tasks: List[TaskData], inputs: Callable, components: int, seed: int = 0,
                        max_images: int = 3000) -> dict:
    """The bank's frozen input projection: standardize each feature over the images of every task (a seeded
    sample of at most ``max_images``), keep the top ``components`` principal directions, scale to unit overall
    spread (as ``GenericHead``). Returned folded: ``z = (x - mean) @ proj``, ``proj`` [d, components]."""
    from piaa.models.giaa import _principal_directions

    paths = list(dict.fromkeys(str(p) for t in tasks for p in t.paths))
    if len(paths) > max_images:
        rng = np.random.default_rng(seed)
        paths = [paths[i] for i in sorted(rng.choice(len(paths), max_images, replace=False))]
    X = np.asarray(inputs([Path(p) for p in paths]), np.float64)
    X = X[np.isfinite(X).all(axis=1)]
    if len(X) < 3:
        raise InputError("need features of at least 3 task images to fit the input projection")
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    A = (X - mean) / std
    V = _principal_directions(A, components)
    zscale = float((A @ V).std()) or 1.0
    proj = np.zeros((X.shape[1], components))
    proj[:, :V.shape[1]] = V / std[:, None] / zscale  # fewer directions than asked: the rest stay zero
    return {"mean": mean.astype(np.float32), "proj": proj.astype(np.float32)}


def task_priors(bank: TaskBank, ratings, inputs: Callable, min_ratings: int = 10) -> List[float]:
    """Mean over people of the per-person SROCC of every task model (λ = one-hot) on ``ratings``
    (columns user, path, score) -- how well each task predicts a typical person of the training population."""
    from piaa.metrics import srocc
    from piaa.models.task_vectors.engine import predict_scores

    paths = sorted(set(ratings["path"]))
    X = inputs([Path(p) for p in paths])
    pos = {p: i for i, p in enumerate(paths)}
    L = len(bank.param_names)
    scores = []
    for k in range(bank.num_tasks):
        lam = np.zeros((L, bank.num_tasks))
        lam[:, k] = 1.0
        scores.append(predict_scores(bank, X, lam, np.asarray(bank.tasks[k]["template"])))
    per_task = [[] for _ in range(bank.num_tasks)]
    for _, g in ratings.groupby("user"):
        if len(g) < min_ratings:
            continue
        idx = np.array([pos[p] for p in g["path"]])
        y = g["score"].to_numpy(float)
        for k in range(bank.num_tasks):
            v = srocc(scores[k][idx], y)
            if np.isfinite(v):
                per_task[k].append(v)
    return [float(np.mean(v)) if v else 0.0 for v in per_task]


def load_default_bank() -> TaskBank:
    """The bank shipped in ``piaa/assets`` (OASIS tasks + BIQ2021 photo quality), built by
    ``piaa tasks train configs/tasks_default.toml --output src/piaa/assets/task_bank_default``."""
    return TaskBank.load(asset_path(DEFAULT_BANK.name, kind="task-bank"))


def resolve_bank(bank) -> TaskBank:
    """``"default"`` / a path / a TaskBank -> TaskBank."""
    if isinstance(bank, TaskBank):
        return bank
    if bank is None or bank == "default":
        return load_default_bank()
    return TaskBank.load(bank)
