"""``piaa train trunk`` configuration: a TOML file (configs/trunk_default.toml) read into :class:`TrunkConfig`.

Sections: ``[trunk]`` base backbone and split (first trainable layer), ``[data]`` databases and the seeded
val/test shares, ``[train]`` optimisation, ``[tasks]`` per-task loss weights.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List

from piaa.errors import InputError


class TrunkConfigError(InputError):
    """A trunk training configuration that cannot be used."""


@dataclass
class TrunkConfig:
    base: str = "efficientnet_lite0"
    split: int = 12                     # layers[split:] train (12 = Lite0's last two stages + head conv)
    databases: List[str] = field(default_factory=lambda: ["oasis", "biq2021", "agiqa3k"])
    val: float = 0.1
    test: float = 0.15
    split_seed: int = 0
    max_images: int = 0                 # >0: a seeded subset of each database (smoke runs and tests)
    seed: int = 0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-4                    # trunk layers
    head_lr: float = 1e-3
    weight_decay: float = 1e-2
    dropout: float = 0.2
    views: int = 2                      # 2 = plain + horizontal mirror (augmentation)
    repeat: Dict[str, int] = field(default_factory=lambda: {"oasis": 2})  # passes per epoch of a database
    task_weights: Dict[str, float] = field(default_factory=dict)          # default 1.0
    selection: List[str] = field(default_factory=lambda: ["beauty", "biq_quality", "agiqa_quality"])
    threads: int = 0                    # torch threads (0: every core piaa may use)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self) -> dict:
        return asdict(self)


_SECTIONS = {
    "trunk": ("base", "split"),
    "data": ("databases", "val", "test", "split_seed", "repeat", "max_images"),
    "train": ("seed", "epochs", "batch_size", "lr", "head_lr", "weight_decay", "dropout", "views", "selection",
              "threads"),
}


def load_config(path) -> TrunkConfig:
    import tomllib

    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrunkConfigError(f"{path}: trunk config not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrunkConfigError(f"{path}: not valid TOML ({exc})") from None
    return config_from_dict(raw, str(path))


def config_from_dict(raw: dict, where: str = "config") -> TrunkConfig:
    kw: dict = {}
    for sec, keys in _SECTIONS.items():
        part = raw.get(sec, {})
        unknown = sorted(set(part) - set(keys))
        if unknown:
            raise TrunkConfigError(f"{where}: unknown key(s) {unknown} in [{sec}]; allowed: {list(keys)}")
        kw.update(part)
    tasks = raw.get("tasks", {})
    if tasks:
        kw["task_weights"] = {str(k): float(v) for k, v in tasks.items()}
    extra = sorted(set(raw) - set(_SECTIONS) - {"tasks"})
    if extra:
        raise TrunkConfigError(f"{where}: unknown section(s) {extra}; allowed: {sorted(_SECTIONS) + ['tasks']}")
    try:
        cfg = TrunkConfig(**kw)
    except TypeError as exc:
        raise TrunkConfigError(f"{where}: {exc}") from None
    if cfg.views not in (1, 2):
        raise TrunkConfigError(f"{where}: views must be 1 or 2, got {cfg.views}")
    if not (0 <= cfg.val < 1 and 0 <= cfg.test < 1 and cfg.val + cfg.test < 1):
        raise TrunkConfigError(f"{where}: val and test shares must be in [0, 1) and sum below 1")
    if cfg.epochs < 1 or cfg.batch_size < 2:
        raise TrunkConfigError(f"{where}: epochs >= 1 and batch_size >= 2 required")
    return cfg
