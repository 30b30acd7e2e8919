"""The Backbone protocol every registered network implements, and the EfficientNet-Lite wrapper.

A backbone is an ordered list of ``layers``; ``forward_range(x, start, stop)`` runs a slice of them, so the
same object serves feature extraction (all layers, pooled), multi-level features (every layer pooled) and the
split-point design (trunk ``[0, split)`` cached, top ``[split, n)`` personalized).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from piaa.errors import InputError


class SequentialBackbone(nn.Module):
    """Backbone over an arbitrary list of stages (each maps a feature map to a feature map)."""

    def __init__(self, layers, layer_channels):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.layer_channels = list(layer_channels)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def forward_range(self, x, start: int = 0, stop=None):
        for layer in self.layers[start:stop]:
            x = layer(x)
        return x

    def forward_pooled(self, x):
        return _pool(self.forward_range(x))

    def forward_multilevel(self, x):
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(_pool(x))
        return torch.cat(out, dim=1)

    def forward_multilevel_meanstd(self, x):
        """Mean and standard deviation over space of every layer's map: ``[means of all layers, stds of all]``.

        The first half equals ``multilevel``; the std half carries how much each channel varies across the
        photo (local contrast, texture, noise, blur), which matters for technical quality (docs/benchmarks/
        quality.md). Population std, computed around the mean (two 1-D means, as the ONNX export does).
        """
        means, stds = [], []
        for layer in self.layers:
            x = layer(x)
            m, s = _mean_std(x)
            means.append(m)
            stds.append(s)
        return torch.cat(means + stds, dim=1)

    def feature_dim(self, variant: str) -> int:
        if variant == "pooled":
            return self.layer_channels[-1]
        if variant == "multilevel":
            return int(sum(self.layer_channels))
        if variant == "multilevel_meanstd":
            return 2 * int(sum(self.layer_channels))
        raise InputError(f"unknown feature variant {variant!r}")

    def forward_variant(self, x, variant: str):
        if variant == "pooled":
            return self.forward_pooled(x)
        if variant == "multilevel":
            return self.forward_multilevel(x)
        if variant == "multilevel_meanstd":
            return self.forward_multilevel_meanstd(x)
        if variant.startswith("trunk"):
            return self.forward_range(x, 0, int(variant[len("trunk"):]))
        raise InputError(f"unknown feature variant {variant!r}; use pooled, multilevel, multilevel_meanstd or "
                         f"trunkK")


def _pool(x):
    return x.mean(dim=(2, 3)) if x.dim() == 4 else x


def pool_output(layer, x):
    """The pooled features of ``layer``'s output ``x``: the spatial mean of a CNN map, or the layer's own
    pooling of ViT tokens (``piaa.backbones.vit.TokenStage.pool``). Task models, fine-tuned trunks and the
    PA_IAA network pool the layers they hold through this, so they work on either kind of backbone."""
    pool = getattr(layer, "pool", None)
    if x.dim() == 3 and pool is not None:
        return pool(x)
    return _pool(x)


def _mean_std(x):
    """(mean, population std) over the spatial axes of ``[n, c, h, w]`` (a 2-d input has std 0)."""
    if x.dim() != 4:
        return x, torch.zeros_like(x)
    m = x.mean(dim=3).mean(dim=2)
    d = x - m[:, :, None, None]
    return m, (d * d).mean(dim=3).mean(dim=2).sqrt()


class Backbone(SequentialBackbone):
    """Wraps EfficientNetLite; keeps the ImageNet classifier for the sanity check (``classify``)."""

    def __init__(self, net):
        nn.Module.__init__(self)
        self.net = net
        self.layers = net.layers
        self.layer_channels = list(net.layer_channels)

    def classify(self, x):
        return self.net.classifier(self.forward_pooled(x))
