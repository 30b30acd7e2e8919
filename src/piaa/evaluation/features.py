"""``fold.features``: backbone features for the methods, from the persistent feature cache, memoized in memory.

An evaluation asks for the same images thousands of times (every person, trial and method); the SQLite cache
makes a repeated request cheap, the in-memory table per (backbone, variant) makes it free.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.evaluation.methods.base import FeatureProvider
from piaa.errors import InputError


def split_backbones(backbone: str) -> List[str]:
    """``"a,b"`` / ``"a+b"`` -> ["a", "b"] (a single name -> [name]); an empty name is an error."""
    names = [b.strip() for b in str(backbone).replace("+", ",").split(",") if b.strip()]
    if not names:
        raise InputError(f"no backbone named in {backbone!r}")
    return names


class CachedFeatureProvider(FeatureProvider):
    """Features via :class:`piaa.features.FeatureExtractor` (default cache), memoized per (backbone, variant).

    Unreadable images give NaN rows and one warning line each on stderr (``errors`` keeps them).
    """

    def __init__(self, cache="default", batch_size: int = 32, workers: int = 2, progress: bool = True):
        self.cache = cache
        self.batch_size = batch_size
        self.workers = workers
        self.progress = progress
        self._memo: Dict[Tuple[str, str], Dict[str, np.ndarray]] = {}
        self._extractors: Dict[Tuple[str, str], object] = {}
        self.errors: Dict[str, str] = {}

    def _extractor(self, backbone: str, variant: str):
        key = (backbone, variant)
        if key not in self._extractors:
            from piaa.features import FeatureExtractor

            self._extractors[key] = FeatureExtractor(backbone, variant, cache=self.cache, batch_size=self.batch_size,
                                                     workers=self.workers, progress=self.progress)
        return self._extractors[key]

    def get(self, paths: Sequence[Path], backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        """Features [n, d]; a backbone concatenation ("efficientnet_lite0,efficientnet_lite2", or joined by '+')
        gives each backbone's features side by side, in that order (NaN where any of them failed)."""
        names = split_backbones(backbone)
        if len(names) > 1:
            return np.concatenate([self.get(paths, b, variant).reshape(len(paths), -1) for b in names], axis=1)
        backbone = names[0]
        memo = self._memo.setdefault((backbone, variant), {})
        keys = [str(p) for p in paths]
        todo = list(dict.fromkeys(k for k in keys if k not in memo))
        if todo:
            res = self._extractor(backbone, variant).extract(todo)
            for i, k in enumerate(todo):
                memo[k] = res.features[i]
                if i in res.errors and k not in self.errors:
                    self.errors[k] = res.errors[i]
                    print(f"warning: no features for {k}: {res.errors[i]}", file=sys.stderr)
        if not keys:
            dim = next(iter(memo.values())).shape if memo else (0,)
            return np.zeros((0, *dim), dtype=np.float32)
        return np.stack([memo[k] for k in keys])

    def preload(self, paths: List[str], backbone: str, variant: str) -> None:
        """Extract (or read from the cache) everything a fold will need in one batched pass."""
        for b in split_backbones(backbone):
            self.get(paths, b, variant)
