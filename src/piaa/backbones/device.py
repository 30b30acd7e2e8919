"""Which torch device runs the networks: ``--device cpu|cuda|mps`` (or ``PIAA_DEVICE``), else automatic.

One process-wide setting, read where torch runs a network: eager feature extraction (``TorchEngine``), task
models and task-vector fits (``models.task_vectors``), fine-tuned trunks. ``auto`` (the default) picks CUDA,
then Apple's MPS, when torch sees one, else the CPU. The default scoring path runs ONNX Runtime on the CPU and
never imports torch; it moves to torch only when a device other than the CPU is named explicitly.
"""
from __future__ import annotations

import os
from typing import Optional

from piaa.errors import InputError

CHOICES = ("auto", "cpu", "cuda", "mps")
_SETTING: Optional[str] = None


def check_device(name: str) -> str:
    """``name`` normalized (``cuda:1`` allowed); an unknown name raises ``InputError``."""
    value = str(name).strip().lower()
    if value.split(":", 1)[0] not in CHOICES or (":" in value and not value.startswith("cuda:")):
        raise InputError(f"unknown device {name!r}; use one of {', '.join(CHOICES)} (or cuda:N)")
    return value


def set_device(name: Optional[str]) -> None:
    """Set the process-wide device (``None`` or ``auto``: pick automatically)."""
    global _SETTING
    _SETTING = None if name is None else check_device(name)


def requested_device() -> str:
    """The device asked for (``--device`` / ``set_device``, else ``PIAA_DEVICE``, else ``auto``); no torch."""
    if _SETTING is not None:
        return _SETTING
    env = os.environ.get("PIAA_DEVICE", "").strip()
    return check_device(env) if env else "auto"


def explicit_accelerator() -> bool:
    """True when a device other than the CPU was named (the default ONNX path then yields to torch)."""
    return requested_device() not in ("auto", "cpu")


def torch_device():
    """The ``torch.device`` to run on; a named device torch cannot see raises ``InputError``."""
    import torch

    want = requested_device()
    if want == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if want.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {want}: torch sees no CUDA device here (use --device cpu)")
    if want == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InputError("--device mps: torch sees no Apple MPS device here (use --device cpu)")
    return torch.device(want)
