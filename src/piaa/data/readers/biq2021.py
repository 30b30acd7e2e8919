"""BIQ2021 (Ahmed et al., J. Electronic Imaging 2022): blind image quality of real photographs.

Layout read (the project's copy, see ``../shared/README.md``):

* ``train.csv`` — ``image, mos``: one mean opinion score per image, the mean of 30 observers' 1–5 ratings scaled to
  0–1 by the authors. Loaded as the aggregate pseudo-user with scale 0–1 in 5 buckets (0, .25, … 1 = the five
  rating levels).
* ``test.csv`` (optional, same columns) — the official test split *with* its MOS, when you have it.
* ``test_images.txt`` (optional) — one test image name a line, without MOS; becomes the image split ``test``
  (images without ratings; ``piaa score`` can score them).
* ``images/`` — ``ssNN (K).jpg``; the prefix is the subset: ``ss01`` the author's own photos, ``ss02`` photos
  taken to span distortions, ``ss03`` Unsplash photos. Subsets become image splits and ``image_info["subset"]``.

Rated images that are missing under ``images/`` are reported in the notes (the ratings are kept: the reader
describes the label files; experiments drop ratings of missing files with a warning).
"""
from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from .._table import find_file, read_csv_table, read_text
from ..errors import RatingsFormatError
from ..ratings import AGGREGATE_USER, RatingsDataset, Scale, make_ratings

SCALE = Scale(0.0, 1.0, 5)
SUBSETS = {"ss01": "own photos (natural camera/processing flaws)",
           "ss02": "captures spanning distortions (ISO, shutter, focus/motion blur, light)",
           "ss03": "Unsplash photos"}
_SUBSET = re.compile(r"^(ss\d\d)\b", re.IGNORECASE)


def subset_of(image: str) -> str:
    """``'ss02 (17).jpg'`` -> ``'ss02'``; names without the prefix -> ``''``."""
    m = _SUBSET.match(os.path.basename(str(image)))
    return m.group(1).lower() if m else ""


def _read_mos(path, seen: dict):
    t = read_csv_table(path)
    t.require(["image", "mos"], "(BIQ2021 layout: image,mos)")
    images = t.strings("image")
    for i, im in enumerate(images):
        if im in seen:
            raise t.error(i, f"image {im!r} listed twice (first in {seen[im]})")
        seen[im] = f"{path}, line {t.lines[i]}"
    return images, t.numbers("mos", SCALE.min, SCALE.max)


def _read_names(path):
    """One image name a line (names contain spaces, so the whole stripped line is the name); blank lines skipped."""
    ids, lines, first = [], [], {}
    for n, line in enumerate(read_text(path).split("\n"), 1):
        name = line.strip()
        if not name:
            continue
        if name in first:
            raise RatingsFormatError(path, n, f"image {name!r} listed twice (first on line {first[name]})")
        first[name] = n
        ids.append(name)
        lines.append(n)
    return ids, lines


def read_biq2021(path, images_root=None) -> RatingsDataset:
    """BIQ2021 from its folder (or its ``train.csv``); see the module doc for the layout."""
    root = path if os.path.isdir(path) else os.path.dirname(path)
    train = find_file(path, "train.csv", "Train.csv", what="BIQ2021 train.csv (image,mos)")
    seen: dict = {}
    parts, splits, kinds, files, notes = [], {}, {}, [train], []
    images, mos = _read_mos(train, seen)
    parts.append((images, mos))
    splits["train"], kinds["train"] = list(images), "image"
    test_csv = find_file(root, "test.csv", "Test.csv", required=False)
    if test_csv:
        timg, tmos = _read_mos(test_csv, seen)
        parts.append((timg, tmos))
        splits["test"], kinds["test"] = list(timg), "image"
        files.append(test_csv)
    test_list = find_file(root, "test_images.txt", required=False)
    if test_list:
        ids, lines = _read_names(test_list)
        clash = [i for i in ids if i in seen and i not in splits.get("test", ())]
        if clash:
            raise RatingsFormatError(test_list, int(lines[ids.index(clash[0])]),
                                     f"test image {clash[0]!r} is also a training image ({seen[clash[0]]})")
        if "test" in splits and set(ids) != set(splits["test"]):
            notes.append(f"{test_list} and {test_csv} list different test images; the rated ones are kept")
        else:
            splits["test"], kinds["test"] = list(ids), "image"
            if not test_csv:
                notes.append(f"{len(ids)} test images listed without MOS (held back): unrated split 'test'")
        files.append(test_list)
    all_images = np.concatenate([p[0] for p in parts])
    ratings = make_ratings(np.full(len(all_images), AGGREGATE_USER), all_images,
                           np.concatenate([p[1] for p in parts]))
    listed = sorted(set(all_images) | set(splits.get("test", ())))
    info = pd.DataFrame({"subset": [subset_of(i) for i in listed]}, index=pd.Index(listed, name="image"))
    for s in sorted(set(info["subset"]) - {""}):
        splits[s], kinds[s] = info.index[info["subset"] == s].tolist(), "image"
    other = int((info["subset"] == "").sum())
    if other:
        notes.append(f"{other} image name(s) without an ss01/ss02/ss03 prefix (no subset)")
    if images_root is None:
        cand = os.path.join(root, "images")
        images_root = cand if os.path.isdir(cand) else None
    if images_root is not None:
        missing = [i for i in listed if not os.path.isfile(os.path.join(images_root, i))]
        if missing:
            notes.append(f"{len(missing)} listed image(s) missing under {images_root} (e.g. {missing[:3]})")
    else:
        notes.append("images/ folder not found next to train.csv")
    return RatingsDataset(name="biq2021", ratings=ratings, scale=SCALE, image_info=info, splits=splits,
                          split_kinds=kinds, images_root=images_root, notes=notes, source_files=files)
