"""``piaa train trunk``: fine-tune the top of a backbone multi-task on every rated database, on cached activations.

Recipe (docs/benchmarks/trunk.md): the base backbone's ``layers[:split]`` are frozen and run once per photo and
view (:mod:`piaa.training.trunk.activations`); ``layers[split:]`` (for Lite0 and split 12: the last two stages and
the 1x1 head conv, 2.7 M parameters) plus one small head per task are trained with AdamW on all databases at once.
Each batch mixes the databases; each photo's view (plain or mirrored) is drawn per epoch. Batch-norm statistics
stay frozen (their affine parameters train): with a few thousand photos, re-estimated statistics would move every
layer's features away from the frozen ones below them.

Tasks and losses:

* ``beauty`` (OASIS): 7-bucket distribution; KL(target || predicted) plus the squared error of the standardized
  expected score (the two agree on the optimum; the second carries the ranking signal the first dilutes);
* ``valence``, ``arousal`` (OASIS norms), ``biq_quality`` (BIQ2021), ``agiqa_quality`` (AGIQA-3K): scalar, squared
  error on targets standardized on the training part.

The epoch is chosen by the mean validation SROCC of the ``selection`` tasks (val parts only); the weights of that
epoch, rounded to float16, are what is written -- and validated again after rounding. Only the tensors of
``layers[split:]`` are shipped (``top.*``), with the per-task heads (``heads.*``) and the content hashes of every
photo of the train and val parts (``seen_images``: the leakage guard of the evaluation runner).
"""
from __future__ import annotations

import copy
import datetime as _dt
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from piaa.backbones.finetuned import TRUNK_KIND, TRUNK_VERSION
from piaa.training.trunk.config import TrunkConfig

TRUNK_FILE = "trunk.npz"
REPORT_FILE = "report.json"


def _torch_modules():
    import torch
    import torch.nn as nn

    class TrunkNet(nn.Module):
        """``layers[split:]`` of the base network (a copy) + one linear head per task on the pooled output."""

        def __init__(self, base_model, split: int, outputs: Dict[str, int], dropout: float):
            super().__init__()
            self.split = split
            self.top = nn.ModuleList(copy.deepcopy(list(base_model.layers[split:])))
            width = int(base_model.layer_channels[-1])
            self.drop = nn.Dropout(dropout)
            self.heads = nn.ModuleDict({t: nn.Linear(width, d) for t, d in outputs.items()})

        def train(self, mode: bool = True):
            super().train(mode)
            for m in self.modules():  # frozen statistics (see the module doc)
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
            return self

        def embed(self, a):
            from piaa.backbones.backbone import pool_output

            for layer in self.top:
                a = layer(a)
            return pool_output(self.top[-1], a)

        def forward(self, a, tasks: List[str]):
            z = self.drop(self.embed(a))
            return {t: self.heads[t](z) for t in tasks}

    return torch, nn, TrunkNet


class _Task:
    def __init__(self, name: str, db: int, kind: str, target: np.ndarray, train: np.ndarray,
                 values: Optional[np.ndarray]):
        self.name, self.db, self.kind = name, db, kind
        self.values = values
        score = target @ values if kind == "distribution" else target
        self.mu = float(score[train].mean())
        self.sd = float(score[train].std()) or 1.0
        self.target = target
        self.score = score

    @property
    def out_dim(self) -> int:
        return self.target.shape[1] if self.kind == "distribution" else 1


def _predict_score(task: _Task, out, torch):
    if task.kind == "distribution":
        p = torch.softmax(out, dim=1)
        return p @ torch.as_tensor(task.values, dtype=p.dtype)
    return out[:, 0] * task.sd + task.mu


def _loss(task: _Task, out, rows: np.ndarray, torch):
    if task.kind == "distribution":
        t = torch.as_tensor(task.target[rows], dtype=out.dtype)
        logp = torch.log_softmax(out, dim=1)
        kl = (t * (torch.log(t.clamp_min(1e-8)) - logp)).sum(dim=1).mean()
        s = (torch.softmax(out, dim=1) @ torch.as_tensor(task.values, dtype=out.dtype) - task.mu) / task.sd
        y = torch.as_tensor((task.score[rows] - task.mu) / task.sd, dtype=out.dtype)
        return kl + ((s - y) ** 2).mean()
    y = torch.as_tensor((task.score[rows] - task.mu) / task.sd, dtype=out.dtype)
    return ((out[:, 0] - y) ** 2).mean()


def evaluate_net(net, acts, tasks: List[_Task], dbs, part: str, torch, batch: int = 128) -> Dict[str, float]:
    """SROCC/PLCC of every task's head on the plain view of the images in ``part``."""
    from piaa.metrics import plcc, srocc

    net.eval()
    out = {}
    with torch.no_grad():
        for d, data in enumerate(dbs):
            rows = np.flatnonzero(data.mask(part))
            if len(rows) < 3:
                continue
            mine = [t for t in tasks if t.db == d]
            preds = {t.name: [] for t in mine}
            for s in range(0, len(rows), batch):
                r = rows[s:s + batch]
                z = net.embed(torch.from_numpy(np.asarray(acts[d][r, 0], dtype=np.float32)))
                for t in mine:
                    preds[t.name].append(_predict_score(t, net.heads[t.name](z), torch).numpy())
            for t in mine:
                p = np.concatenate(preds[t.name])
                out[t.name] = float(srocc(p, t.score[rows]))
                out[t.name + "_plcc"] = float(plcc(p, t.score[rows]))
    return out


def _selection_score(metrics: Dict[str, float], names: List[str]) -> float:
    vals = [metrics[n] for n in names if n in metrics]
    return float(np.mean(vals)) if vals else float("nan")


def train_trunk(cfg: TrunkConfig, output: Path, *, data_dir: Optional[Path] = None, log=None,
                cache_dir: Optional[Path] = None, databases=None) -> dict:
    """Train, validate, and write ``output/trunk.npz`` + ``output/report.json``; returns the report.

    ``databases``: ready :class:`~piaa.training.trunk.data.TaskData` objects instead of ``cfg.databases``
    (tests, a user's own data)."""
    import json

    from piaa.backbones import create_backbone
    from piaa.features.engines import cpu_cores
    from piaa.state import atomic_write_bytes, save_state
    from piaa.training.trunk.activations import image_hashes, lower_activations
    from piaa.training.trunk.data import load_database, split_parts, subsample

    log = log or sys.stderr
    torch, nn, TrunkNet = _torch_modules()
    torch.set_num_threads(cfg.threads or cpu_cores())
    rng = np.random.default_rng(cfg.seed)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    dbs = list(databases) if databases is not None else [load_database(name, data_dir) for name in cfg.databases]
    if cfg.max_images:
        dbs = [subsample(d, cfg.max_images, cfg.split_seed) for d in dbs]
    for data in dbs:
        data.part = split_parts(data.names, data.strata, cfg.val, cfg.test, cfg.split_seed)
    t0 = time.perf_counter()
    hashes = [image_hashes(d.paths) for d in dbs]
    acts = [lower_activations(d.paths, cfg.base, cfg.split, views=cfg.views, label=d.database, hashes=h,
                              cache_dir=cache_dir, log=log) for d, h in zip(dbs, hashes)]
    act_s = time.perf_counter() - t0
    print(f"lower activations ready ({act_s:.0f} s): " + ", ".join(
        f"{d.database} {a.shape}" for d, a in zip(dbs, acts)), file=log, flush=True)

    tasks: List[_Task] = []
    for i, data in enumerate(dbs):
        train = data.mask("train")
        for name, target in data.targets.items():
            if cfg.task_weights.get(name, 1.0) <= 0:
                continue
            tasks.append(_Task(name, i, data.kinds[name], np.asarray(target), train, data.bucket_values.get(name)))
    weights = {t.name: float(cfg.task_weights.get(t.name, 1.0)) for t in tasks}
    base = create_backbone(cfg.base)
    torch.manual_seed(cfg.seed)  # after every network build: constructors may draw random numbers
    net = TrunkNet(base, cfg.split, {t.name: t.out_dim for t in tasks}, cfg.dropout)
    n_top = sum(p.numel() for p in net.top.parameters())
    opt = torch.optim.AdamW([{"params": list(net.top.parameters()), "lr": cfg.lr},
                             {"params": list(net.heads.parameters()), "lr": cfg.head_lr}],
                            weight_decay=cfg.weight_decay)
    items = _items(dbs, cfg)
    steps_per_epoch = int(np.ceil(len(items) / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[cfg.lr, cfg.head_lr], total_steps=cfg.epochs *
                                                steps_per_epoch, pct_start=0.1, anneal_strategy="cos")
    print(f"training {n_top / 1e6:.2f} M trunk parameters (layers[{cfg.split}:] of {cfg.base}) + "
          f"{len(tasks)} heads on {len(items)} photo-passes per epoch", file=log, flush=True)

    curves: List[dict] = []
    best = (-np.inf, -1, None)
    for epoch in range(cfg.epochs):
        te = time.perf_counter()
        net.train()
        order = rng.permutation(len(items))
        losses = []
        for s in range(0, len(order), cfg.batch_size):
            chunk = items[order[s:s + cfg.batch_size]]
            views = rng.integers(0, cfg.views, len(chunk))
            x = np.empty((len(chunk), *acts[0].shape[2:]), np.float32)
            for d in range(len(dbs)):
                m = chunk[:, 0] == d
                if m.any():
                    x[m] = acts[d][chunk[m, 1], views[m]]
            xt = torch.from_numpy(x)
            z = net.drop(net.embed(xt))
            loss = 0.0
            for t in tasks:
                m = chunk[:, 0] == t.db
                if not m.any():
                    continue
                out = net.heads[t.name](z[torch.from_numpy(m)])
                loss = loss + weights[t.name] * _loss(t, out, chunk[m, 1], torch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        train_s = time.perf_counter() - te
        val = evaluate_net(net, acts, tasks, dbs, "val", torch)
        score = _selection_score(val, cfg.selection)
        curves.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4), "seconds": round(train_s, 1),
                       "val_selection": round(score, 4), **{k: round(v, 4) for k, v in val.items()}})
        print(f"epoch {epoch + 1}/{cfg.epochs}  loss {np.mean(losses):.4f}  val " + "  ".join(
            f"{t.name} {val.get(t.name, float('nan')):.3f}" for t in tasks) + f"  (selection {score:.4f}, "
            f"{train_s:.0f} s)", file=log, flush=True)
        if score > best[0]:
            best = (score, epoch + 1, copy.deepcopy(net.state_dict()))

    net.load_state_dict(best[2])
    val32 = evaluate_net(net, acts, tasks, dbs, "val", torch)
    with torch.no_grad():  # ship float16: validate the rounded weights
        for p in list(net.top.parameters()) + list(net.top.buffers()) + list(net.heads.parameters()):
            if p.dtype.is_floating_point:
                p.copy_(p.half().float())
    val16 = evaluate_net(net, acts, tasks, dbs, "val", torch)
    test16 = evaluate_net(net, acts, tasks, dbs, "test", torch)

    arrays = {}
    for k, v in net.top.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        i, rest = k.split(".", 1)
        arrays[f"top.layers.{cfg.split + int(i)}.{rest}"] = v.numpy().astype(np.float16)
    for k, v in net.heads.state_dict().items():
        arrays[f"heads.{k}"] = v.numpy().astype(np.float16)
    seen = sorted({h for d, hs in zip(dbs, hashes) for h, part in zip(hs, d.part) if part in ("train", "val")})
    arrays["seen_images"] = np.array(seen, dtype="U32")
    task_meta = {t.name: {"database": dbs[t.db].database, "kind": t.kind, "mu": t.mu, "sd": t.sd,
                          "values": None if t.values is None else [float(v) for v in t.values],
                          "weight": weights[t.name]} for t in tasks}
    parts = {d.database: {p: int((d.part == p).sum()) for p in ("train", "val", "test")} for d in dbs}
    elapsed = time.perf_counter() - t_start
    report = {
        "kind": TRUNK_KIND, "version": TRUNK_VERSION, "base": cfg.base, "split": cfg.split, "config": cfg.to_json(),
        "config_fingerprint": cfg.fingerprint(), "tasks": task_meta, "trained_on": parts,
        "trainable_parameters": int(n_top), "best_epoch": best[1], "curves": curves,
        "val_float32": _r(val32), "val_float16": _r(val16), "test_float16_trunk_heads": _r(test16),
        "activations_s": round(act_s, 1), "total_s": round(elapsed, 1),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform()},
        "parts": {d.database: {p: sorted(n for n, q in zip(d.names, d.part) if q == p) for p in ("val", "test")}
                  for d in dbs},
    }
    save_state(output / TRUNK_FILE, {"meta": {k: v for k, v in report.items() if k != "parts"}, "arrays": arrays})
    atomic_write_bytes(output / REPORT_FILE, json.dumps(report, indent=1).encode())
    print(f"best epoch {best[1]} (val selection {best[0]:.4f}); float16 val " + "  ".join(
        f"{t.name} {val16.get(t.name, float('nan')):.3f}" for t in tasks) + f"; wrote {output / TRUNK_FILE} "
        f"({(output / TRUNK_FILE).stat().st_size / 1e6:.1f} MB) in {elapsed:.0f} s", file=log, flush=True)
    return report


def _r(d: dict) -> dict:
    return {k: round(float(v), 4) for k, v in d.items()}


def _items(dbs, cfg: TrunkConfig) -> np.ndarray:
    """(database index, row) of every training photo, each database repeated ``cfg.repeat[db]`` times."""
    blocks = []
    for i, d in enumerate(dbs):
        rows = np.flatnonzero(d.mask("train"))
        block = np.stack([np.full(len(rows), i), rows], 1)
        blocks.extend([block] * max(1, int(cfg.repeat.get(d.database, 1))))
    return np.concatenate(blocks).astype(np.int64)
