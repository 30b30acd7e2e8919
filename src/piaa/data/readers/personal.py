"""Per-person databases: FLICKR-AES, PARA, PsychoFlickr, REAL-CUR."""
from __future__ import annotations

import glob
import os

import numpy as np
import pandas as pd

from .._table import find_file, read_csv_table, read_id_list
from ..csv_reader import check_known_users, ratings_from_table
from ..errors import RatingsFormatError
from ..ratings import RatingsDataset, Scale, make_ratings


def _check_users_known(path, lines, ids, known, what):
    for i, u in enumerate(ids):
        if u not in known:
            raise RatingsFormatError(path, int(lines[i]), f"unknown user {u!r}: not among the {what}")


# ---------------------------------------------------------------- FLICKR-AES ---------------------------------------
def read_flickr_aes(path, test_workers=None, duplicates="error") -> RatingsDataset:
    """FLICKR-AES (Ren et al., ICCV 2017).

    * ``FLICKR-AES_image_labeled_by_each_worker.csv`` — header ``worker, imagePair, score`` (the published file has
      spaces after the commas; names are stripped), one row per worker rating, scores 1–5 (5 buckets).
    * ``FLICKR-AES_image_score.txt`` — ``<image> <score>`` per line: the authors' weighted average per image,
      kept as ``image_info['published_score']`` (its range is not documented, so it is not range-checked).
    * test workers — the 37 workers the paper holds out. Their list's file name in the release could not be
      confirmed; pass ``test_workers=FILE`` (one worker id per line) or put a file matching ``*test*worker*``
      next to the ratings. Splits ``test_workers`` / ``train_workers`` (user splits). Listed workers without
      ratings raise an error.
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    f = find_file(root, "FLICKR-AES_image_labeled_by_each_worker.csv",
                  os.path.join("FLICKR-AES-001", "FLICKR-AES_image_labeled_by_each_worker.csv"))
    t = read_csv_table(f)
    t.require(["worker", "imagePair", "score"])
    r, scale, notes = ratings_from_table(t, "worker", "imagePair", "score", scale=(1, 5), duplicates=duplicates)
    files = [f]
    info = None
    sfile = find_file(root, "FLICKR-AES_image_score.txt", required=False)
    if sfile:
        st = read_csv_table(sfile, sep=None, header=False, names=["image", "score"])
        ims = st.strings("image")
        info = pd.DataFrame({"published_score": st.numbers("score")}, index=pd.Index(ims, name="image"))
        if info.index.duplicated().any():
            i = int(np.flatnonzero(info.index.duplicated())[0])
            raise st.error(i, f"image {ims[i]!r} listed twice")
        files.append(sfile)
    splits, kinds = {}, {}
    tw = test_workers
    if tw is None:
        cands = [p for p in glob.glob(os.path.join(root, "*")) if "test" in os.path.basename(p).lower()
                 and "worker" in os.path.basename(p).lower() and os.path.isfile(p)]
        tw = cands[0] if len(cands) == 1 else None
    if tw is not None:
        ids, lines = read_id_list(tw)
        ids = [i.strip(",") for i in ids]
        known = set(r["user"])
        _check_users_known(tw, lines, ids, known, f"workers of {os.path.basename(f)}")
        splits["test_workers"], kinds["test_workers"] = ids, "user"
        splits["train_workers"], kinds["train_workers"] = sorted(known - set(ids)), "user"
        if len(ids) != 37:
            notes.append(f"test worker list has {len(ids)} workers (the paper uses 37)")
        files.append(tw)
    else:
        notes.append("no test worker list found (pass test_workers=FILE)")
    img_root = next((p for p in (os.path.join(root, "40K"), os.path.join(root, "FLICKR-AES-001", "40K"))
                     if os.path.isdir(p)), None)
    return RatingsDataset(name="flickr-aes", ratings=r, scale=scale, image_info=info, splits=splits,
                          split_kinds=kinds, images_root=img_root, notes=notes, source_files=files)


# ---------------------------------------------------------------- PARA ---------------------------------------------
PARA_SCALE = Scale(1.0, 5.0, 9)
PARA_ATTRS = ["qualityScore", "compositionScore", "colorScore", "dofScore", "lightScore", "contentScore",
              "contentPreference", "willingnessToShare", "difficultyOfJudgment", "isObjectEmphasis", "imgEmotion",
              "semantic"]


def read_para(path, criterion="aestheticScore", duplicates="error") -> RatingsDataset:
    """PARA (Yang et al., CVPR 2022) as released (``annotation/`` + ``userset/`` + ``validation_images.txt``).

    * ``annotation/PARA-Images.csv`` — one row per (user, image): ``sessionId, imageName, userId,
      aestheticScore`` (1–5 in steps of .5, 9 buckets) and the attribute scores (``qualityScore``,
      ``compositionScore``, ``colorScore``, ``dofScore``, ``lightScore``, ``contentScore``, ``contentPreference``,
      ``willingnessToShare``, ``difficultyOfJudgment``, ``isObjectEmphasis``, ``imgEmotion``, ``semantic``), kept
      as extra columns. ``criterion=`` picks another score column as ``score``.
    * ``annotation/PARA-UserInfo.csv`` — ``userId, age, gender, EducationalLevel, artExperience,
      photographyExperience, personality-E/A/N/O/C`` (Big-Five) → ``users``.
    * ``annotation/PARA-GiaaTrain.csv`` / ``PARA-GiaaTest.csv`` — image splits ``giaa_train`` / ``giaa_test``.
    * ``userset/{Train,Test}UserIDs_Fold{1..4}.txt`` — user splits ``user_fold_<k>_train`` / ``_test``.
    * ``validation_images.txt`` — image split ``validation``.

    Image ids are ``<sessionId>/<imageName>`` (the path under ``imgs/``); bare names in split files are mapped
    through the ratings. Without ``PARA-Images.csv`` only the splits are loaded (with a note).
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    if os.path.basename(os.path.normpath(root)) in ("annotation", "userset"):
        root = os.path.dirname(os.path.normpath(root))
    notes, files, splits, kinds = [], [], {}, {}
    ipath = find_file(root, os.path.join("annotation", "PARA-Images.csv"), "PARA-Images.csv", required=False)
    users = None
    name_map = {}
    if ipath:
        t = read_csv_table(ipath)
        t.require(["sessionId", "imageName", "userId", criterion])
        sess, names = t.strings("sessionId"), t.strings("imageName")
        images = np.array([f"{s}/{n}" for s, n in zip(sess, names)], dtype=object)
        t.df["_image"] = images
        t.columns = t.columns + ["_image"]
        extra = [c for c in PARA_ATTRS if c in t.columns and c != criterion]
        r, _, n = ratings_from_table(t, "userId", "_image", criterion, scale=PARA_SCALE, duplicates=duplicates,
                                     extra_cols=extra)
        for c in extra:
            num = pd.to_numeric(r[c], errors="coerce")
            if num.notna().all():
                r[c] = num.to_numpy(dtype=float)
        notes += n
        files.append(ipath)
        for full, bare in zip(images, names):
            prev = name_map.setdefault(bare, full)
            if prev != full:
                notes.append(f"image name {bare!r} occurs in two sessions")
        upath = find_file(root, os.path.join("annotation", "PARA-UserInfo.csv"), "PARA-UserInfo.csv", required=False)
        if upath:
            from ..csv_reader import read_traits_csv

            users = read_traits_csv(upath, user_col="userId")
            check_known_users(t, r["user"].to_numpy(), users, upath)
            files.append(upath)
    else:
        r = make_ratings([], [], [])
        notes.append("annotation/PARA-Images.csv not found: only the splits were loaded")
    known_users = set(r["user"]) if len(r) else None

    def _map(ids, f, lines):
        if not name_map:
            return list(ids)
        out = []
        for i, x in enumerate(ids):
            full = x if x in name_map.values() else name_map.get(x)
            if full is None:
                raise RatingsFormatError(f, int(lines[i]), f"unknown image {x!r}: not in {ipath}")
            out.append(full)
        return out

    for name in ("Train", "Test"):
        g = find_file(root, os.path.join("annotation", f"PARA-Giaa{name}.csv"), f"PARA-Giaa{name}.csv", required=False)
        if g:
            gt = read_csv_table(g)
            gt.require(["imageName", "sessionId"])
            ims = [f"{s}/{n}" for s, n in zip(gt.strings("sessionId"), gt.strings("imageName"))]
            splits[f"giaa_{name.lower()}"], kinds[f"giaa_{name.lower()}"] = ims, "image"
            files.append(g)
    for f in sorted(glob.glob(os.path.join(root, "userset", "*UserIDs_Fold*.txt"))):
        base = os.path.basename(f)[:-4]
        part, fold = base.split("UserIDs_Fold")
        ids, lines = read_id_list(f)
        if known_users is not None:
            _check_users_known(f, lines, ids, known_users, "raters in PARA-Images.csv")
        key = f"user_fold_{fold}_{part.lower()}"
        splits[key], kinds[key] = list(ids), "user"
        files.append(f)
    v = find_file(root, "validation_images.txt", required=False)
    if v:
        ids, lines = read_id_list(v)
        splits["validation"], kinds["validation"] = _map(ids, v, lines), "image"
        files.append(v)
    if not files:
        raise RatingsFormatError(root, None, "no PARA label files found (annotation/, userset/)")
    img_root = os.path.join(root, "imgs")
    return RatingsDataset(name="para", ratings=r, scale=PARA_SCALE, users=users, splits=splits, split_kinds=kinds,
                          images_root=img_root if os.path.isdir(img_root) else None, notes=notes, source_files=files)


# ---------------------------------------------------------------- PsychoFlickr -------------------------------------
def read_psychoflickr(path, traits=None) -> RatingsDataset:
    """PsychoFlickr (Cristani et al. / Segalin et al.): 300 Flickr users, each with 200 "favourite" images and
    Big-Five questionnaires.

    The distribution layout could not be confirmed from public sources. Read here: one folder per user under
    ``PATH`` (or ``PATH/images``) holding that user's liked images, and a traits CSV (``traits=`` or
    ``traits.csv`` / ``bigfive.csv`` in ``PATH``) with a ``user`` column and the five trait columns. A liked
    image is an implicit positive: ``score`` 1 on a 0–1 scale with 2 buckets (there are no explicit ratings).
    Users with traits but no folder, or folders without traits, raise an error.
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    img_root = os.path.join(root, "images") if os.path.isdir(os.path.join(root, "images")) else root
    exts = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp")
    users_l, images_l = [], []
    for d in sorted(os.listdir(img_root)):
        p = os.path.join(img_root, d)
        if not os.path.isdir(p):
            continue
        for fn in sorted(os.listdir(p)):
            if fn.lower().endswith(exts):
                users_l.append(d)
                images_l.append(f"{d}/{fn}")
    if not users_l:
        raise RatingsFormatError(img_root, None, "no per-user folders of liked images found")
    r = make_ratings(users_l, images_l, np.ones(len(users_l)))
    tpath = traits or find_file(root, "traits.csv", "bigfive.csv", "BigFive.csv", required=False)
    users, files, notes = None, [], []
    if tpath:
        from ..csv_reader import read_traits_csv

        users = read_traits_csv(tpath)
        folder_users = set(r["user"])
        missing = sorted(folder_users - set(users.index))
        if missing:
            raise RatingsFormatError(tpath, None, f"unknown user(s) {missing[:5]}: folders without a traits row")
        extra = sorted(set(users.index) - folder_users)
        if extra:
            raise RatingsFormatError(tpath, None, f"user(s) {extra[:5]} have traits but no folder of liked images")
        files.append(tpath)
    else:
        notes.append("no traits file found (pass traits=FILE)")
    return RatingsDataset(name="psychoflickr", ratings=r, scale=Scale(0.0, 1.0, 2), users=users,
                          images_root=img_root, notes=notes + ["implicit feedback: every liked image scores 1"],
                          source_files=files)


# ---------------------------------------------------------------- REAL-CUR -----------------------------------------
def read_real_cur(path, duplicates="error") -> RatingsDataset:
    """REAL-CUR (Ren et al., ICCV 2017): 14 real users' own photo albums, each photo scored 1–5 by its owner.

    The release's file layout could not be confirmed from public sources. Read here: one label file per user in
    ``PATH`` (``*.txt`` with ``<image> <score>`` lines, or ``*.csv`` with ``image,score`` header); the user id is
    the file name without extension, image ids ``<user>/<image>``. Scale 1–5, 5 buckets.
    """
    root = path if os.path.isdir(path) else os.path.dirname(path)
    parts, files = [], []
    for f in sorted(glob.glob(os.path.join(root, "*.txt")) + glob.glob(os.path.join(root, "*.csv"))):
        if os.path.basename(f).lower().startswith("readme"):
            continue
        user = os.path.splitext(os.path.basename(f))[0]
        if f.endswith(".csv"):
            t = read_csv_table(f)
            t.require(["image", "score"])
        else:
            t = read_csv_table(f, sep=None, header=False, names=["image", "score"])
        t.df["image"] = user + "/" + t.df["image"].str.strip()
        r, _, _n = ratings_from_table(t, "user", "image", "score", scale=(1, 5), single_user=user,
                                      duplicates=duplicates)
        parts.append(r)
        files.append(f)
    if not parts:
        raise RatingsFormatError(root, None, "no per-user label files (*.txt / *.csv) found")
    return RatingsDataset(name="real-cur", ratings=pd.concat(parts, ignore_index=True), scale=Scale(1.0, 5.0, 5),
                          images_root=root, source_files=files)
