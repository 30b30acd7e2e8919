"""EfficientNet-Lite (Tan & Le; TF "lite" variant) in plain PyTorch, built from a checkpoint's own tensor shapes.

Lite differs from EfficientNet-B*: no squeeze-excitation, ReLU6 instead of swish, fixed 32-channel stem and
1280-channel head. Weights converted from TensorFlow need TF "SAME" padding, which is asymmetric for stride-2
convolutions (more padding on the right/bottom), so convolutions here pad explicitly.

The network is exposed as an ordered list of *layers* (stem, each MBConv block, head) so that callers can run
it in two parts -- a frozen trunk below a split point and a trainable top above it (docs/design.md §1C).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-3  # TF's batch-norm epsilon for EfficientNet


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TF 'SAME' padding: output = ceil(input / stride), extra pixel of padding goes right/bottom."""
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / stride) - 1) * stride + kernel - ih, 0)
    pw = max((math.ceil(iw / stride) - 1) * stride + kernel - iw, 0)
    if ph or pw:
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
    return x


class SameConv2d(nn.Conv2d):
    """Conv2d with TF-SAME padding and no bias (all convs in EfficientNet are followed by BN)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel_size[0] > 1 or self.stride[0] > 1:
            x = _same_pad(x, self.kernel_size[0], self.stride[0])
        return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)


@dataclass(frozen=True)
class BlockSpec:
    cin: int
    cout: int
    expand: int  # expanded channels (== cin when there is no expansion conv)
    kernel: int
    stride: int


class MBConvLite(nn.Module):
    """Inverted residual block without squeeze-excitation (parameter names follow the checkpoints)."""

    def __init__(self, spec: BlockSpec):
        super().__init__()
        self.spec = spec
        self.has_expand = spec.expand != spec.cin
        if self.has_expand:
            self._expand_conv = SameConv2d(spec.cin, spec.expand, 1)
            self._bn0 = nn.BatchNorm2d(spec.expand, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(spec.expand, spec.expand, spec.kernel, spec.stride, groups=spec.expand)
        self._bn1 = nn.BatchNorm2d(spec.expand, eps=BN_EPS)
        self._project_conv = SameConv2d(spec.expand, spec.cout, 1)
        self._bn2 = nn.BatchNorm2d(spec.cout, eps=BN_EPS)
        self.residual = spec.stride == 1 and spec.cin == spec.cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.has_expand:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class Stem(nn.Module):
    def __init__(self, cout: int):
        super().__init__()
        self._conv_stem = SameConv2d(3, cout, 3, 2)
        self._bn0 = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x):
        return F.relu6(self._bn0(self._conv_stem(x)))


class Head(nn.Module):
    """1x1 conv to 1280 channels + BN + ReLU6 (spatial map; pooling is done by the caller)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self._conv_head = SameConv2d(cin, cout, 1)
        self._bn1 = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x):
        return F.relu6(self._bn1(self._conv_head(x)))


# Stride of the first block of each stage in EfficientNet(-Lite); stages are found from the checkpoint.
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)


def specs_from_state_dict(sd: dict) -> List[BlockSpec]:
    """Derive block shapes from checkpoint tensors; a new stage starts wherever the output width changes."""
    idx = sorted({int(m.group(1)) for k in sd for m in [re.match(r"_blocks\.(\d+)\.", k)] if m})
    specs, prev_out, stage = [], None, -1
    for i in idx:
        p = f"_blocks.{i}."
        dw = sd[p + "_depthwise_conv.weight"]
        proj = sd[p + "_project_conv.weight"]
        expand = dw.shape[0]
        cin = sd[p + "_expand_conv.weight"].shape[1] if (p + "_expand_conv.weight") in sd else expand
        cout = proj.shape[0]
        first_of_stage = cout != prev_out
        if first_of_stage:
            stage += 1
        stride = STAGE_STRIDES[stage] if first_of_stage else 1
        specs.append(BlockSpec(cin, cout, expand, dw.shape[-1], stride))
        prev_out = cout
    return specs


class EfficientNetLite(nn.Module):
    """Backbone as ``layers`` = [stem, block_0 .. block_{n-1}, head]; ``classifier`` is the ImageNet FC."""

    def __init__(self, specs: Sequence[BlockSpec], stem_ch: int = 32, head_ch: int = 1280, num_classes: int = 1000):
        super().__init__()
        self.specs = list(specs)
        self.layers = nn.ModuleList(
            [Stem(stem_ch)] + [MBConvLite(s) for s in self.specs] + [Head(self.specs[-1].cout, head_ch)]
        )
        self.classifier = nn.Linear(head_ch, num_classes)
        self.layer_channels = [stem_ch] + [s.cout for s in self.specs] + [head_ch]

    @classmethod
    def from_state_dict(cls, sd: dict) -> "EfficientNetLite":
        specs = specs_from_state_dict(sd)
        model = cls(specs, stem_ch=sd["_conv_stem.weight"].shape[0], head_ch=sd["_conv_head.weight"].shape[0],
                    num_classes=sd["_fc.weight"].shape[0])
        mapped = {}
        for k, v in sd.items():
            if k.startswith("_conv_stem") or k.startswith("_bn0"):
                mapped["layers.0." + k] = v
            elif k.startswith("_blocks."):
                i, rest = k[len("_blocks."):].split(".", 1)
                mapped[f"layers.{int(i) + 1}.{rest}"] = v
            elif k.startswith("_conv_head") or k.startswith("_bn1"):
                mapped[f"layers.{len(specs) + 1}.{k}"] = v
            elif k.startswith("_fc."):
                mapped["classifier." + k[len("_fc."):]] = v
        missing, unexpected = model.load_state_dict(mapped, strict=True), None
        del missing, unexpected
        return model.eval()

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def forward_range(self, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Run layers[start:stop] on x (x is the input image batch when start == 0)."""
        for layer in self.layers[start:stop]:
            x = layer(x)
        return x

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_range(x).mean(dim=(2, 3))

    def forward_multilevel(self, x: torch.Tensor) -> torch.Tensor:
        """Global-average-pooled output of every layer (stem, each block, head), concatenated."""
        pooled = []
        for layer in self.layers:
            x = layer(x)
            pooled.append(x.mean(dim=(2, 3)))
        return torch.cat(pooled, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (used to check weights + preprocessing)."""
        return self.classifier(self.forward_pooled(x))
