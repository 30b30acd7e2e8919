"""Fine-tuned trunks: a registered base backbone with its upper layers replaced by trained tensors.

Why a separate file format: a trunk trained by ``piaa train trunk`` changes only the layers above its split
point, so its file holds just those tensors (float16) plus metadata -- the base network's name, the split, and
the content hashes of every photo whose ratings the trunk was trained or validated on (``seen_images``). The
evaluation runner reads that set to refuse scoring such a photo with this trunk (docs/experiments.md,
"Fine-tuned trunks and leakage"). The base weights still come from their own package.

The preprocessing is the base backbone's, with ``weights`` naming this file and its hash, so feature-cache keys
and ONNX export keys change whenever the file does.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Dict, FrozenSet, Optional

import numpy as np

from piaa.errors import InputError

TRUNK_KIND = "piaa-trunk"
TRUNK_VERSION = 1

_SEEN: Dict[str, FrozenSet[str]] = {}


class TrunkFileError(InputError):
    """A file that is not a readable piaa trunk."""


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_trunk(path) -> dict:
    """The trunk state ``{"meta", "arrays"}`` of ``path`` (TrunkFileError when it is not one)."""
    from piaa.state import load_state

    path = Path(path)
    try:
        state = load_state(path)
    except (OSError, ValueError, KeyError) as exc:
        raise TrunkFileError(f"{path}: not a readable trunk file ({exc})") from None
    meta = state.get("meta", {})
    if meta.get("kind") != TRUNK_KIND:
        raise TrunkFileError(f"{path}: not a piaa trunk file (kind {meta.get('kind')!r}); write one with "
                             f"`piaa train trunk`")
    return state


def trunk_tensors(state: dict) -> Dict[str, np.ndarray]:
    """The backbone tensors a trunk replaces (``layers.N.*`` names), as float32."""
    return {k[len("top."):]: np.asarray(v, dtype=np.float32) for k, v in state["arrays"].items()
            if k.startswith("top.")}


def seen_hashes(state: dict) -> FrozenSet[str]:
    """Content hashes (``piaa.io.hashing.image_bytes_hash``) of the photos whose ratings trained the trunk."""
    arr = state["arrays"].get("seen_images")
    return frozenset() if arr is None else frozenset(str(h) for h in np.asarray(arr).tolist())


def apply_trunk(model, state: dict):
    """Load the trunk's tensors into ``model`` (a base backbone instance) in place; returns it in eval mode."""
    import torch

    sd = model.state_dict()
    new = trunk_tensors(state)
    missing = [k for k in new if k not in sd]
    if missing:
        raise TrunkFileError(f"trunk tensors {missing[:3]} do not belong to backbone {state['meta'].get('base')!r}")
    for k, v in new.items():
        if tuple(sd[k].shape) != v.shape:
            raise TrunkFileError(f"trunk tensor {k} has shape {v.shape}, the backbone {tuple(sd[k].shape)}")
        sd[k] = torch.from_numpy(v).to(sd[k].dtype)
    model.load_state_dict(sd)
    return model.eval()


def register_trunk(name: str, path, *, description: str = "", override: bool = False,
                   base: Optional[str] = None) -> None:
    """Register the trunk file ``path`` as backbone ``name`` (base network + the file's tensors).

    ``base`` skips reading the file now (for the shipped trunk, registered at import while its file may not
    exist yet); it is checked against the file when the network is built.
    """
    from piaa.backbones.registry import PretrainedCfg, create_backbone, get_pretrained_cfg, register_backbone

    path = Path(path)
    if base is None:
        base = str(read_trunk(path)["meta"]["base"])
    digest = file_digest(path) if path.is_file() else "missing"

    def build():
        state = read_trunk(path)
        if state["meta"].get("base") != base:
            raise TrunkFileError(f"{path}: trunk over {state['meta'].get('base')!r}, registered over {base!r}")
        _SEEN[name] = seen_hashes(state)
        return apply_trunk(create_backbone(base), state)

    build.weights_file = lambda: path  # the ONNX engine keys its export by this file's bytes
    cfg = get_pretrained_cfg(base)
    cfg = PretrainedCfg(**{**asdict(cfg), "weights": f"{cfg.weights} + piaa trunk {path.name} ({digest})"})
    register_backbone(name, build, cfg, description or f"{base} with a fine-tuned top ({path.name})",
                      override=override)
    build.trunk_file = path
    build.trunk_base = base


def trunk_file_of(backbone: str) -> Optional[Path]:
    """The trunk file behind a registered backbone name, or None for an ordinary (ImageNet) backbone."""
    from piaa.backbones.registry import get_entry

    return getattr(get_entry(backbone).constructor, "trunk_file", None)


def seen_images(backbone: str) -> FrozenSet[str]:
    """Hashes of the photos whose ratings ``backbone`` was trained on (empty for an ImageNet backbone)."""
    if backbone in _SEEN:
        return _SEEN[backbone]
    path = trunk_file_of(backbone)
    if path is None:
        return frozenset()
    if not Path(path).is_file():
        from piaa.errors import AssetMissingError

        raise AssetMissingError(f"{path}: trunk file of backbone {backbone!r} is missing")
    _SEEN[backbone] = seen_hashes(read_trunk(path))
    return _SEEN[backbone]
