"""The contract between the evaluation runner and the methods it compares.

The runner (``piaa.evaluation.runner``) reads an experiment file, builds one ``FoldData`` per fold holding only
the data a method may train on for that fold (docs/design.md §3.2: task ratings restricted to images outside the
test fold), calls ``method.prepare(fold)`` once per fold, then for every test person and trial either
``method.predict_generic(query)`` (zero-shot methods) or ``method.personalize(support, scores, query)``.
Supports/queries are drawn by the runner from fixed seeds and are the same for every method.

Images are passed as absolute ``Path``s. ``fold.features.get(paths, backbone=..., variant=...)`` returns cached
backbone features (NaN rows for unreadable images), so methods never decode a photo twice.
Fold-level artifacts that several methods share (the generic model, a task bank) go through ``fold.shared``:
``fold.shared_get(key, builder)`` builds once per fold and returns the same object to every method.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.data.ratings import RatingsDataset, Scale
from piaa.errors import UnknownNameError


@dataclass
class TaskSource:
    """One training source of an experiment (``[[tasks]]``), already filtered for the current fold.

    dataset.ratings has columns user, image, score (image = path relative to ``images_root``);
    ``users`` (traits, indexed by user id as str) is present when the task file gave ``users``.
    ``per_image`` is True when the ratings file holds a single score per image (published means).
    """

    name: str
    dataset: RatingsDataset
    images_root: Path
    users: Optional[pd.DataFrame] = None
    per_image: bool = False

    @property
    def scale(self) -> Scale:
        return self.dataset.scale

    def image_paths(self, images: Optional[Sequence[str]] = None) -> List[Path]:
        ids = self.dataset.image_ids if images is None else list(images)
        return [self.images_root / i for i in ids]


class FeatureProvider:
    """Interface of ``fold.features``; the runner supplies a cached implementation."""

    def get(self, paths: Sequence[Path], backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT) -> np.ndarray:
        raise NotImplementedError


@dataclass
class FoldData:
    fold: str                       # fold name, "all" without folds
    tasks: List[TaskSource]         # training-only data for this fold
    generic_task: str               # name of the task the generic model trains on
    test_scale: Scale
    features: FeatureProvider
    seed: int = 0
    workdir: Optional[Path] = None  # where a method may cache fold artifacts (may be None)
    shared: Dict[str, Any] = field(default_factory=dict)
    # absolute paths of every image a test person of this fold rated (no ratings): lets a method precompute
    # per-image work once (features, task-model scores) instead of once per person and trial
    test_images: List[Path] = field(default_factory=list)

    def task(self, name: str) -> TaskSource:
        for t in self.tasks:
            if t.name == name:
                return t
        raise UnknownNameError("task", name, [t.name for t in self.tasks])

    def shared_get(self, key: str, builder: Callable[[], Any]) -> Any:
        if key not in self.shared:
            self.shared[key] = builder()
        return self.shared[key]


@dataclass
class ReferenceContext:
    """Test-side data that only *reference* methods (``reference = True``, e.g. the crowd oracle) may see.

    Before every ``predict_generic``/``personalize`` call of a reference method the runner sets
    ``method.reference_context`` to the ratings of every test person of the current fold (``ratings``: columns
    user, image, score, path — ``path`` is the absolute image path as a str, as in the query) and the id of the
    person being evaluated (``user``), plus the test people's traits (``users``, indexed by user id as str) when
    the experiment's ``[test]`` gives a users file. Ordinary methods never get it (their attribute stays
    ``None``), so a method cannot peek at test ratings by accident.
    """

    ratings: pd.DataFrame
    user: str
    users: Optional[pd.DataFrame] = None


class Method:
    """Base class of an evaluated method. Subclasses set ``name`` and implement ``prepare`` plus either
    ``predict_generic`` (``zero_shot = True``) or ``personalize``. ``options`` come from the experiment file's
    ``[methods.<name>]`` table, so every hyperparameter is settable without code."""

    name: ClassVar[str] = ""
    zero_shot: ClassVar[bool] = False
    reference: ClassVar[bool] = False   # shown in reports as a reference, not a method
    description: ClassVar[str] = ""
    # small training settings under which tests/unit/test_registered_contracts.py runs this method in seconds on
    # a tiny synthetic fold (like a personalizer's ``contract_example``); merged over that test's family defaults
    contract_options: ClassVar[Dict[str, Any]] = {}
    reference_context: Optional[ReferenceContext] = None  # set by the runner for reference methods only

    def __init__(self, **options: Any) -> None:
        self.options = dict(options)

    def prepare(self, fold: FoldData) -> None:
        self.fold = fold

    def predict_generic(self, query: Sequence[Path]) -> np.ndarray:
        raise NotImplementedError(f"{self.name} is not a zero-shot method")

    def personalize(self, support: Sequence[Path], support_scores: np.ndarray, query: Sequence[Path]) -> np.ndarray:
        raise NotImplementedError(f"{self.name} is a zero-shot method")
