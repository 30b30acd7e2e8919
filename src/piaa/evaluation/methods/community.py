"""``community``: a person joining a library that other people already rated.

For the held-back-people protocol (``[test] user_folds``) the fold's training people have rated the test images;
that is what a shared library knows when a new member arrives. Per fold the method fits a
:class:`piaa.personalize.community.CommunityTaste` on the ratings of the community task (default: the generic
task) over the union of its images and the fold's test images: the community mean shrunk towards a ridge content
head, the factors of people's deviations, and a content kernel from the taste prior of the same people. Per
person it folds their own ratings in (a Gaussian-process posterior mean); with no ratings it is the baseline
(``community-zero``). The fold-in's noise and content weight are chosen per support size on the training people
only (:class:`~piaa.personalize.community.SettingsSearch`: some of them play the newcomer).

Options: ``backbone``, ``variant`` (features of the content head and kernel), ``task`` (the community's ratings),
``noise`` / ``content_weight`` (fixed settings instead of the search), ``groups``, ``max_people``.
The method reads only the fold's training tasks, never the test ratings (it is not a reference); without user
folds a test image nobody in the community rated gets the content head's score.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.errors import InputError
from piaa.data.sources import image_paths
from piaa.evaluation.methods.base import FoldData, Method
from piaa.evaluation.methods.baselines import rescale
from piaa.evaluation.methods.registry import register_method

_OPTIONS = ("backbone", "variant", "task", "noise", "content_weight", "groups", "max_people")


class _Library:
    """The fold's community model over the library's images, keyed by absolute path."""

    def __init__(self, fold: FoldData, backbone: str, variant: str, task_name: str, groups: int, max_people: int):
        from piaa.personalize.community import LibraryCommunity

        task = fold.task(task_name)
        r = task.dataset.ratings
        paths = image_paths(task.images_root, r["image"])
        order = list(dict.fromkeys(list(dict.fromkeys(paths)) + [str(p) for p in fold.test_images]))
        self.index = {p: i for i, p in enumerate(order)}
        X = np.asarray(fold.features.get([Path(p) for p in order], backbone=backbone, variant=variant),
                       dtype=np.float64)
        ratings = r[["user"]].assign(image=[self.index[p] for p in paths],
                                     score=rescale(r["score"].to_numpy(float), task.scale, fold.test_scale))
        # the same model and per-k settings as piaa serve's library model (piaa.profiles.library_taste)
        self.community = LibraryCommunity(ratings, X, len(order), groups=groups, max_people=max_people,
                                          seed=fold.seed)
        self.model = self.community.model

    def rows(self, paths: Sequence[Path]) -> np.ndarray:
        try:
            return np.array([self.index[str(p)] for p in paths], dtype=int)
        except KeyError as exc:
            raise RuntimeError(f"community: image {exc.args[0]} is neither a community image nor a test image "
                               f"of the fold") from None


def _shared_library(fold: FoldData, options: dict) -> _Library:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InputError(f"community: unknown option(s) {unknown}; allowed: {list(_OPTIONS)}")
    backbone = options.get("backbone", DEFAULT_BACKBONE)
    variant = options.get("variant", DEFAULT_VARIANT)
    task = options.get("task", fold.generic_task)
    groups, max_people = int(options.get("groups", 3)), int(options.get("max_people", 60))
    return fold.shared_get(f"community:{backbone}:{variant}:{task}:{groups}:{max_people}",
                           lambda: _Library(fold, backbone, variant, task, groups, max_people))


@register_method
class CommunityMethod(Method):
    name = "community"
    description = "library taste: community mean + content, the person's ratings folded in (GP on people's deviations)"

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        self.lib = _shared_library(fold, self.options)
        fixed = {key: float(self.options[key]) for key in ("noise", "content_weight") if key in self.options}
        # fixed options replace the search's choice; the fitted model and its search are the fold's, shared
        self.community = self.lib.community.with_fixed(**fixed) if fixed else self.lib.community

    def personalize(self, support, support_scores, query) -> np.ndarray:
        return self.community.predict(self.lib.rows(support), support_scores, self.lib.rows(query))


@register_method
class CommunityZeroMethod(Method):
    name = "community-zero"
    zero_shot = True
    description = "library taste at zero ratings: the community mean shrunk towards a content head"

    def prepare(self, fold: FoldData) -> None:
        super().prepare(fold)
        self.lib = _shared_library(fold, self.options)

    def predict_generic(self, query) -> np.ndarray:
        return self.lib.model.baseline[self.lib.rows(query)]
