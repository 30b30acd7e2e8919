"""Inference engines: a callable ``(N,3,H,W) float32 array -> (N, ...) float32 features``.

"torch" runs the backbone eagerly. Faster engines (e.g. ONNX Runtime) register here and must reproduce the
eager output to within 1e-4 (checked when they are built).
"""
from __future__ import annotations

import os
from typing import Callable, Dict

import numpy as np

_ENGINES: Dict[str, Callable] = {}


def register_engine(name: str, builder: Callable) -> None:
    _ENGINES[name] = builder


def make_engine(backbone: str, variant: str, kind: str = "torch"):
    try:
        builder = _ENGINES[kind]
    except KeyError:
        raise ValueError(f"unknown engine {kind!r}; available: {', '.join(sorted(_ENGINES))}") from None
    return builder(backbone, variant)


def set_torch_threads() -> None:
    import torch

    n = int(os.environ.get("PIAA_THREADS", os.cpu_count() or 1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


class TorchEngine:
    def __init__(self, backbone: str, variant: str):
        import torch

        from piaa.backbones import create_backbone

        set_torch_threads()
        self.model = create_backbone(backbone)
        self.variant = variant
        self._torch = torch

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            out = self.model.forward_variant(self._torch.from_numpy(batch), self.variant)
        return out.float().numpy()


register_engine("torch", TorchEngine)
