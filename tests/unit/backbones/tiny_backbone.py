"""A tiny randomly initialized backbone registered from a local weights file (the user-weights path).

It uses the same TF-SAME convolution as EfficientNet-Lite (asymmetric padding at stride 2), so the ONNX
export's padding freeze is exercised in milliseconds instead of seconds.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from piaa.backbones import register_local_backbone
from piaa.backbones.backbone import SequentialBackbone
from piaa.backbones.efficientnet_lite import SameConv2d
from piaa.backbones.registry import LITE_MEAN, LITE_STD, PretrainedCfg

INPUT_SIZE = 32
CHANNELS = (4, 8, 6)


def make_module() -> SequentialBackbone:
    layers = [
        nn.Sequential(SameConv2d(3, CHANNELS[0], 3, 2), nn.BatchNorm2d(CHANNELS[0]), nn.ReLU6()),
        nn.Sequential(SameConv2d(CHANNELS[0], CHANNELS[1], 5, 2), nn.ReLU6()),
        nn.Sequential(SameConv2d(CHANNELS[1], CHANNELS[2], 3, 1), nn.ReLU6()),
    ]
    return SequentialBackbone(layers, CHANNELS)


def tiny_cfg(**over) -> PretrainedCfg:
    return PretrainedCfg(**{"input_size": INPUT_SIZE, "mean": LITE_MEAN, "std": LITE_STD, **over})


def register_tiny(name: str, tmp_path, seed: int = 0, suffix: str = ".pt", cfg: PretrainedCfg | None = None):
    """Save random weights to ``tmp_path/name+suffix`` and register them; returns the weights path."""
    torch.manual_seed(seed)
    model = make_module().eval()
    with torch.no_grad():  # non-trivial BN statistics, so folding BN into the conv is really tested
        bn = model.layers[0][1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(model.state_dict(), str(path))
    else:
        torch.save(model.state_dict(), path)
    register_local_backbone(name, make_module, path, cfg or tiny_cfg(), override=True)
    return path


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch):
    """Tiny forwards are fastest on one thread, and OpenMP spin-waits badly on a shared, busy machine.

    Autouse in every module that imports it.
    """
    monkeypatch.setenv("PIAA_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
