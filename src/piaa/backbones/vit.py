"""Vision transformers from Hugging Face ``transformers`` behind piaa's Backbone protocol.

A ViT is a patch embedding followed by N transformer blocks that all map tokens ``[n, T, D]`` to tokens. Its
``layers`` are ``[embedding, block 1, ..., block N]``, so the split-point design works unchanged: ``trunkK`` is
the token sequence after ``layers[:K]`` (``trunk0`` the pixels, ``trunk1`` the embedded patches), and a task
model above the split fine-tunes blocks ``K..N`` (every linear and norm inside them is a task-vector "layer").
Feature variants: ``pooled`` (the last block), ``multilevel`` (every layer), ``blocksI,J,...`` (the chosen
layers, e.g. ``blocks8,10,12``) and ``trunkK``.

Pooling one layer's tokens (``pool_tokens``): each token is layer-normalized without learned scale or shift,
then the CLS token (when the model has one) and the mean of the patch tokens are concatenated -- ``2 D``
values, or ``D`` for SigLIP, which has no CLS token. The parameter-free norm puts every block on one scale
(a ViT's residual stream grows with depth and carries a few huge channels), so multi-level features can be
standardized and mixed like the CNN's; on the last block it equals the model's own final norm up to a
per-channel affine map, which every head downstream (standardization, ridge, fc1) absorbs. Register tokens
(DINOv2 with registers) are left out of the mean.

``transformers`` is imported only by :func:`build_vit` (the ``hf:`` path); nothing here runs on the default
path.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from piaa.backbones.backbone import SequentialBackbone
from piaa.errors import InputError


def pool_tokens(h: torch.Tensor, prefix_tokens: int, has_cls: bool) -> torch.Tensor:
    """``[n, T, D]`` tokens -> ``[n, 2D]`` (normalized CLS, mean of normalized patch tokens) or ``[n, D]``."""
    t = F.layer_norm(h, h.shape[-1:])
    mean = t[:, prefix_tokens:].mean(dim=1)
    return torch.cat([t[:, 0], mean], dim=1) if has_cls else mean


class TokenStage(nn.Module):
    """One ViT stage (the embedding or a block) that knows the token layout of what it outputs.

    ``pass_mask``: the block's forward takes an attention mask as second argument (CLIP, SigLIP: ``None``
    here, every token attends to every other). ``prefix_tokens``/``has_cls`` describe the output tokens, so
    anything holding a copy of the stage (a task model's top, a fine-tuned trunk) pools it correctly.
    """

    def __init__(self, module: nn.Module, prefix_tokens: int, has_cls: bool, pass_mask: bool = False):
        super().__init__()
        self.module = module
        self.prefix_tokens = int(prefix_tokens)
        self.has_cls = bool(has_cls)
        self.pass_mask = bool(pass_mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.module(x, None) if self.pass_mask else self.module(x)
        return out[0] if isinstance(out, tuple) else out

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        return pool_tokens(h, self.prefix_tokens, self.has_cls)


class ViTBackbone(SequentialBackbone):
    """``[embedding, blocks...]`` of a transformers vision model, pooled per stage with ``pool_tokens``."""

    def __init__(self, stages, hidden_size: int, has_cls: bool, family: str):
        per_layer = 2 * hidden_size if has_cls else hidden_size
        super().__init__(stages, [per_layer] * len(stages))
        self.hidden_size = int(hidden_size)
        self.family = family

    def forward_pooled(self, x):
        return self.layers[-1].pool(self.forward_range(x))

    def forward_multilevel(self, x):
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(layer.pool(x))
        return torch.cat(out, dim=1)

    def forward_multilevel_meanstd(self, x):
        raise InputError("multilevel_meanstd is a CNN variant (spatial mean and std); a ViT offers pooled, "
                         "multilevel, blocksI,J,... and trunkK")

    def blocks_of(self, variant: str) -> List[int]:
        """The layers named by ``blocksI,J,...`` (layer 0 = the embedding, layer i = block i)."""
        try:
            chosen = [int(v) for v in variant[len("blocks"):].split(",") if v.strip()]
        except ValueError:
            chosen = []
        if not chosen or any(not 0 <= i < self.num_layers for i in chosen) or chosen != sorted(set(chosen)):
            raise InputError(f"variant {variant!r}: name increasing layers 0..{self.num_layers - 1}, "
                             f"e.g. blocks{self.num_layers // 2},{self.num_layers - 1}")
        return chosen

    def forward_blocks(self, x, chosen: List[int]):
        """Pooled outputs of the chosen layers only (the network stops after the last of them)."""
        out = []
        for i, layer in enumerate(self.layers[: chosen[-1] + 1]):
            x = layer(x)
            if i in chosen:
                out.append(layer.pool(x))
        return torch.cat(out, dim=1)

    def forward_variant(self, x, variant: str):
        if variant.startswith("blocks"):
            return self.forward_blocks(x, self.blocks_of(variant))
        return super().forward_variant(x, variant)

    def feature_dim(self, variant: str) -> int:
        if variant == "multilevel_meanstd":
            self.forward_multilevel_meanstd(None)
        if variant.startswith("blocks"):
            return int(sum(self.layer_channels[i] for i in self.blocks_of(variant)))
        return super().feature_dim(variant)


@dataclass(frozen=True)
class Family:
    """Where a transformers vision model keeps its parts: ``model_types`` map to one of these."""

    model_class: str                                 # the transformers class to load
    root: Callable[[nn.Module], nn.Module]           # the module holding embeddings and encoder
    embed: Callable[[nn.Module], nn.Module]          # pixels -> tokens (with CLIP's pre-norm)
    blocks: Callable[[nn.Module], nn.ModuleList]
    has_cls: bool
    pass_mask: bool
    extra_prefix: Callable[[object], int] = lambda cfg: 0   # register tokens after the CLS token


class _Seq(nn.Module):
    """Embedding followed by a norm (CLIP's ``pre_layrnorm``), keeping both parameter names readable."""

    def __init__(self, embeddings, norm):
        super().__init__()
        self.embeddings = embeddings
        self.norm = norm

    def forward(self, x):
        return self.norm(self.embeddings(x))


def _blocks(root: nn.Module) -> nn.ModuleList:
    """The transformer blocks, wherever this transformers version keeps them (``encoder.layers``,
    ``encoder.layer``, or on the model itself as ViT does in transformers 5)."""
    for holder in (getattr(root, "encoder", None), root):
        for name in ("layers", "layer"):
            blocks = getattr(holder, name, None) if holder is not None else None
            if isinstance(blocks, nn.ModuleList):
                return blocks
    raise InputError(f"cannot find the transformer blocks of {type(root).__name__}")


def _vision_model(m):
    return getattr(m, "vision_model", m)  # transformers 5 keeps the tower on the model itself


FAMILIES: Dict[str, Family] = {
    "clip": Family("CLIPVisionModel", _vision_model, lambda r: _Seq(r.embeddings, r.pre_layrnorm),
                   _blocks, has_cls=True, pass_mask=True),
    "siglip": Family("SiglipVisionModel", _vision_model, lambda r: r.embeddings, _blocks,
                     has_cls=False, pass_mask=True),
    "dinov2": Family("Dinov2Model", lambda m: m, lambda r: r.embeddings, _blocks,
                     has_cls=True, pass_mask=False),
    "dinov2_with_registers": Family("Dinov2WithRegistersModel", lambda m: m, lambda r: r.embeddings,
                                    _blocks, has_cls=True, pass_mask=False,
                                    extra_prefix=lambda cfg: int(getattr(cfg, "num_register_tokens", 0))),
    "vit": Family("ViTModel", lambda m: m, lambda r: r.embeddings, _blocks,
                  has_cls=True, pass_mask=False),
}
# checkpoints of a whole CLIP / SigLIP model (text and vision) load their vision tower
MODEL_TYPES = {"clip": "clip", "clip_vision_model": "clip", "siglip": "siglip", "siglip_vision_model": "siglip",
               "dinov2": "dinov2", "dinov2_with_registers": "dinov2_with_registers", "vit": "vit"}


def family_of(model_type: str) -> str:
    try:
        return MODEL_TYPES[model_type]
    except KeyError:
        raise InputError(f"model type {model_type!r} is not a supported vision transformer; piaa reads "
                         f"{', '.join(sorted(MODEL_TYPES))}") from None


def wrap_model(model: nn.Module, model_type: str) -> ViTBackbone:
    """A loaded transformers vision model as a :class:`ViTBackbone` (shares its modules, copies nothing)."""
    name = family_of(model_type)
    fam = FAMILIES[name]
    root = fam.root(model)
    cfg = getattr(root, "config", None) or model.config
    prefix = (1 if fam.has_cls else 0) + fam.extra_prefix(cfg)
    stages = [TokenStage(fam.embed(root), prefix, fam.has_cls)]
    stages += [TokenStage(b, prefix, fam.has_cls, pass_mask=fam.pass_mask) for b in fam.blocks(root)]
    return ViTBackbone(stages, int(cfg.hidden_size), fam.has_cls, name)


def build_vit(folder: str, model_type: str, local_only: bool = True) -> ViTBackbone:
    """Load the vision model in ``folder`` (a local folder or a hub id) with transformers, eval mode, fp32."""
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per load would flood piaa's own output
    fam = FAMILIES[family_of(model_type)]
    cls = getattr(transformers, fam.model_class)
    kw = {"add_pooling_layer": False} if fam.model_class == "ViTModel" else {}
    model = cls.from_pretrained(folder, local_files_only=local_only, dtype=torch.float32, **kw)
    return wrap_model(model.eval(), model_type).eval()
