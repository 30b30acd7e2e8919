"""Joint training of the multi-task network: batches alternate between the aesthetics data and the second
task's data (traits or a second aesthetics task), ``L = L_a + γ·L_p`` (docs/design.md §1A).

``L_a`` is the squared Euclidean distance between predicted and true bucket distributions, averaged over the batch;
``L_p`` the mean squared error of the tanh traits (or the squared distance between distributions for MT_IAA).
On an aesthetics batch only ``L_a`` is computed, on a trait batch only ``γ·L_p`` — the two datasets need not
share images, as in the paper (AVA + PsychoFlickr).

Optimizer defaults are the paper's: SGD momentum 0.9, lr 1e-4 heads / 1e-5 backbone top, weight decay 1e-5,
lr × 0.9 per epoch. On cached features the heads start from scratch and those settings barely move them in a few
epochs; ``docs/pa_iaa.md`` records the validation run (training images only) behind ``CACHED_HEADS_CONFIG``.
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from typing import Dict, List, Optional

import numpy as np
import torch

from piaa.models.pa_iaa.network import PAIAANet
from piaa.errors import InputError


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr_heads: float = 1e-4
    lr_backbone: float = 1e-5
    momentum: float = 0.9
    weight_decay: float = 1e-5
    lr_decay: float = 0.9          # multiply every lr by this after each epoch
    gamma: float = 1.0             # weight of the second task's loss
    seed: int = 0
    threads: int = 1               # one thread: faster than two on the shared 2-core machine (docs/benchmarks)

    def to_dict(self) -> dict:
        return asdict(self)


PAPER_CONFIG = TrainConfig()
# chosen by validation on training images only (docs/pa_iaa.md, "choosing the training settings")
CACHED_HEADS_CONFIG = replace(PAPER_CONFIG, epochs=10, lr_heads=3e-2)


def distribution_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the squared Euclidean distance between distributions."""
    return ((pred - target) ** 2).sum(dim=1).mean()


def trait_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((pred - target) ** 2).mean()


def fit_standardizer(net: PAIAANet, X: np.ndarray) -> None:
    """Set the network's feature mean/std from training rows (through the frozen top, if any)."""
    with torch.no_grad():
        net.feat_mean.zero_()
        net.feat_std.fill_(1.0)
        net.eval()
        d = torch.cat([net.encode(torch.from_numpy(X[s:s + 256])) for s in range(0, len(X), 256)])
        net.feat_mean.copy_(d.mean(0))
        net.feat_std.copy_(d.std(0).clamp_min(1e-6))


def train_network(net: PAIAANet, X_a: np.ndarray, Y_a: np.ndarray, X_p: np.ndarray, Y_p: np.ndarray,
                  config: TrainConfig = CACHED_HEADS_CONFIG, progress: bool = False,
                  val: Optional[dict] = None, val_epochs: Optional[set] = None) -> List[Dict[str, float]]:
    """Train in place; returns per-epoch mean losses (and validation losses when ``val`` gives
    ``X_a, Y_a, X_p, Y_p`` arrays, at ``val_epochs`` or every epoch). Rows with NaN inputs or targets are
    dropped."""
    X_a, Y_a = _clean(X_a, Y_a, "aesthetics")
    X_p, Y_p = _clean(X_p, Y_p, "second task")
    old_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, config.threads))
    try:
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        fit_standardizer(net, np.concatenate([X_a, X_p]) if X_p is not X_a else X_a)
        groups = [{"params": list(net.aesthetics.parameters()) + list(net.second.parameters()),
                   "lr": config.lr_heads}]
        if net.top is not None:
            groups.append({"params": list(net.top.parameters()), "lr": config.lr_backbone})
        opt = torch.optim.SGD(groups, momentum=config.momentum, weight_decay=config.weight_decay)
        second_loss = trait_loss if net.config["second_kind"] == "traits" else distribution_loss
        history = []
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=config.epochs, desc="pa-iaa training", unit="epoch", file=sys.stderr, leave=False)
        for epoch in range(config.epochs):
            net.train()
            ba = _batches(len(X_a), config.batch_size, rng)
            bp = _batches(len(X_p), config.batch_size, rng)
            sums = {"L_a": 0.0, "L_p": 0.0}
            counts = {"L_a": 0, "L_p": 0}
            for i in range(max(len(ba), len(bp))):  # alternate: aesthetics batch, then second-task batch
                for kind, batches in (("L_a", ba), ("L_p", bp)):
                    if i >= len(batches):
                        continue
                    idx = batches[i]
                    if kind == "L_a":  # only the head whose loss is used runs (the other gets no gradient)
                        a = net.forward_head("aesthetics", torch.from_numpy(X_a[idx]))
                        loss = distribution_loss(a, torch.from_numpy(Y_a[idx]))
                    else:
                        s = net.forward_head("second", torch.from_numpy(X_p[idx]))
                        loss = config.gamma * second_loss(s, torch.from_numpy(Y_p[idx]))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sums[kind] += loss.item() * len(idx)
                    counts[kind] += len(idx)
            for g in opt.param_groups:
                g["lr"] *= config.lr_decay
            rec = {"epoch": epoch + 1, "L_a": sums["L_a"] / max(counts["L_a"], 1),
                   "L_p": sums["L_p"] / max(counts["L_p"], 1) / max(config.gamma, 1e-12)}
            if val is not None and (val_epochs is None or epoch + 1 in val_epochs):
                rec.update(evaluate_losses(net, **val))
            history.append(rec)
            if bar:
                bar.set_postfix(L_a=f"{rec['L_a']:.4f}", L_p=f"{rec['L_p']:.4f}")
                bar.update(1)
        if bar:
            bar.close()
        net.eval()
        return history
    finally:
        torch.set_num_threads(old_threads)


@torch.no_grad()
def evaluate_losses(net: PAIAANet, X_a, Y_a, X_p, Y_p) -> Dict[str, float]:
    """Validation losses plus the generic score's SROCC against the distribution means."""
    from piaa.metrics import srocc

    X_a, Y_a = _clean(X_a, Y_a, "aesthetics")
    X_p, Y_p = _clean(X_p, Y_p, "second task")
    oa = net.predict_arrays(X_a)
    op = net.predict_arrays(X_p)
    second_loss = trait_loss if net.config["second_kind"] == "traits" else distribution_loss
    values = np.asarray(net.config["bucket_values"], dtype=np.float32)
    out = {"val_L_a": float(distribution_loss(torch.from_numpy(oa["probs"]), torch.from_numpy(Y_a))),
           "val_L_p": float(second_loss(torch.from_numpy(op["second"]), torch.from_numpy(Y_p))),
           "val_srocc": float(srocc(oa["score"], Y_a @ values))}
    cors = [np.corrcoef(op["second"][:, j], Y_p[:, j])[0, 1] for j in range(Y_p.shape[1])]
    out["val_second_r"] = float(np.nanmean(cors))
    return out


def _batches(n: int, size: int, rng) -> List[np.ndarray]:
    perm = rng.permutation(n)
    out = [perm[s:s + size] for s in range(0, n, size)]
    if len(out) > 1 and len(out[-1]) < 2:  # BatchNorm cannot train on a single row
        out[-2] = np.concatenate([out[-2], out[-1]])
        out.pop()
    return out


def _clean(X, Y, what):
    X = np.array(X, dtype=np.float32)  # a writable copy: torch.from_numpy shares memory
    Y = np.array(Y, dtype=np.float32)
    if len(X) != len(Y):
        raise InputError(f"{what}: {len(X)} input rows but {len(Y)} targets")
    ok = np.isfinite(X).all(axis=1) & np.isfinite(Y).all(axis=1)
    if ok.sum() < 2:
        raise InputError(f"{what}: fewer than 2 usable rows (inputs or targets missing)")
    return (X, Y) if ok.all() else (X[ok], Y[ok])
