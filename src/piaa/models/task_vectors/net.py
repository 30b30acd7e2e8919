"""The trainable part of a task model: backbone layers above the split + pooling + the two linear layers.

Batch norm stays in eval mode everywhere (frozen ImageNet statistics): task models are fine-tuned on a few
hundred images, where batch statistics are noise, and frozen statistics keep every parameter tensor above the
split a true parameter (weights and BN affine terms) whose task vector is meaningful.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from piaa.backbones.backbone import pool_output
from piaa.models.task_vectors.spec import N_OUT, InputLayout, TaskModelSpec, input_layout


class TopNet(nn.Module):
    """``layers[split:]`` of the backbone, pooled (last or every layer), then fc1 -> ReLU -> fc2 (logits)."""

    def __init__(self, spec: TaskModelSpec, layers: List[nn.Module], layout: InputLayout):
        super().__init__()
        self.spec = spec
        self.layout = layout
        self.layers = nn.ModuleList(layers)
        self.fc1 = nn.Linear(layout.head_dim, spec.hidden)
        self.fc2 = nn.Linear(spec.hidden, N_OUT)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Flat inputs [n, input_dim] -> the fc1 input [n, head_dim] (runs the layers above the split)."""
        lay = self.layout
        if lay.trunk_shape is None:
            return x
        prefix = x[:, : lay.prefix_dim]
        h = x[:, lay.prefix_dim:].reshape(x.shape[0], *lay.trunk_shape)
        parts = [prefix] if lay.prefix_dim else []
        for layer in self.layers:
            h = layer(h)
            if self.spec.pool == "multilevel":
                parts.append(pool_output(layer, h))
        if self.spec.pool == "last":
            parts = [pool_output(self.layers[-1], h)]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def head(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(z)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(x))


def build_top(spec: TaskModelSpec) -> TopNet:
    """A TopNet with the pretrained backbone layers and the shared, seeded head initialization (θ_pre)."""
    from piaa.backbones import create_backbone

    layout = input_layout(spec)
    layers = []
    if layout.trunk_shape is not None:
        bb = create_backbone(spec.backbone)
        layers = [copy.deepcopy(m) for m in bb.layers[spec.split:]]
    torch.manual_seed(spec.seed)
    net = TopNet(spec, layers, layout)
    return net.eval()


def param_names(net: TopNet) -> List[str]:
    """Every parameter tensor above the split, in a fixed order (the 'layers' l of the task vectors)."""
    return [n for n, _ in net.named_parameters()]


def get_params(net: TopNet) -> Dict[str, np.ndarray]:
    return {n: p.detach().cpu().numpy().astype(np.float32).copy() for n, p in net.named_parameters()}


def set_params(net: TopNet, params: Dict[str, np.ndarray]) -> TopNet:
    with torch.no_grad():
        for n, p in net.named_parameters():
            p.copy_(torch.as_tensor(np.asarray(params[n], dtype=np.float32)))
    return net


def forward_logits(net: TopNet, X: np.ndarray, params: Optional[Dict[str, np.ndarray]] = None,
                   batch_size: int = 256) -> np.ndarray:
    """Logits for flat inputs X (numpy), optionally with other parameters (functional, net unchanged)."""
    from torch.func import functional_call

    tp = None if params is None else {k: torch.as_tensor(np.asarray(v, np.float32)) for k, v in params.items()}
    out = []
    with torch.no_grad():
        for s in range(0, len(X), batch_size):
            xb = torch.as_tensor(np.asarray(X[s:s + batch_size], dtype=np.float32))
            out.append((net(xb) if tp is None else functional_call(net, tp, (xb,))).numpy())
    return np.concatenate(out) if out else np.zeros((0, N_OUT), np.float32)


def softmax_np(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
