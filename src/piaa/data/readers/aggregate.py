"""Databases that publish per-image aggregates only: AVA, KonIQ-10k, SPAQ, TAD66K, AADB.

Each loads into the canonical model as one pseudo-user :data:`~piaa.data.ratings.AGGREGATE_USER` per image with
the published mean as ``score``; vote histograms go to ``image_info`` as ``dist_0..dist_{N-1}``.
"""
from __future__ import annotations

import glob
import os

import numpy as np
import pandas as pd

from .._table import Table, find_file, read_csv_table, read_id_list
from ..errors import RatingsFormatError
from ..ratings import AGGREGATE_USER, RatingsDataset, Scale, make_ratings


def _unique_images(t: Table, images) -> None:
    dup = pd.Series(images).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(np.asarray(images) == images[i])[0])
        raise t.error(i, f"image {images[i]!r} listed twice (first on line {t.lines[first]})")


def _aggregate(images, means) -> pd.DataFrame:
    return make_ratings(np.full(len(images), AGGREGATE_USER), images, means)


# ---------------------------------------------------------------- AVA ----------------------------------------------
AVA_SCALE = Scale(1.0, 10.0, 10)


def _ava_votes(t: Table, count_cols):
    counts = np.column_stack([t.numbers(c, lo=0, integer=True) for c in count_cols])
    total = counts.sum(axis=1)
    zero = total == 0
    if zero.any():
        raise t.error(int(np.flatnonzero(zero)[0]), "image has no votes")
    mean = (counts * np.arange(1, 11)).sum(axis=1) / total
    std = np.sqrt((counts * (np.arange(1, 11)[None, :] - mean[:, None]) ** 2).sum(axis=1) / total)
    return counts, total, mean, std


def read_ava(path, ilgnet_train=None, ilgnet_test=None) -> RatingsDataset:
    """AVA (Murray et al. 2012) in its published layout.

    * ``AVA.txt`` — per the database's README: col 1 index, col 2 image id, cols 3–12 counts of ratings 1..10,
      cols 13–14 semantic tag ids (0 = none), col 15 challenge id; whitespace separated.
    * else ``tanet_train/val/test.csv`` (TANet's release: ``image_id, score2..score11`` = counts of 1..10,
      ``tag1, tag2`` semantic tags, ``tag3`` challenge id), each file an image split ``tanet_<name>``.
    * ``aesthetics_image_lists/*.jpgl`` — the official lists (one id per line), each an image split named after
      the file (``generic_test``, ``generic_ls_train``, ``animal_train`` ...). When ``AVA.txt`` is loaded the
      lists are restricted to ids it contains (the commonly cited 19,930-image test set is ``generic_test``
      after this restriction) and a note gives how many ids were absent.
    * ILGNet-style splits: ``train_splits/ILGnet_train.txt`` / ``ILGnet_test.txt`` (or ``ilgnet_train=`` /
      ``ilgnet_test=``), first whitespace token of each line is the image id (``123.jpg`` or ``123``); only the
      first token is read because the rest of ILGNet's line layout could not be confirmed.

    Image ids are ``<id>.jpg``. ``score`` is the mean vote, ``image_info`` has ``dist_0..dist_9``, ``votes``,
    ``std``, ``tag1``, ``tag2``, ``challenge``.
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    notes, files, splits, kinds = [], [], {}, {}
    ava_txt = find_file(root, "AVA.txt", os.path.join("AVA_dataset", "AVA.txt"), required=False)
    frames = []
    if ava_txt:
        t = read_csv_table(ava_txt, sep=None, header=False,
                           names=["index", "image_id"] + [f"c{i}" for i in range(1, 11)] + ["tag1", "tag2", "challenge"])
        count_cols = [f"c{i}" for i in range(1, 11)]
        tag_cols = ["tag1", "tag2", "challenge"]
        frames.append((t, count_cols, tag_cols, None))
        files.append(ava_txt)
    else:
        for f in sorted(glob.glob(os.path.join(root, "tanet_*.csv"))):
            t = read_csv_table(f)
            count_cols = [f"score{i}" for i in range(2, 12)]
            t.require(["image_id"] + count_cols, "(TANet AVA layout)")
            frames.append((t, count_cols, ["tag1", "tag2", "tag3"], "tanet_" + os.path.basename(f)[6:-4]))
            files.append(f)
        if frames:
            notes.append("AVA.txt not found: loaded TANet's AVA label files (a subset of AVA)")
    if not frames:
        raise RatingsFormatError(root, None, "no AVA.txt (or TANet tanet_*.csv) found")
    infos, rats = [], []
    for t, count_cols, tag_cols, split in frames:
        ids = t.strings("image_id")
        bad = ~pd.Series(ids).str.fullmatch(r"\d+").to_numpy()
        if bad.any():
            raise t.error(int(np.flatnonzero(bad)[0]), f"image id {ids[np.flatnonzero(bad)[0]]!r} is not a number")
        images = np.array([f"{i}.jpg" for i in ids], dtype=object)
        _unique_images(t, images)
        counts, total, mean, std = _ava_votes(t, count_cols)
        info = pd.DataFrame(counts, columns=[f"dist_{i}" for i in range(10)], index=pd.Index(images, name="image"))
        info["votes"], info["std"] = total, std
        for src, dst in zip(tag_cols, ["tag1", "tag2", "challenge"]):
            if src in t.columns:
                info[dst] = t.numbers(src, lo=0, integer=True, allow_empty=True)
        infos.append(info)
        rats.append(_aggregate(images, mean))
        if split:
            splits[split], kinds[split] = list(images), "image"
    info = pd.concat(infos)
    dup = info.index.duplicated()
    if dup.any():
        raise RatingsFormatError(files[0], None, f"image {info.index[dup][0]!r} appears in more than one file")
    ratings = pd.concat(rats, ignore_index=True)
    known = set(info.index)
    lists = sorted(glob.glob(os.path.join(root, "aesthetics_image_lists", "*.jpgl")))
    for f in lists:
        ids, _ = read_id_list(f)
        imgs = [f"{i}.jpg" for i in ids]
        name = os.path.basename(f)[:-5]
        if ava_txt:
            present = [i for i in imgs if i in known]
            if len(present) != len(imgs):
                notes.append(f"{name}: {len(imgs) - len(present)} of {len(imgs)} listed ids are not in AVA.txt")
            imgs = present
        splits[name], kinds[name] = imgs, "image"
        files.append(f)
    if lists and not ava_txt:
        notes.append("official lists kept whole (AVA.txt absent, so ids without labels could not be removed)")
    for name, opt, cand in (("ilgnet_train", ilgnet_train, "ILGnet_train.txt"), ("ilgnet_test", ilgnet_test, "ILGnet_test.txt")):
        f = opt or find_file(root, os.path.join("train_splits", cand), cand, required=False)
        if f:
            ids, _ = read_id_list(f)
            imgs = [i if i.endswith(".jpg") else f"{i}.jpg" for i in ids]
            splits[name], kinds[name] = imgs, "image"
            files.append(f)
    img_root = os.path.join(root, "images")
    return RatingsDataset(name="ava", ratings=ratings, scale=AVA_SCALE, image_info=info, splits=splits,
                          split_kinds=kinds, images_root=img_root if os.path.isdir(img_root) else None,
                          notes=notes, source_files=files)


# ---------------------------------------------------------------- KonIQ-10k ----------------------------------------
def read_koniq10k(path) -> RatingsDataset:
    """KonIQ-10k: ``koniq10k_scores_and_distributions.csv`` (image_name, c1..c5, c_total, MOS, SD, MOS_zscore)
    or ``koniq10k_scores.csv`` (image_name, MOS_zscore, MOS). MOS on 1–5 (5 buckets); MOS_zscore (0–100) kept in
    ``image_info``. The distributions file's vote counts become ``dist_0..dist_4``; a ``set`` column, if present,
    gives image splits.
    """
    f = find_file(path, "koniq10k_scores_and_distributions.csv", "koniq10k_scores.csv",
                  os.path.join("koniq10k_scores_and_distributions", "koniq10k_scores_and_distributions.csv"))
    t = read_csv_table(f)
    t.require(["image_name", "MOS"])
    images = t.strings("image_name")
    _unique_images(t, images)
    scale = Scale(1.0, 5.0, 5)
    mos = t.numbers("MOS", scale.min, scale.max)
    info = pd.DataFrame(index=pd.Index(images, name="image"))
    if "MOS_zscore" in t.columns:
        info["MOS_zscore"] = t.numbers("MOS_zscore", 0, 100)
    cc = [f"c{i}" for i in range(1, 6)]
    if all(c in t.columns for c in cc):
        for i, c in enumerate(cc):
            info[f"dist_{i}"] = t.numbers(c, lo=0, integer=True)
    if "SD" in t.columns:
        info["std"] = t.numbers("SD", lo=0)
    if "c_total" in t.columns:
        info["votes"] = t.numbers("c_total", lo=0, integer=True)
    splits, kinds = {}, {}
    if "set" in t.columns:
        s = t.strings("set")
        for name in sorted(set(s)):
            splits[name], kinds[name] = list(images[s == name]), "image"
    root = os.path.dirname(f)
    img_root = next((p for p in (os.path.join(root, "1024x768"), os.path.join(root, "512x384")) if os.path.isdir(p)), None)
    return RatingsDataset(name="koniq10k", ratings=_aggregate(images, mos), scale=scale, image_info=info,
                          splits=splits, split_kinds=kinds, images_root=img_root, source_files=[f])


# ---------------------------------------------------------------- SPAQ ---------------------------------------------
def read_spaq(path, scene_labels=True) -> RatingsDataset:
    """SPAQ: ``MOS and Image attribute scores.csv`` (``Image name, MOS, Brightness, Colorfulness, Contrast,
    Noisiness, Sharpness``; UTF-8 with BOM), all on 0–100 (integer slider, 101 buckets). If the CSV is absent the
    published ``.xlsx`` with the same columns is read. ``Scene category labels.xlsx`` (scene weights per image)
    joins ``image_info`` when present and ``scene_labels`` is true. SPAQ publishes no official split.
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    scale = Scale(0.0, 100.0, 101)
    f = find_file(root, "MOS and Image attribute scores.csv", required=False)
    notes = []
    if f:
        t = read_csv_table(f)
    else:
        f = find_file(root, "MOS and Image attribute scores.xlsx")
        x = pd.read_excel(f, dtype=str)
        t = Table(f, [str(c).strip() for c in x.columns], x.fillna("").astype(str).set_axis(
            [str(c).strip() for c in x.columns], axis=1), np.arange(2, len(x) + 2), [f"{f}: line = spreadsheet row"])
    t.require(["Image name", "MOS"])
    images = t.strings("Image name")
    _unique_images(t, images)
    mos = t.numbers("MOS", scale.min, scale.max)
    info = pd.DataFrame(index=pd.Index(images, name="image"))
    for c in ["Brightness", "Colorfulness", "Contrast", "Noisiness", "Sharpness"]:
        if c in t.columns:
            info[c] = t.numbers(c, scale.min, scale.max)
    files = [f]
    sfile = find_file(root, "Scene category labels.xlsx", required=False) if scene_labels else None
    if sfile:
        s = pd.read_excel(sfile)
        s = s.rename(columns={s.columns[0]: "image"}).set_index("image")
        unknown = s.index.difference(info.index)
        if len(unknown):
            notes.append(f"{sfile}: {len(unknown)} image(s) not in the MOS file")
        info = info.join(s.add_prefix("scene_"))
        files.append(sfile)
    img_root = next((p for p in (os.path.join(root, "TestImage"), os.path.join(root, "images")) if os.path.isdir(p)), None)
    return RatingsDataset(name="spaq", ratings=_aggregate(images, mos), scale=scale, image_info=info,
                          images_root=img_root, notes=notes, source_files=files)


# ---------------------------------------------------------------- TAD66K -------------------------------------------
def read_tad66k(path) -> RatingsDataset:
    """TAD66K: ``train.csv`` / ``test.csv`` (``image, score``), mean scores on 1–10 (10 buckets), each file an
    image split. (The release also has per-theme files; only the two split files are read.)"""
    root = path if os.path.isdir(path) else os.path.dirname(path)
    scale = Scale(1.0, 10.0, 10)
    parts, splits, kinds, files = [], {}, {}, []
    seen = {}
    for name in ("train", "test", "val"):
        f = find_file(root, f"{name}.csv", os.path.join("labels", f"{name}.csv"), required=name != "val")
        if not f:
            continue
        t = read_csv_table(f)
        t.require(["image", "score"])
        images = t.strings("image")
        _unique_images(t, images)
        for i, im in enumerate(images):
            if im in seen:
                raise t.error(i, f"image {im!r} is also in {seen[im]}")
        seen.update({im: f for im in images})
        parts.append(_aggregate(images, t.numbers("score", scale.min, scale.max)))
        splits[name], kinds[name] = list(images), "image"
        files.append(f)
    img_root = os.path.join(root, "images")
    return RatingsDataset(name="tad66k", ratings=pd.concat(parts, ignore_index=True), scale=scale, splits=splits,
                          split_kinds=kinds, images_root=img_root if os.path.isdir(img_root) else None,
                          source_files=files)


# ---------------------------------------------------------------- AADB ---------------------------------------------
AADB_SPLITS = {"train": "imgListTrainRegression_score.txt", "validation": "imgListValidationRegression_score.txt",
               "test": "imgListTestNewRegression_score.txt"}


def read_aadb(path, per_rater=None) -> RatingsDataset:
    """AADB (Kong et al. 2016): ``imgListFiles_label/imgList{Train,Validation,TestNew}Regression_score.txt``, lines
    ``<image file> <score>`` with the averaged score normalised to 0–1 (ratings were 1–5, hence 5 buckets at
    0, .25, ... 1); each file is an image split. Per-attribute files (``..._<attribute>.txt``) are not read.

    Per-rater labels: the layout of AADB's per-worker annotations could not be confirmed from public sources, so
    they are read only when ``per_rater=`` names a CSV with ``user,image,rating`` columns (1–5), through
    :func:`~piaa.data.read_ratings_csv`.
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    lab = os.path.join(root, "imgListFiles_label")
    lab = lab if os.path.isdir(lab) else root
    if per_rater is not None:
        from ..csv_reader import read_ratings_csv

        ds = read_ratings_csv(per_rater, scale=(1, 5), name="aadb")
    parts, splits, kinds, files = [], {}, {}, []
    for name, fname in AADB_SPLITS.items():
        f = find_file(lab, fname, required=False)
        if not f:
            continue
        t = read_csv_table(f, sep=None, header=False, names=["image", "score"])
        images = t.strings("image")
        _unique_images(t, images)
        parts.append(_aggregate(images, t.numbers("score", 0.0, 1.0)))
        splits[name], kinds[name] = list(images), "image"
        files.append(f)
    if not parts:
        raise RatingsFormatError(lab, None, f"none of {', '.join(AADB_SPLITS.values())} found")
    ratings = pd.concat(parts, ignore_index=True)
    dup = ratings["image"].duplicated()
    if dup.any():
        raise RatingsFormatError(files[0], None, f"image {ratings['image'][dup].iat[0]!r} is in more than one split")
    if per_rater is not None:
        ds.splits, ds.split_kinds = splits, kinds
        ds.image_info = ratings.set_index("image")[["score"]].rename(columns={"score": "published_score"})
        ds.source_files = files + ds.source_files
        return ds
    return RatingsDataset(name="aadb", ratings=ratings, scale=Scale(0.0, 1.0, 5), splits=splits, split_kinds=kinds,
                          source_files=files)
