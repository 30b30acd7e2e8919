"""OASIS beauty for the generic model: the dataset with its image subsets, and features of every photo.

Shared by the shipped scoring model's builder (:mod:`piaa.training.default_model`) and the GIAA benchmark
(:mod:`piaa.evaluation.giaa`), which both read ../shared/data.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from piaa.errors import FileMissingError, InputError


def load_oasis(data_dir: Optional[Path] = None):
    """(dataset, images, subsets per image, absolute paths) of OASIS beauty from the shared data folder."""
    from piaa.data import load_dataset
    from piaa.paths import shared_data_dir

    root = Path(data_dir) if data_dir else shared_data_dir()
    ds = load_dataset("oasis-beauty", root / "oasis-beauty")
    if ds.images_root is None:
        raise FileMissingError(f"OASIS images not found next to {root / 'oasis-beauty'} (expected ../oasis/images)")
    subset_of = {}
    for name, members in ds.splits.items():
        if ds.split_kinds.get(name) == "image":
            for im in members:
                subset_of[im] = name
    images = [i for i in ds.image_ids if i in subset_of]
    if not subset_of or len(set(subset_of.values())) < 2:
        raise InputError("OASIS beauty: no image subsets found (oasis/subsets.csv)")
    paths = [Path(ds.images_root) / i for i in images]
    return ds, images, np.array([subset_of[i] for i in images]), paths


def extract_features(paths: Sequence[Path], backbones: Sequence[str], variant: str, engine: str = "auto",
                     cache="default", progress: bool = True) -> np.ndarray:
    """Features of every path for each backbone, concatenated along the feature axis; NaN rows on errors."""
    from piaa.features import FeatureExtractor

    blocks = []
    for bb in backbones:
        res = FeatureExtractor(bb, variant, cache=cache, engine=engine, progress=progress).extract(list(paths))
        blocks.append(res.features.astype(np.float64))
    return np.hstack(blocks)
