"""Tiny randomly initialized transformers vision models, written with ``save_pretrained`` for ``hf:DIR`` tests.

Built from small configs on the fly (nothing is downloaded): a CLIP vision tower (CLS token, CLIP's bicubic
shortest-edge resize + center crop), a DINOv2 (CLS token, 256 -> 224-style crop ratio) and a SigLIP vision tower
(no CLS token, squashed square resize) and a ViT (CLS token, squashed resize). The random values do not matter to what the tests check (shapes,
cache keys, the preprocessing against the model's own image processor, the plumbing, the task-vector
algebra); accuracy needs real weights (docs/backbones.md).
"""
from __future__ import annotations

from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers")

SIZE = 32
WIDTH = 16
BLOCKS = 3
REGISTERS = 2


def _save(folder: Path, seed: int, config_cls, model_cls, processor, **extra) -> Path:
    import torch

    torch.manual_seed(seed)
    cfg = config_cls(hidden_size=WIDTH, intermediate_size=2 * WIDTH, num_hidden_layers=BLOCKS,
                     num_attention_heads=2, image_size=SIZE, patch_size=8, **extra)
    model_cls(cfg).save_pretrained(folder)
    processor.save_pretrained(folder)
    return Path(folder)


def save_tiny_clip(folder: Path, seed: int = 0) -> Path:
    from transformers import CLIPVisionConfig, CLIPVisionModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    proc = CLIPImageProcessorPil(size={"shortest_edge": SIZE}, crop_size={"height": SIZE, "width": SIZE})
    return _save(folder, seed, CLIPVisionConfig, CLIPVisionModel, proc)


def _dinov2_processor():
    from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

    # DINOv2's published processor: shortest edge 256, crop 224, bicubic, ImageNet mean/std (scaled down here)
    return BitImageProcessorPil(size={"shortest_edge": 37}, crop_size={"height": SIZE, "width": SIZE}, resample=3,
                                do_center_crop=True, image_mean=[0.485, 0.456, 0.406],
                                image_std=[0.229, 0.224, 0.225])


def save_tiny_dinov2(folder: Path, seed: int = 0) -> Path:
    from transformers import Dinov2Config, Dinov2Model

    return _save(folder, seed, Dinov2Config, Dinov2Model, _dinov2_processor())


def save_tiny_dinov2_registers(folder: Path, seed: int = 0) -> Path:
    from transformers import Dinov2WithRegistersConfig, Dinov2WithRegistersModel

    return _save(folder, seed, Dinov2WithRegistersConfig, Dinov2WithRegistersModel, _dinov2_processor(),
                 num_register_tokens=REGISTERS)


def save_tiny_siglip(folder: Path, seed: int = 0) -> Path:
    from transformers import SiglipVisionConfig, SiglipVisionModel
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    return _save(folder, seed, SiglipVisionConfig, SiglipVisionModel,
                 SiglipImageProcessorPil(size={"height": SIZE, "width": SIZE}))


def save_tiny_vit(folder: Path, seed: int = 0) -> Path:
    from transformers import ViTConfig, ViTModel
    from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

    return _save(folder, seed, ViTConfig, ViTModel,
                 ViTImageProcessorPil(size={"height": SIZE, "width": SIZE}, image_mean=[0.5] * 3, image_std=[0.5] * 3))
