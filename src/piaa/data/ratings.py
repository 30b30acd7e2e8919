"""The canonical ratings model every reader produces and every trainer consumes.

One long table of per-person ratings ``(user, image, score)`` plus the database's scale. Databases that only
publish aggregates (AVA vote histograms, MOS files) use a single pseudo-user (``AGGREGATE_USER``) for the mean
and may carry a per-image vote distribution in ``image_info`` (columns ``dist_0..dist_{N-1}``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from piaa.data.scale import Scale, soft_onehot  # noqa: F401  (re-exported; defined there without pandas)
from piaa.errors import MissingKeyError

AGGREGATE_USER = "__mean__"


@dataclass
class RatingsDataset:
    """Per-person ratings, per-image aggregates, per-person traits and splits of one database.

    ratings:    DataFrame with columns ``user`` (str), ``image`` (str, path relative to the images root), ``score``
                (float); optional extra columns (e.g. ``criterion``).
    scale:      the database's rating scale.
    users:      optional DataFrame indexed by ``user`` (str) with trait columns.
    image_info: optional DataFrame indexed by ``image`` (published aggregates, vote distributions, attributes).
    splits:     named splits; each maps a split name to a list of images or users, e.g.
                ``{"test": [...]}`` or ``{"user_fold_1_test": [...]}``; ``split_kinds`` says which.
    """

    name: str
    ratings: pd.DataFrame
    scale: Scale
    users: Optional[pd.DataFrame] = None
    image_info: Optional[pd.DataFrame] = None
    splits: dict = field(default_factory=dict)
    split_kinds: dict = field(default_factory=dict)  # split name -> "image" | "user"
    images_root: Optional[str] = None
    notes: list = field(default_factory=list)  # what the reader noticed (encoding fallbacks, combined duplicates...)
    source_files: list = field(default_factory=list)  # label files that were read

    # ---- convenience views -------------------------------------------------------------------------------------
    @property
    def user_ids(self) -> list:
        return sorted(self.ratings["user"].unique().tolist())

    @property
    def image_ids(self) -> list:
        return sorted(self.ratings["image"].unique().tolist())

    def image_means(self) -> pd.Series:
        """Mean score per image."""
        return self.ratings.groupby("image")["score"].mean()

    def image_stds(self) -> pd.Series:
        return self.ratings.groupby("image")["score"].std(ddof=0)

    @property
    def is_aggregate(self) -> bool:
        """True when the database publishes only per-image aggregates (one pseudo-user ``AGGREGATE_USER``)."""
        return bool(len(self.ratings)) and bool((self.ratings["user"] == AGGREGATE_USER).all())

    @property
    def criteria(self) -> list:
        """Distinct values of the optional ``criterion`` column (e.g. image_appeal, realism), else []."""
        if "criterion" not in self.ratings.columns:
            return []
        return sorted(self.ratings["criterion"].dropna().astype(str).unique().tolist())

    def image_stats(self) -> pd.DataFrame:
        """Per-image ``mean``, ``std`` (population) and ``n`` ratings; published aggregates when available.

        For aggregate-only databases the published mean/std/vote count in ``image_info`` (columns ``mean``,
        ``std``, ``votes``) are used when present.
        """
        g = self.ratings.groupby("image")["score"]
        out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "n": g.size()})
        if self.is_aggregate and self.image_info is not None:
            info = self.image_info.reindex(out.index)
            for col, dst in (("std", "std"), ("votes", "n")):
                if col in info.columns:
                    out[dst] = info[col].to_numpy()
        return out

    def for_criterion(self, criterion: str) -> "RatingsDataset":
        """A copy restricted to one criterion (the ``criterion`` column); unknown criteria raise KeyError."""
        if criterion not in self.criteria:
            raise MissingKeyError(f"{self.name} has no criterion {criterion!r}; it has {self.criteria}")
        r = self.ratings[self.ratings["criterion"] == criterion].reset_index(drop=True)
        from dataclasses import replace

        return replace(self, ratings=r, notes=list(self.notes) + [f"restricted to criterion {criterion!r}"])

    def image_distributions(self) -> pd.DataFrame:
        """Per-image score distribution over the scale's buckets (rows sum to 1).

        Uses published vote distributions (``image_info`` columns ``dist_*``) when present, else counts the
        per-person ratings into the nearest bucket.
        """
        if self.image_info is not None:
            cols = [c for c in self.image_info.columns if c.startswith("dist_")]
            if cols:
                d = self.image_info[cols].astype(float)
                return d.div(d.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
        b = self.scale.to_bucket(self.ratings["score"].to_numpy())
        counts = pd.crosstab(self.ratings["image"].to_numpy(), b)
        counts = counts.reindex(columns=range(self.scale.buckets), fill_value=0)
        counts.columns = [f"dist_{i}" for i in range(self.scale.buckets)]
        counts.index.name = "image"
        return counts.div(counts.sum(axis=1), axis=0)

    def ratings_of(self, user) -> pd.Series:
        """One person's ratings as a Series indexed by image."""
        r = self.ratings[self.ratings["user"] == str(user)]
        if r.empty:
            raise MissingKeyError(f"unknown user {user!r} in {self.name}")
        return r.set_index("image")["score"]

    def ratings_per_user(self) -> pd.Series:
        """Number of ratings per person."""
        return self.ratings.groupby("user").size()

    def summary(self) -> dict:
        rpu = self.ratings_per_user()
        return {
            "name": self.name,
            "people": int(self.ratings["user"].nunique()),
            "images": int(self.ratings["image"].nunique()),
            "ratings": int(len(self.ratings)),
            "ratings_per_person": {
                "min": int(rpu.min()) if len(rpu) else 0,
                "median": float(rpu.median()) if len(rpu) else 0.0,
                "max": int(rpu.max()) if len(rpu) else 0,
            },
            "scale": {"min": self.scale.min, "max": self.scale.max, "buckets": self.scale.buckets},
            "splits": {k: {"kind": self.split_kinds.get(k, "image"), "size": len(v)} for k, v in self.splits.items()},
            "traits": [] if self.users is None else list(map(str, self.users.columns)),
            "trait_people": 0 if self.users is None else int(len(self.users)),
            "aggregate_only": self.is_aggregate,
            "criteria": {c: int(n) for c, n in self.ratings["criterion"].value_counts().sort_index().items()}
            if "criterion" in self.ratings.columns else {},
            "score_range": [float(self.ratings["score"].min()), float(self.ratings["score"].max())]
            if len(self.ratings) else None,
            "images_root": self.images_root,
            "notes": list(self.notes),
        }


def make_ratings(users, images, scores, **extra) -> pd.DataFrame:
    """Build the canonical ratings table (``user``/``image`` as str, ``score`` float, extra columns appended)."""
    df = pd.DataFrame({
        "user": pd.Series(np.asarray(users, dtype=object)).astype(str).to_numpy(dtype=object),
        "image": pd.Series(np.asarray(images, dtype=object)).astype(str).to_numpy(dtype=object),
        "score": np.asarray(scores, dtype=float),
    })
    for k, v in extra.items():
        df[k] = np.asarray(v, dtype=object) if not np.isscalar(v) else v
    return df
