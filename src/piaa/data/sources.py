"""Loading the ratings an experiment names: task sources, the test table and the fold assignment.

Everything is read through the data layer's line-aware CSV readers, so a bad file is reported with its path and
line. Ratings of images that are missing on disk are dropped with a warning (one missing photo must not sink a
whole evaluation; the AVT-AI set really lacks ``midjourney/p25``).
"""
from __future__ import annotations

import functools
import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

from piaa.data._table import read_csv_table
from piaa.data.csv_reader import read_ratings_csv, read_traits_csv
from piaa.data.ratings import RatingsDataset
from piaa.data.source_spec import ExperimentError, SourceSpec
from piaa.data.traits_filter import WhereError, filter_users


@dataclass
class LoadedSource:
    """One ratings table as an experiment uses it."""

    label: str
    dataset: RatingsDataset            # ratings: user, image (relative to images_root), score
    images_root: Path
    users: Optional[pd.DataFrame]      # traits of the people kept (after ``where``), indexed by user
    per_image: bool

    def paths(self, images) -> List[str]:
        """Absolute path strings of image ids (the identity used to compare images across sources)."""
        return image_paths(self.images_root, images)


def image_paths(root: Path, images) -> List[str]:
    """``root/image`` as normalized absolute path strings; the root is resolved once (symlinks), each id is only
    joined and normalized, once per distinct id (rating tables repeat ids thousands of times)."""
    base = str(Path(root).resolve())
    ids = pd.Series(np.asarray(list(images) if not hasattr(images, "__array__") else images, dtype=object))
    memo = {i: os.path.normpath(os.path.join(base, i)) for i in ids.unique()}
    return ids.map(memo).tolist()


def stable_hash(*parts) -> int:
    """A process-independent 32-bit hash (Python's ``hash`` of str is salted per run)."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode("utf-8"))


def load_source(spec: SourceSpec, label: str, seed: int = 0, warnings: Optional[list] = None,
                per_image: Optional[bool] = None, apply_max_images: bool = True) -> LoadedSource:
    """Read one ``[[tasks]]``/``[test]`` source: ratings, traits, ``where`` filter, missing files, ``max_images``.

    ``apply_max_images=False`` leaves the image cap to the caller (the test applies it per fold).
    """
    warnings = warnings if warnings is not None else []
    ds = _read_ratings(
        _file_key(spec.ratings), spec.user_column, spec.image_column, spec.rating_column,
        tuple(spec.scale) if spec.scale else None, spec.criterion_column, spec.criterion, spec.single_user,
        spec.duplicates, _file_key(spec.users) if spec.single_user is None and spec.users else None,
    )
    ds = replace(ds, name=label, images_root=str(spec.images))
    for note in ds.notes:
        if "scale inferred" in note:
            warnings.append(f"{label}: {note} (set scale = [min, max] to be explicit)")
    if spec.criterion is None and "criterion" in ds.ratings.columns and ds.ratings["criterion"].nunique() > 1:
        raise ExperimentError(
            f"{label}: {spec.ratings} mixes several criteria {ds.criteria}; choose one with criterion = \"...\" "
            f"(a person's appeal and realism ratings of an image are different questions)")
    if not spec.images.is_dir():
        raise ExperimentError(f"{label}: images folder not found: {spec.images}")
    r = ds.ratings
    traits = None
    if spec.users is not None:
        traits = _read_traits(_file_key(spec.users))
        if spec.where:
            try:
                traits = filter_users(traits, spec.where, source=label)
            except WhereError as exc:
                raise ExperimentError(f"{label}: {exc}") from None
            r = r[r["user"].isin(set(traits.index))]
            if r.empty:
                raise ExperimentError(f"{label}: where = {spec.where!r} keeps {len(traits)} people but none of "
                                      f"them has ratings in {spec.ratings}")
    images = sorted(r["image"].unique())
    exists = np.array([(spec.images / i).is_file() for i in images], dtype=bool)
    if not exists.any():
        raise ExperimentError(f"{label}: none of the {len(images)} rated images exists under {spec.images} "
                              f"(first: {images[0]!r}); check images = \"...\"")
    if not exists.all():
        missing = [i for i, ok in zip(images, exists) if not ok]
        warnings.append(f"{label}: {len(missing)} rated image(s) missing under {spec.images}, their ratings are "
                        f"ignored (e.g. {missing[:3]})")
        r = r[~r["image"].isin(set(missing))]
        images = [i for i, ok in zip(images, exists) if ok]
    if apply_max_images and spec.max_images is not None and spec.max_images < len(images):
        r = r[r["image"].isin(sample_images(images, spec.max_images, seed, "tasks"))]  # same draw for every task
    r = r.reset_index(drop=True)
    if traits is not None:
        traits = traits.loc[traits.index.isin(set(r["user"]))]
    detected = r["user"].nunique() == 1
    if per_image is None:
        per_image = detected
    ds = replace(ds, ratings=r, users=traits)
    return LoadedSource(label=label, dataset=ds, images_root=spec.images.resolve(), users=traits,
                        per_image=bool(per_image))


def _file_key(path):
    """(path, size, mtime): the memo below must never return the contents of a file that has changed."""
    p = Path(path)
    try:
        st = p.stat()
        return (str(p), st.st_size, st.st_mtime_ns)
    except OSError:
        return (str(p), -1, -1)  # the reader reports the missing file


@functools.lru_cache(maxsize=8)
def _read_ratings(fkey, user_col, image_col, score_col, scale, criterion_col, criterion, single_user, duplicates,
                  users_key) -> RatingsDataset:
    """Experiments read the same big file for many tasks (rater populations); parse it once per run."""
    return read_ratings_csv(fkey[0], user_col=user_col, image_col=image_col, score_col=score_col,
                            scale=list(scale) if scale else None, criterion_col=criterion_col, criterion=criterion,
                            single_user=single_user, duplicates=duplicates, users=users_key[0] if users_key else None)


@functools.lru_cache(maxsize=8)
def _read_traits(fkey) -> pd.DataFrame:
    return read_traits_csv(fkey[0])


def sample_images(images, n: int, seed: int, label: str) -> set:
    """A seeded random subset of ``n`` of ``images`` (sorted first, so the draw does not depend on file order)."""
    images = sorted(images)
    if n >= len(images):
        return set(images)
    rng = np.random.default_rng([int(seed), stable_hash("max_images", label)])
    return set(np.asarray(images, dtype=object)[rng.choice(len(images), n, replace=False)])


def read_folds(path: Path, column: str = "fold", image_column: str = "image") -> Dict[str, str]:
    """``image -> fold name`` from a CSV with an image column and a fold column."""
    t = read_csv_table(path)
    t.require([image_column, column], "(the folds file needs an image column and the fold column; "
                                      "set fold_column = \"...\" if yours is named differently)")
    images = t.strings(image_column)
    folds = t.strings(column)
    out: Dict[str, str] = {}
    for i, (img, f) in enumerate(zip(images, folds)):
        if img in out and out[img] != f:
            raise t.error(i, f"image {img!r} is in two folds ({out[img]!r} and {f!r})")
        out[img] = str(f)
    if len(set(out.values())) < 2:
        raise ExperimentError(f"{path}: column {column!r} has a single fold {sorted(set(out.values()))}; the fold "
                              f"protocol needs at least two")
    return out
