"""The one architecture every task model shares (docs/design.md §1B + §1C) and how its inputs are laid out.

A task model is ``backbone layers [split, n)`` (trainable, above the split) -> global-average pooling -> two
linear layers (``fc1``: pooled -> hidden, ReLU; ``fc2``: hidden -> 10) -> softmax -> score = dot(p, template),
where the template is 10 values spanning the task's scale. Identical parameter shapes for every task is what
makes task vectors (differences of parameters) addable.

``pool="multilevel"`` feeds fc1 with the pooled output of *every* backbone layer (3120-d for Lite0) instead of
only the last one (1280-d); on OASIS it gives the better generic model (docs/design.md §3). Layers below the split
are frozen, so their pooled outputs are cached features too.

Inputs are one flat float array per image: ``[prefix | trunk]`` where ``prefix`` = pooled outputs of the layers
below the split (multilevel only) and ``trunk`` = the activation map after layer ``split - 1`` (absent when
``split == n``: nothing of the backbone runs at personalization time).

Head-only banks (``split = -1`` means "at the top" for any backbone) may also

* concatenate several backbones (``backbone = "efficientnet_lite0,efficientnet_lite2"``): fc1 sees the pooled
  features of each backbone side by side, in that order;
* put a frozen input projection in front of fc1 (``components = c``): the task-bank features are standardized
  and projected onto the top ``c`` principal directions of the bank's training images, the same transform as
  the generic head (``piaa.models.giaa.GenericHead``). It is part of θ_pre and shared by every task, so the
  task vectors live in a ``c``-dimensional input space: a bank with c = 256 has 12x fewer fc1 weights than one
  on the raw 3,120 multilevel features, and the per-person problem gets cheaper by the same factor.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE
from piaa.errors import InputError

N_OUT = 10  # every task model predicts a distribution over 10 template values


def template_for(lo: float, hi: float, n: int = N_OUT) -> np.ndarray:
    """10 equally spaced values spanning [lo, hi] (1..7 scale -> 1, 1.67, ..., 7)."""
    return np.linspace(float(lo), float(hi), n)


@dataclass(frozen=True)
class TaskModelSpec:
    backbone: str = DEFAULT_BACKBONE
    split: int = 18          # first layer that runs above the split; == num_layers (or -1): only the linear head
    pool: str = "last"        # "last" (paper: pooled last layer) or "multilevel"
    hidden: int = 64
    seed: int = 0            # seed of the shared head initialization
    components: int = 0      # frozen standardize + PCA projection in front of fc1 (0 = raw features)

    def __post_init__(self):
        if self.pool not in ("last", "multilevel"):
            raise InputError(f"pool must be 'last' or 'multilevel', not {self.pool!r}")
        if self.split < -1:
            raise InputError(f"split must be >= 0 (or -1 = head only), not {self.split}")
        if self.hidden < 1:
            raise InputError("hidden must be >= 1")
        if self.components < 0:
            raise InputError("components must be >= 0")
        if len(self.backbones) > 1 and self.split != -1:
            raise InputError(f"a concatenation of backbones ({self.backbone}) needs a head-only bank: split = -1")

    @property
    def backbones(self) -> List[str]:
        """The backbone names (several when ``backbone`` joins them with ',' or '+')."""
        return [b.strip() for b in self.backbone.replace("+", ",").split(",") if b.strip()]

    def to_json(self) -> dict:
        d = asdict(self)
        if not self.components:
            del d["components"]  # banks without a projection keep their old fingerprint
        return d

    @classmethod
    def from_json(cls, d: dict) -> "TaskModelSpec":
        return cls(**{k: d[k] for k in ("backbone", "split", "pool", "hidden", "seed", "components") if k in d})


@dataclass(frozen=True)
class InputLayout:
    """Where each part of the flat input lives, derived from the spec and the backbone's layer shapes."""

    num_layers: int
    layer_channels: Tuple[int, ...]
    trunk_shape: Optional[Tuple[int, ...]]   # (C, H, W) map or (tokens, width) entering layer ``split``
    prefix_dim: int                                # pooled dims of layers below the split (multilevel only)
    head_dim: int                                  # input dim of fc1

    @property
    def trunk_dim(self) -> int:
        return 0 if self.trunk_shape is None else int(np.prod(self.trunk_shape))

    @property
    def input_dim(self) -> int:
        return self.prefix_dim + self.trunk_dim


def layer_output_shapes(backbone_name: str) -> List[Tuple[int, ...]]:
    """Shape after every layer without the batch axis -- (C, H, W) maps of a CNN, (tokens, width) of a ViT --
    computed once with a dummy forward pass (cached per backbone)."""
    return _layer_info(backbone_name)[0]


def layer_pooled_dims(backbone_name: str) -> List[int]:
    """Values per image of every layer's pooled output (a CNN's channels; a ViT's CLS + mean tokens)."""
    return _layer_info(backbone_name)[1]


def _layer_info(backbone_name: str):
    if backbone_name not in _SHAPES:
        import torch

        from piaa.backbones import create_backbone
        from piaa.backbones.backbone import pool_output

        bb = create_backbone(backbone_name)
        size = bb.cfg.input_size
        x = torch.zeros(1, 3, size, size)
        shapes, dims = [], []
        with torch.no_grad():
            for layer in bb.layers:
                x = layer(x)
                shapes.append(tuple(int(s) for s in x.shape[1:]))
                dims.append(int(pool_output(layer, x).shape[1]))
        _SHAPES[backbone_name] = (shapes, dims)
    return _SHAPES[backbone_name]


_SHAPES: dict = {}


def input_layout(spec: TaskModelSpec) -> InputLayout:
    if spec.split == -1:
        # head only, any backbone(s): pooled features of each backbone, concatenated
        dims = []
        for b in spec.backbones:
            ch = layer_pooled_dims(b)
            dims.append(int(sum(ch)) if spec.pool == "multilevel" else ch[-1])
        d = int(sum(dims))
        return InputLayout(len(layer_output_shapes(spec.backbones[0])), tuple(dims), None, d,
                           spec.components or d)
    shapes = layer_output_shapes(spec.backbone)
    n = len(shapes)
    if spec.split > n:
        raise InputError(f"split {spec.split} is beyond {spec.backbone}'s {n} layers (use 0..{n})")
    channels = tuple(layer_pooled_dims(spec.backbone))
    if spec.split == 0:
        from piaa.backbones import get_pretrained_cfg

        size = get_pretrained_cfg(spec.backbone).input_size
        trunk = (3, size, size)
    elif spec.split < n:
        trunk = shapes[spec.split - 1]
    else:
        trunk = None
    prefix = int(sum(channels[: spec.split])) if spec.pool == "multilevel" else 0
    if spec.split == n and spec.pool == "last":
        prefix = channels[-1]  # the pooled last layer is the whole input
    head = int(sum(channels)) if spec.pool == "multilevel" else channels[-1]
    if spec.components:
        if trunk is not None:
            raise InputError("components (an input projection) needs a head-only bank (split at the top)")
        head = spec.components
    return InputLayout(n, channels, trunk, prefix, head)
