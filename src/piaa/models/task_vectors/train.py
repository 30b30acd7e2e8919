"""Fine-tuning one task model from the shared pretrained weights: head first (top frozen), then the top layers.

Both stages minimize the cross-entropy between the predicted 10-value distribution and the task's soft target
distribution. Stage 1 trains fc1/fc2 on pooled features computed once (cheap, full batch); stage 2 (only when
backbone layers sit above the split) trains every parameter above the split with a smaller learning rate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict

import numpy as np
import torch

from piaa.models.task_vectors.net import TopNet, get_params, set_params
from piaa.errors import InputError


@dataclass(frozen=True)
class TrainConfig:
    head_steps: int = 50         # full-batch AdamW steps on the head (stage 1)
    head_lr: float = 3e-3
    head_weight_decay: float = 0.1
    top_epochs: int = 3          # epochs over all layers above the split (stage 2; skipped when none)
    top_lr: float = 1e-4
    top_batch_size: int = 32
    seed: int = 0
    # "" = the paper: θ_pre is the pretrained backbone + a random head. A task name: that task is trained first
    # and its model becomes θ_pre, so every task is a fine-tuned deviation of it and λ = 0 is that model.
    anchor_task: str = ""
    # the generic head's recipe for stage 1 (``piaa.models.giaa.GenericHead``): ``head_epochs`` > 0 trains the
    # head in mini-batches of ``head_batch_size`` with dropout on the hidden layer and a one-cycle learning rate
    # (peak ``head_lr``) instead of ``head_steps`` full-batch steps; ``head_loss`` "ce" (cross-entropy against
    # the soft target distribution) or "l2" (PA_IAA's squared distance of distributions). ``task_epochs``
    # (< 0: = head_epochs) and ``task_lr`` (0: = head_lr) apply to the tasks fine-tuned from an anchor.
    head_epochs: int = 0
    head_batch_size: int = 64
    dropout: float = 0.0
    head_loss: str = "ce"
    task_epochs: int = -1
    task_lr: float = 0.0

    def to_json(self) -> dict:
        d = asdict(self)
        # options at their defaults stay out, so banks built before they existed keep their fingerprint
        for k in ("head_epochs", "head_batch_size", "dropout", "head_loss", "task_epochs", "task_lr"):
            if d[k] == TrainConfig.__dataclass_fields__[k].default:
                del d[k]
        return d

    def for_task(self) -> "TrainConfig":
        """The configuration of a task fine-tuned from the anchor model."""
        from dataclasses import replace

        return replace(self, head_epochs=self.head_epochs if self.task_epochs < 0 else self.task_epochs,
                       head_lr=self.task_lr or self.head_lr)

    @classmethod
    def from_json(cls, d: dict) -> "TrainConfig":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise InputError(f"unknown training option(s): {', '.join(sorted(unknown))}; known: {sorted(known)}")
        return cls(**d)


def _soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def _l2(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (torch.softmax(logits, dim=1) - target).pow(2).sum(dim=1).mean()


def _train_head_epochs(net: TopNet, z: torch.Tensor, y: torch.Tensor, cfg: TrainConfig) -> None:
    """Stage 1 with the generic head's recipe: mini-batches, dropout on the hidden layer, one-cycle AdamW."""
    if cfg.head_loss not in ("ce", "l2"):
        raise InputError(f"head_loss must be 'ce' or 'l2', not {cfg.head_loss!r}")
    loss_fn = _soft_ce if cfg.head_loss == "ce" else _l2
    head = [net.fc1.weight, net.fc1.bias, net.fc2.weight, net.fc2.bias]
    n = len(z)
    bs = max(1, min(int(cfg.head_batch_size), n))
    per_epoch = max(1, n // bs)
    opt = torch.optim.AdamW(head, lr=cfg.head_lr, weight_decay=cfg.head_weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.head_lr, total_steps=int(cfg.head_epochs) * per_epoch)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        g = torch.Generator().manual_seed(cfg.seed)
        for _ in range(int(cfg.head_epochs)):
            perm = torch.randperm(n, generator=g)
            for b in range(per_epoch):
                idx = perm[b * bs:(b + 1) * bs]
                h = torch.nn.functional.dropout(torch.relu(net.fc1(z[idx])), cfg.dropout, training=cfg.dropout > 0)
                loss = loss_fn(net.fc2(h), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()


def train_task_model(net: TopNet, theta_pre: Dict[str, np.ndarray], X: np.ndarray, targets: np.ndarray,
                     cfg: TrainConfig = TrainConfig()) -> Dict[str, np.ndarray]:
    """Return θ_k (every parameter above the split) fine-tuned on (X, targets), starting from θ_pre.

    ``net`` is reused as scratch space (its parameters are overwritten with θ_pre first)."""
    if len(X) == 0:
        raise InputError("no training images with features for this task")
    from piaa.backbones.device import torch_device

    set_params(net, theta_pre)
    net.eval()
    try:
        return _fit(net.to(torch_device()), X, targets, cfg)
    finally:
        net.to("cpu")


def _fit(net: TopNet, X: np.ndarray, targets: np.ndarray, cfg: TrainConfig) -> Dict[str, np.ndarray]:
    dev = next(net.parameters()).device
    g = torch.Generator().manual_seed(cfg.seed)
    y = torch.as_tensor(np.asarray(targets, np.float32), device=dev)
    xt = torch.as_tensor(np.asarray(X, np.float32), device=dev)
    # stage 1: head only, on pooled features of the (frozen) pretrained top
    with torch.no_grad():
        z = torch.cat([net.pooled(xt[s:s + 128]) for s in range(0, len(xt), 128)])
    head = [net.fc1.weight, net.fc1.bias, net.fc2.weight, net.fc2.bias]
    if cfg.head_epochs > 0:
        _train_head_epochs(net, z, y, cfg)
    else:
        opt = torch.optim.AdamW(head, lr=cfg.head_lr, weight_decay=cfg.head_weight_decay)
        for _ in range(cfg.head_steps):
            opt.zero_grad()
            loss = _soft_ce(net.head(z), y)
            loss.backward()
            opt.step()
    # stage 2: everything above the split
    top = [p for n, p in net.named_parameters() if n.startswith("layers.")]
    if top and cfg.top_epochs > 0:
        opt = torch.optim.AdamW([{"params": top, "lr": cfg.top_lr}, {"params": head, "lr": cfg.top_lr * 10}],
                                weight_decay=cfg.head_weight_decay)
        for _ in range(cfg.top_epochs):
            perm = torch.randperm(len(xt), generator=g)
            for s in range(0, len(xt), cfg.top_batch_size):
                idx = perm[s:s + cfg.top_batch_size]
                opt.zero_grad()
                loss = _soft_ce(net(xt[idx]), y[idx])
                loss.backward()
                opt.step()
    return get_params(net)
