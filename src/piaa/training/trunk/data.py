"""The rated databases a trunk learns from, each split (seeded, stratified) into train / val / test parts.

Every database here is a training source *not reserved for checking*: OASIS beauty distributions (+ valence and
arousal norms), BIQ2021 ``train.csv`` quality, AGIQA-3K ``train.csv`` quality. AVT-AI is refused by name: it is
the independent comparison with other IQA metrics. The held-back test lists (BIQ2021 ``test_images.txt``, the
other AGIQA-3K images) are never read.

Parts: ``train`` trains the trunk; ``val`` chooses its epoch; ``test`` is never seen by the trunk and measures
the heads built on it (``piaa.training.trunk.quality``). The split is a pure function of the seed, the image names
and the stratum, so every run and every consumer sees the same parts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from piaa.errors import FileMissingError, InputError

DATABASES = ("oasis", "biq2021", "agiqa3k")
RESERVED = ("avt-ai", "avtai", "avt_ai")


@dataclass
class TaskData:
    """One database: image paths, a split part per image, and one target array per task."""

    database: str
    names: List[str]
    paths: List[Path]
    strata: np.ndarray
    targets: Dict[str, np.ndarray]            # task -> [n] scores or [n, buckets] distributions
    kinds: Dict[str, str]                     # task -> "regression" | "distribution"
    bucket_values: Dict[str, np.ndarray] = field(default_factory=dict)
    part: Optional[np.ndarray] = None         # "train" / "val" / "test" per image

    def mask(self, part: str) -> np.ndarray:
        return self.part == part


def split_parts(names: List[str], strata, val: float, test: float, seed: int) -> np.ndarray:
    """A part per image: within each stratum, a seeded shuffle; the first ``test`` share -> test, the next
    ``val`` share -> val, the rest train (at least one train image per stratum)."""
    strata = np.asarray(strata, dtype=object)
    part = np.full(len(names), "train", dtype=object)
    order = np.argsort(np.asarray(names, dtype=object))  # independent of the input order
    for g in sorted(set(strata.tolist()), key=str):
        idx = order[strata[order] == g]
        rng = np.random.default_rng([seed, _stable(str(g))])
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(test * len(idx)))
        n_val = int(round(val * len(idx)))
        part[idx[:n_test]] = "test"
        part[idx[n_test:n_test + n_val]] = "val"
    return part


def _stable(s: str) -> int:
    import zlib

    return zlib.crc32(s.encode("utf-8"))


def load_database(name: str, data_dir: Optional[Path] = None) -> TaskData:
    """The named database from the shared data folder (``oasis``, ``biq2021`` or ``agiqa3k``)."""
    from piaa.paths import shared_data_dir

    key = name.lower()
    if key in RESERVED:
        raise InputError("AVT-AI is reserved for the independent comparison with other IQA metrics and never "
                         "trains a trunk; remove it from [data]")
    root = Path(data_dir) if data_dir else shared_data_dir()
    if key == "oasis":
        return _oasis(root)
    if key == "biq2021":
        return _biq(root)
    if key == "agiqa3k":
        return _agiqa(root)
    raise InputError(f"unknown trunk training database {name!r}; known: {', '.join(DATABASES)}")


def _oasis(root: Path) -> TaskData:
    import pandas as pd

    from piaa.models.giaa import distributions_from_ratings
    from piaa.training.oasis import load_oasis

    ds, images, subsets, paths = load_oasis(root)
    dist = distributions_from_ratings(ds, images)
    norms = pd.read_csv(root / "oasis" / "norms.csv").set_index("image")
    val = norms.loc[images, "Valence_mean"].to_numpy(np.float64)
    aro = norms.loc[images, "Arousal_mean"].to_numpy(np.float64)
    return TaskData("oasis", list(images), list(paths), np.asarray(subsets, dtype=object),
                    {"beauty": dist, "valence": val, "arousal": aro},
                    {"beauty": "distribution", "valence": "regression", "arousal": "regression"},
                    {"beauty": np.asarray(ds.scale.values, dtype=np.float64)})


def _biq(root: Path) -> TaskData:
    from piaa.training.quality_model import load_biq2021

    images, mos, subsets, paths = load_biq2021(root / "biq2021")
    return TaskData("biq2021", list(images), list(paths), np.asarray(subsets, dtype=object),
                    {"biq_quality": mos}, {"biq_quality": "regression"})


def _agiqa(root: Path) -> TaskData:
    import pandas as pd

    d = root / "agiqa3k"
    csv = d / "train.csv"
    if not csv.is_file():
        raise FileMissingError(f"AGIQA-3K train.csv not found in {d}")
    t = pd.read_csv(csv)
    paths = [d / "images" / n for n in t["image"]]
    return TaskData("agiqa3k", t["image"].astype(str).tolist(), paths, t["generator"].astype(str).to_numpy(object),
                    {"agiqa_quality": t["mos_quality"].to_numpy(np.float64)}, {"agiqa_quality": "regression"})


def subsample(data: TaskData, n: int, seed: int) -> TaskData:
    """A seeded subset of ``n`` images (all when there are fewer), in the original order."""
    if n <= 0 or n >= len(data.names):
        return data
    return take(data, np.sort(np.random.default_rng(seed).choice(len(data.names), n, replace=False)))


def take(data: TaskData, keep) -> TaskData:
    """The images ``keep`` (indices or a boolean mask) of ``data``, parts unset."""
    keep = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=int)
    return TaskData(data.database, [data.names[i] for i in keep], [data.paths[i] for i in keep], data.strata[keep],
                    {k: np.asarray(v)[keep] for k, v in data.targets.items()}, dict(data.kinds),
                    dict(data.bucket_values))
