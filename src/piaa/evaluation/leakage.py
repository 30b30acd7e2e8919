"""The runner's guard against fine-tuned-trunk leakage: a trunk never scores a test photo whose ratings it saw.

Why by construction: a fine-tuned trunk (``piaa train trunk``) has learned from the ratings of its training
photos. Every feature request of a fold goes through :class:`TrunkLeakGuard`, which knows the fold's test photos;
when the requested backbone is a fine-tuned trunk and one of the requested photos is a test photo the trunk saw
(its content hash is in the trunk's ``seen_images``), the evaluation stops with :class:`TrunkLeakageError` instead
of reporting a leaked number. ImageNet backbones have an empty set and pass unchecked. The same check serves
``piaa bench giaa`` (:func:`check_trunk_unseen`). Policy and choices: docs/experiments.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, Sequence

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.evaluation.experiment import ExperimentError
from piaa.evaluation.methods.base import FeatureProvider


class TrunkLeakageError(ExperimentError):
    """A fine-tuned trunk would score a test photo whose ratings trained it."""


def _hash(path, memo: Dict[str, str]) -> str:
    from piaa.io.hashing import image_file_hash

    key = str(path)
    if key not in memo:
        try:
            memo[key] = image_file_hash(path)
        except OSError:
            memo[key] = ""  # unreadable: it gets no features either
    return memo[key]


def check_trunk_unseen(backbone: str, paths: Iterable, where: str, memo: Dict[str, str] | None = None) -> None:
    """TrunkLeakageError when a fine-tuned trunk in ``backbone`` ("a+b" allowed) saw any photo of ``paths``."""
    from piaa.backbones.finetuned import seen_images
    from piaa.evaluation.features import split_backbones

    memo = {} if memo is None else memo
    paths = list(paths)
    for b in split_backbones(backbone):
        seen = seen_images(b)
        if not seen or not paths:
            continue
        bad = [p for p in paths if _hash(p, memo) in seen]
        if bad:
            raise TrunkLeakageError(
                f"{where}: backbone {b!r} is a fine-tuned trunk trained on the ratings of {len(bad)} of its test "
                f"photo(s) (e.g. {Path(bad[0]).name}); its scores there would be leaked. Use a backbone that never "
                f"saw them (the default {DEFAULT_BACKBONE}, or a trunk trained without this database)")


class TrunkLeakGuard(FeatureProvider):
    """``fold.features`` of one fold: the runner's provider, refusing leaked trunk features (module doc)."""

    def __init__(self, inner: FeatureProvider, test_images: Sequence[Path], fold: str):
        self.inner = inner
        self.fold = fold
        self._test = {str(p) for p in test_images}
        self._hashes: Dict[str, str] = {}
        self._checked: Dict[str, set] = {}

    def _check(self, paths: Sequence[Path], backbone: str) -> None:
        done = self._checked.setdefault(backbone, set())
        todo = [p for p in paths if str(p) in self._test and str(p) not in done]
        if todo:
            check_trunk_unseen(backbone, todo, f"fold {self.fold}", self._hashes)
            done.update(str(p) for p in todo)

    def get(self, paths: Sequence[Path], backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        self._check(paths, backbone)
        return self.inner.get(paths, backbone, variant)

    def preload(self, paths, backbone: str, variant: str) -> None:
        self._check(paths, backbone)
        if hasattr(self.inner, "preload"):
            self.inner.preload(paths, backbone, variant)
        else:
            self.inner.get([Path(p) for p in paths], backbone, variant)

    def __getattr__(self, name):  # errors, cache, ... of the wrapped provider
        return getattr(self.inner, name)
