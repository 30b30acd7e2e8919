"""AVT-AI (Göring et al. 2023): per-person ratings of AI-generated and real images, two studies."""
from __future__ import annotations

import os

import pandas as pd

from .._table import find_file, read_csv_table
from ..csv_reader import ratings_from_table
from ..errors import RatingsFormatError
from ..ratings import RatingsDataset, Scale

SCALE = Scale(1.0, 5.0, 5)
STUDY_FILES = {1: "ratings_study1.csv", 2: "ratings_study2.csv"}


def read_avt_ai(path, study=None, criterion=None, duplicates="last") -> RatingsDataset:
    """``ratings_study1.csv`` / ``ratings_study2.csv`` (user, image, rating_type, rating 1–5, timestamp).

    ``criterion`` column = ``rating_type`` (study 1: image_appeal, realism, prompt_matching; study 2:
    image_appeal, image_quality); ``criterion=`` keeps one. ``study=1|2`` reads one study; with both, the studies'
    participants are different people who reuse the same numbers, so user ids become ``s1_<id>`` / ``s2_<id>``.
    The published files contain a few double submissions (same user, image and rating_type, seconds apart);
    by default the later one (by timestamp) is kept and a note says how many (``duplicates='error'`` to refuse).
    Image ids are ``<generator>/pNN.jpg`` under ``images/``; rated images missing there are listed in a note.
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    studies = [int(study)] if study is not None else [s for s in STUDY_FILES
                                                        if os.path.exists(os.path.join(root, STUDY_FILES[s]))]
    if not studies:
        raise RatingsFormatError(root, None, "no ratings_study1.csv or ratings_study2.csv found")
    parts, notes, files = [], [], []
    for s in studies:
        f = find_file(root, STUDY_FILES[s])
        t = read_csv_table(f)
        t.require(["user", "image", "rating_type", "rating"])
        try:
            r, _, n = ratings_from_table(t, "user", "image", "rating", scale=SCALE, criterion_col="rating_type",
                                         criterion=criterion, duplicates=duplicates, order_col="timestamp")
        except RatingsFormatError as exc:
            if criterion is not None and "no rows with" in exc.problem and len(studies) > 1:
                notes.append(f"{f}: no {criterion!r} ratings")
                continue
            raise
        r["study"] = s
        if len(studies) > 1:
            r["user"] = f"s{s}_" + r["user"]
        parts.append(r)
        notes += n
        files.append(f)
    ratings = pd.concat(parts, ignore_index=True)
    img_root = os.path.join(root, "images")
    info = None
    if os.path.isdir(img_root):
        imgs = sorted(ratings["image"].unique())
        missing = [i for i in imgs if not os.path.exists(os.path.join(img_root, i))]
        if missing:
            notes.append(f"{len(missing)} rated image(s) missing under images/: {', '.join(missing[:5])}")
        info = pd.DataFrame({"generator": [i.split("/")[0] for i in imgs],
                             "prompt_id": [os.path.splitext(i.split("/")[-1])[0] for i in imgs],
                             "file_exists": [i not in missing for i in imgs]}, index=pd.Index(imgs, name="image"))
        ppath = os.path.join(img_root, "prompts.csv")
        if os.path.exists(ppath):
            pt = read_csv_table(ppath)
            if {"ID", "prompts"} <= set(pt.columns):
                prompts = pd.Series(pt.strings("prompts", allow_empty=True), index=pt.strings("ID"))
                info["prompt"] = prompts.reindex(info["prompt_id"]).to_numpy()
                files.append(ppath)
    return RatingsDataset(name="avt-ai", ratings=ratings, scale=SCALE, image_info=info,
                          images_root=img_root if os.path.isdir(img_root) else None, notes=notes, source_files=files)
