"""Plain CSV readers for anyone's own ratings (``user,image,rating``) and per-person traits."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from ._table import DUPLICATES_HINT, Table, check_duplicates, read_csv_table
from .errors import RatingsFormatError
from .ratings import RatingsDataset, Scale, make_ratings
from piaa.errors import InputError, InvalidParameterError

CONTINUOUS_BUCKETS = 11  # 0, .1, ... 1 on a [0, 1] scale


def as_scale(scale) -> Optional[Scale]:
    """Accept a :class:`Scale`, ``(min, max)`` (integer steps) or ``(min, max, buckets)``, or ``None``.

    A ``(min, max)`` range narrower than two whole steps (e.g. ``[0, 1]``, a normalised MOS) is a continuous
    scale: one bucket per integer would give a 2-bucket scale that cannot hold a score distribution, so it gets
    :data:`CONTINUOUS_BUCKETS` equally spaced buckets instead (pass buckets explicitly to choose otherwise).
    """
    if scale is None or isinstance(scale, Scale):
        return scale
    if isinstance(scale, str):
        scale = [float(x) for x in scale.replace(":", ",").split(",")]
    vals = list(scale)
    if len(vals) in (2, 3):
        try:
            ends = [float(v) for v in vals[:2]]
        except (TypeError, ValueError):
            raise InputError(f"scale must be two numbers (min, max), not {scale!r}") from None
        if not all(math.isfinite(v) for v in ends) or ends[1] <= ends[0]:
            raise InputError(f"scale must be two finite numbers with min < max, not {vals[0]!r}..{vals[1]!r}")
    if len(vals) == 2:
        lo, hi = float(vals[0]), float(vals[1])
        if hi - lo < 2:
            return Scale(lo, hi, CONTINUOUS_BUCKETS)
        return Scale(lo, hi, int(round(hi - lo)) + 1)
    if len(vals) == 3:
        return Scale(float(vals[0]), float(vals[1]), int(vals[2]))
    raise InputError(f"scale must be Scale, (min, max) or (min, max, buckets), not {scale!r}")


def infer_scale(scores: np.ndarray) -> Scale:
    """The integer range ``[floor(min), ceil(max)]`` of the scores, one bucket per integer."""
    s = np.asarray(scores, dtype=float)
    if not len(s):
        raise InputError("cannot infer a scale from zero ratings")
    if not np.isfinite(s).all():
        raise InputError("cannot infer a scale: the ratings include a value that is not a finite number")
    lo, hi = math.floor(s.min()), math.ceil(s.max())
    if hi == lo:
        hi = lo + 1
    return Scale(float(lo), float(hi), int(hi - lo) + 1)


def combine_duplicates(ratings: pd.DataFrame, keys: list) -> pd.DataFrame:
    """Average the scores of rows sharing ``keys`` (used for ``duplicates='mean'``)."""
    other = [c for c in ratings.columns if c not in keys and c != "score"]
    agg = {"score": "mean", **{c: "first" for c in other}}
    return ratings.groupby(keys, sort=False, as_index=False).agg(agg)[list(ratings.columns)]


@dataclass(frozen=True)
class OptionNames:
    """How the caller's user names the reader's options, for error messages: the Python keywords by default, a
    command's flags (``--image-column``, ``--duplicates``) when a command reads the file."""

    columns: str = "set user_col/image_col/score_col to your column names"
    duplicates: str = DUPLICATES_HINT


# the default column names also match these spellings, ignoring case ("Filename,Rating" from a photo manager)
COLUMN_SYNONYMS = {"user": ("rater", "person"), "image": ("filename", "file", "path", "photo"),
                   "rating": ("score", "stars")}


def ratings_from_table(t: Table, user_col, image_col, score_col, scale=None, criterion_col=None, criterion=None,
                       single_user=None, duplicates="error", name=None, order_col=None, extra_cols=(),
                       options: OptionNames = OptionNames()):
    """Validate a table of per-person ratings and return (ratings DataFrame, scale, notes). Column names match
    ignoring case; the default names also match :data:`COLUMN_SYNONYMS`."""
    notes = list(t.notes)
    user_col, image_col, score_col = (t.column(c, COLUMN_SYNONYMS.get(c, ())) for c in (user_col, image_col,
                                                                                          score_col))
    needed = [image_col, score_col] + ([user_col] if single_user is None else [])
    t.require(needed, f"({options.columns})")
    if criterion_col is None and "rating_type" in t.columns:
        criterion_col = "rating_type"
    if criterion is not None:
        if criterion_col is None:
            raise RatingsFormatError(t.path, 1, f"criterion={criterion!r} given but the file has no criterion column")
        t.require([criterion_col])
        crit_all = t.strings(criterion_col)
        keep = crit_all == criterion
        if not keep.any():
            raise RatingsFormatError(
                t.path, None, f"no rows with {criterion_col}={criterion!r}; values present: {sorted(set(crit_all))}"
            )
        t = Table(t.path, t.columns, t.df[keep].reset_index(drop=True), t.lines[keep], t.notes)
    if single_user is not None and user_col in t.columns:
        users = t.strings(user_col)
    elif single_user is not None:
        users = np.full(len(t), str(single_user), dtype=object)
    else:
        users = t.strings(user_col)
    images = t.strings(image_col)
    sc = as_scale(scale)
    scores = t.numbers(score_col, lo=None if sc is None else sc.min, hi=None if sc is None else sc.max)
    keys = {"user": users, "image": images}
    extra = {}
    if criterion_col is not None and criterion_col in t.columns:
        crit = t.strings(criterion_col)
        keys["criterion"] = crit
        extra["criterion"] = crit
    for c in extra_cols:
        if c in t.columns:
            extra[c] = t.df[c].str.strip().to_numpy(dtype=object)
    order = None
    if order_col is not None and order_col in t.columns:
        order = t.df[order_col].str.strip().to_numpy(dtype=object)
    keep = check_duplicates(t, keys, duplicates, order=order, hint=options.duplicates)
    n_before = len(users)
    r = make_ratings(users[keep], images[keep], scores[keep], **{k: v[keep] for k, v in extra.items()})
    if duplicates == "mean":
        r = combine_duplicates(r, [k for k in keys])
    if len(r) != n_before:
        notes.append(f"{t.path}: {n_before - len(r)} duplicate rating row(s) combined (duplicates={duplicates!r})")
    if sc is None:
        sc = infer_scale(r["score"].to_numpy())
        notes.append(f"scale inferred from the data: {sc.min:g}..{sc.max:g} ({sc.buckets} buckets)")
    return r, sc, notes


def read_ratings_csv(path, user_col="user", image_col="image", score_col="rating", scale=None, criterion_col=None,
                     criterion=None, single_user=None, *, duplicates="error", users=None, name=None,
                     images_root=None, sep="auto", encoding=None, line_endings="strict",
                     options: OptionNames = OptionNames(), **unknown) -> RatingsDataset:
    """Read anyone's own ratings from a CSV file.

    Columns default to ``user,image,rating`` (matched ignoring case; ``Filename``, ``score`` and the other
    :data:`COLUMN_SYNONYMS` are accepted for them); the separator is the header's (``,``, ``;`` or tab). Without
    ``scale`` the scale is the integer range of the data. Without a user column, ``single_user`` names the one
    person. ``criterion_col`` (default ``rating_type`` when present) becomes the ``criterion`` column;
    ``criterion`` keeps only rows with that value. Duplicated (user, image[, criterion]) rows raise an error
    unless ``duplicates`` is ``"mean"``, ``"first"`` or ``"last"``. ``users`` may name a traits CSV (see
    :func:`read_traits_csv`); then every rating's user must appear there.

    Every problem raises :class:`~piaa.data.errors.RatingsFormatError` naming the file and line.
    """
    if unknown:
        raise InvalidParameterError(f"read_ratings_csv() got unknown option(s): {', '.join(sorted(unknown))}")
    path = os.fspath(path)
    if os.path.isdir(path):
        cands = [f for f in sorted(os.listdir(path)) if f.lower().endswith((".csv", ".tsv", ".txt"))]
        pick = [f for f in cands if f.lower().startswith("ratings")] or cands
        if len(pick) != 1:
            raise RatingsFormatError(path, None, f"expected one ratings CSV in the folder, found {pick or 'none'}")
        path = os.path.join(path, pick[0])
    t = read_csv_table(path, sep=sep, encoding=encoding, line_endings=line_endings)
    r, sc, notes = ratings_from_table(t, user_col, image_col, score_col, scale, criterion_col, criterion, single_user,
                                      duplicates, options=options)
    traits = None
    files = [path]
    if users is not None:
        traits = read_traits_csv(users)
        check_known_users(t, r["user"].to_numpy(), traits, users)
        files.append(os.fspath(users))
    return RatingsDataset(name=name or os.path.splitext(os.path.basename(path))[0], ratings=r, scale=sc, users=traits,
                          images_root=images_root, notes=notes, source_files=files)


def check_known_users(t: Table, users, traits: pd.DataFrame, traits_path) -> None:
    """Every rating's user must have a row in the traits table (else an error naming the first line)."""
    known = set(traits.index)
    unknown = np.array([u not in known for u in users])
    if unknown.any():
        i = np.flatnonzero(unknown)[0]
        n = len(set(np.asarray(users)[unknown]))
        raise RatingsFormatError(
            t.path, int(t.lines[i]) if len(t.lines) == len(users) else None,
            f"unknown user {users[i]!r}: not in {traits_path} ({n} unknown user(s) in total)",
        )


def read_traits_csv(path, user_col="user", *, sep=",", encoding=None, line_endings="strict") -> pd.DataFrame:
    """Per-person traits: one row per user, indexed by ``user`` (str).

    Columns whose non-empty values are all numeric become floats (empty = NaN); others stay strings. A user
    listed twice raises an error.
    """
    t = read_csv_table(path, sep=sep, encoding=encoding, line_endings=line_endings)
    t.require([user_col])
    users = t.strings(user_col)
    seen = {}
    for i, u in enumerate(users):
        if u in seen:
            raise t.error(i, f"user {u!r} listed twice (first on line {t.lines[seen[u]]})")
        seen[u] = i
    out = {}
    for c in t.columns:
        if c == user_col:
            continue
        s = t.df[c].str.strip()
        num = pd.to_numeric(s.replace("", np.nan), errors="coerce")
        nonempty = s != ""
        out[c] = num.to_numpy(dtype=float) if (num.notna() | ~nonempty).all() else s.to_numpy(dtype=object)
    df = pd.DataFrame(out, index=pd.Index(users.astype(str), name="user"))
    return df
