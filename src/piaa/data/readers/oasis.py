"""OASIS-beauty (Brielmann & Pelli 2019) per-person beauty ratings and the OASIS valence/arousal norms."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .._table import find_file, read_csv_table
from ..csv_reader import check_known_users, ratings_from_table, read_traits_csv
from ..errors import RatingsFormatError
from ..ratings import AGGREGATE_USER, RatingsDataset, Scale, make_ratings

SCALE = Scale(1.0, 7.0, 7)


def _read_subsets(path):
    t = read_csv_table(path)
    t.require(["image", "subset"])
    images, subsets = t.strings("image"), t.strings("subset")
    seen = {}
    for i, im in enumerate(images):
        if im in seen:
            raise t.error(i, f"image {im!r} listed twice (first on line {t.lines[seen[im]]})")
        seen[im] = i
    return t, pd.Series(subsets, index=images)


def read_oasis_beauty(path, subsets=None, images_root=None, duplicates="error") -> RatingsDataset:
    """``ratings.csv`` (user, image, rating 1–7) + ``users.csv`` traits of the OASIS-beauty study.

    Splits: the four image subsets ``subset1..subset4`` (from ``../oasis/subsets.csv`` or ``subsets=``) as
    image splits, and ``raters_subset1..4`` as user splits (the people who rated each subset). Every rating's
    user must be in ``users.csv`` and every image in the subsets file, else an error names the line.
    """
    rpath = find_file(path, "ratings.csv", what="OASIS-beauty ratings")
    root = os.path.dirname(rpath)
    t = read_csv_table(rpath)
    r, _, notes = ratings_from_table(t, "user", "image", "rating", scale=SCALE, duplicates=duplicates)
    users = None
    files = [rpath]
    upath = find_file(root, "users.csv", required=False)
    if upath:
        users = read_traits_csv(upath)
        check_known_users(t, r["user"].to_numpy(), users, upath)
        files.append(upath)
    splits, kinds = {}, {}
    spath = subsets or find_file(root, "subsets.csv", os.path.join("..", "oasis", "subsets.csv"), required=False)
    if spath:
        st, sub = _read_subsets(spath)
        files.append(spath)
        unknown = ~r["image"].isin(sub.index).to_numpy()
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise RatingsFormatError(rpath, int(t.lines[i]) if len(t.lines) == len(r) else None,
                                     f"unknown image {r['image'].iat[i]!r}: not in {spath}")
        for name in sorted(sub.unique()):
            splits[name] = sorted(sub.index[sub == name].tolist())
            kinds[name] = "image"
        rated = r.assign(subset=sub.reindex(r["image"]).to_numpy())
        per_user = rated.groupby("user")["subset"].agg(lambda s: sorted(set(s)))
        for name in sorted(sub.unique()):
            splits[f"raters_{name}"] = sorted(u for u, ss in per_user.items() if name in ss)
            kinds[f"raters_{name}"] = "user"
        multi = [u for u, ss in per_user.items() if len(ss) > 1]
        if multi:
            notes.append(f"{len(multi)} user(s) rated images of more than one subset")
    else:
        notes.append("subsets.csv not found next to the data: no image splits (pass subsets=PATH)")
    if images_root is None:
        cand = os.path.normpath(os.path.join(root, "..", "oasis", "images"))
        images_root = cand if os.path.isdir(cand) else None
    return RatingsDataset(name="oasis-beauty", ratings=r, scale=SCALE, users=users, splits=splits,
                          split_kinds=kinds, images_root=images_root, notes=notes, source_files=files)


def read_oasis_norms(path) -> RatingsDataset:
    """OASIS ``norms.csv``: valence and arousal means (1–7) as AGGREGATE_USER rows with ``criterion``."""
    npath = find_file(path, "norms.csv", what="OASIS norms")
    root = os.path.dirname(npath)
    t = read_csv_table(npath)
    cols = ["image", "Valence_mean", "Valence_SD", "Valence_N", "Arousal_mean", "Arousal_SD", "Arousal_N"]
    t.require(cols)
    images = t.strings("image")
    dup = pd.Series(images).duplicated().to_numpy()
    if dup.any():
        raise t.error(int(np.flatnonzero(dup)[0]), f"image {images[np.flatnonzero(dup)[0]]!r} listed twice")
    val = t.numbers("Valence_mean", 1, 7)
    aro = t.numbers("Arousal_mean", 1, 7)
    n = len(images)
    r = make_ratings(np.full(2 * n, AGGREGATE_USER), np.concatenate([images, images]), np.concatenate([val, aro]),
                     criterion=np.array(["valence"] * n + ["arousal"] * n, dtype=object))
    info = pd.DataFrame(index=pd.Index(images, name="image"))
    for c in t.columns:
        if c == "image":
            continue
        if c.endswith(("_mean", "_SD", "_N")):
            info[c] = t.numbers(c, allow_empty=True)
        else:
            info[c] = t.strings(c, allow_empty=True)
    splits, kinds, files = {}, {}, [npath]
    spath = find_file(root, "subsets.csv", required=False)
    if spath:
        _, sub = _read_subsets(spath)
        files.append(spath)
        for name in sorted(sub.unique()):
            splits[name], kinds[name] = sorted(sub.index[sub == name].tolist()), "image"
    img_root = os.path.join(root, "images")
    return RatingsDataset(name="oasis-norms", ratings=r, scale=SCALE, image_info=info, splits=splits,
                          split_kinds=kinds, images_root=img_root if os.path.isdir(img_root) else None,
                          source_files=files, notes=["aggregate norms from an independent rater sample"])
