"""Trait targets for PA_IAA's trait head: "the traits of the people who like image i" (docs/design.md §1A).

The paper trains its trait head on Big-Five scores attached to images. Here traits come from the raters
themselves: for image ``i`` rated by people ``u`` with (standardized) trait ``z_u``,

    t_i = Σ_u w_ui z_u / Σ_u |w_ui|

where ``w_ui`` says how much rater ``u`` likes ``i`` *for them*. The default ("residual") is the rating minus the
rater's own linear fit on the image's crowd mean: what is left is taste. docs/design.md's example weighting, the rating
minus the rater's mean ("centered"), also carries popularity × scale use — a rater who spreads the scale wide
pulls every popular image toward their traits — so a trait that merely goes with wide scale use (OASIS: TEPS
consummatory pleasure) looked like the most reliable "taste" trait while its targets repeated the generic score.
"zscore" (centered / the rater's SD) is offered too. Normalizing by ``Σ|w|`` keeps the target on the trait's
z-scale whatever the number of raters. Each target is then divided by ``margin × max_i |t_i|`` (margin 1.1) so all
targets lie strictly inside (−1, 1) for tanh; the scale factors are kept so predictions can be read back in z
units.

Traits are numeric columns, or string columns with a known ordinal/binary coding (OASIS-beauty politics,
education, gender, income); other text columns are ignored. Big-Five columns (PsychoFlickr, PARA) are numeric and
work unchanged. ``rank_traits`` measures each candidate: the split-half reliability of its image targets (does an
independent half of the raters give the same "liker profile" per image?) — a trait whose targets are noise
cannot help the fusion, however it is weighted — and ``select_traits`` picks five reliable, mutually
non-redundant ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd
from piaa.errors import InputError, MissingKeyError

# codings of OASIS-beauty's text traits; unknown / "notSay" levels become NaN (rater ignored for that trait)
ORDINAL_CODINGS: Dict[str, Dict[str, float]] = {
    "politic": {"strongLiberal": -3, "moderateLiberal": -2, "slightLiberal": -1, "neutral": 0,
                "slightConservative": 1, "moderateConservative": 2, "strongConservative": 3},
    "education": {"gradeSchool": 0, "highSchool": 1, "someCollege": 2, "collegeDegree": 3, "graduateDegree": 4},
    "gender": {"male": 0, "female": 1},
    # income is garbled in the source; only the three readable levels are used
    "income": {"<$70k": 0, "<$100k": 1, "$100k+": 2},
}
# the names used in docs/CLI for OASIS-beauty's columns
TRAIT_ALIASES = {"politics": "politic"}
DEFAULT_CANDIDATES = ("PHQ", "TEPS_ant", "TEPS_con", "age", "politic", "gender", "mood_1", "education", "income")
TARGET_MARGIN = 1.1


def encode_traits(users: pd.DataFrame, columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Numeric trait table (float, NaN = unknown) from a users table; text columns via ``ORDINAL_CODINGS``.

    ``columns=None`` keeps every numeric column and every coded text column.
    """
    if users is None or not len(users):
        raise InputError("no users table: trait targets need per-person traits (a users CSV)")
    cols = list(users.columns) if columns is None else [TRAIT_ALIASES.get(c, c) for c in columns]
    out = {}
    for c in cols:
        if c not in users.columns:
            raise MissingKeyError(f"trait {c!r} not in the users table; columns: {list(users.columns)}")
        s = users[c]
        if pd.api.types.is_numeric_dtype(s):
            out[c] = s.astype(float)
        elif c in ORDINAL_CODINGS:
            out[c] = s.astype(str).str.strip().map(ORDINAL_CODINGS[c]).astype(float)
        elif columns is not None:
            raise InputError(f"trait {c!r} is text without a known coding; known: {sorted(ORDINAL_CODINGS)}")
    df = pd.DataFrame(out, index=users.index.astype(str))
    df.index.name = "user"
    return df


def standardize(traits: pd.DataFrame, users: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """z-score each trait over ``users`` (the training raters); constant traits raise."""
    t = traits if users is None else traits.reindex([str(u) for u in users])
    mu, sd = t.mean(), t.std(ddof=0)
    bad = [c for c in t.columns if not np.isfinite(sd[c]) or sd[c] == 0]
    if bad:
        raise InputError(f"trait(s) {bad} are constant or missing among the raters; cannot standardize")
    return (t - mu) / sd


def standardize_known(enc: pd.DataFrame, users) -> pd.DataFrame:
    """``standardize`` over ``users`` that tolerates a trait constant within them (it becomes all-NaN: no signal)."""
    t = enc.reindex([str(u) for u in users])
    sd = t.std(ddof=0)
    return (t - t.mean()) / sd.where(sd > 0)


WEIGHTINGS = ("centered", "zscore", "residual")
# chosen on validation people over "centered" (docs/benchmarks/pa_iaa.md, "rater weighting", has the numbers),
# and traits chosen for taste rather than scale use
DEFAULT_WEIGHTING = "residual"


def centered_ratings(ratings: pd.DataFrame, weighting: str = DEFAULT_WEIGHTING) -> pd.DataFrame:
    """``ratings`` with a ``weight`` column saying how much each rater likes each image *for them*:

    - "centered": the rating minus the rater's mean rating;
    - "zscore": that divided by the rater's rating SD (a rater who uses the whole scale weighs no more than one
      who uses two points of it; raters who gave one value throughout get weight 0);
    - "residual": the rating minus the rater's own linear fit on the image's crowd mean (the other raters' mean
      rating of it): what is left is taste, not popularity times scale use. With "centered" a rater who spreads
      the scale wide pulls every popular image toward their traits, so any trait that goes with wide scale use
      (OASIS: TEPS consummatory pleasure) yields targets that mostly repeat the generic score, and a trait
      unrelated to taste still gets targets proportional to popularity.
    """
    if weighting not in WEIGHTINGS:
        raise InputError(f"unknown weighting {weighting!r}; use one of {WEIGHTINGS}")
    r = ratings[["user", "image", "score"]].copy()
    r["user"] = r["user"].astype(str)
    g = r.groupby("user")["score"]
    r["weight"] = r["score"] - g.transform("mean")
    if weighting == "zscore":
        sd = g.transform(lambda x: x.std(ddof=0))
        r["weight"] = np.where(sd > 0, r["weight"] / sd.where(sd > 0, 1.0), 0.0)
    elif weighting == "residual":
        r["weight"] = _residual_on_crowd(r)
    return r


def _residual_on_crowd(r: pd.DataFrame) -> np.ndarray:
    """Per rater: rating − (a + b · crowd mean of the image without this rater), least squares over their images.
    Images nobody else rated use the rater's own mean (no crowd to compare with)."""
    y = r["score"].to_numpy(float)
    by_img = r.groupby("image")["score"]
    tot, cnt = by_img.transform("sum").to_numpy(float), by_img.transform("size").to_numpy(float)
    has_crowd = cnt > 1
    m = np.where(has_crowd, (tot - y) / np.where(has_crowd, cnt - 1, 1), np.nan)
    df = pd.DataFrame({"u": r["user"].to_numpy(), "y": y, "m": m})
    df["m"] = df["m"].fillna(df.groupby("u")["m"].transform("mean"))
    gu = df.groupby("u")
    mc = df["m"] - gu["m"].transform("mean")
    yc = df["y"] - gu["y"].transform("mean")
    var = (mc * mc).groupby(df["u"]).transform("mean")
    cov = (mc * yc).groupby(df["u"]).transform("mean")
    slope = np.where(var > 1e-12, cov / var.where(var > 1e-12, 1.0), 0.0)
    return (yc - slope * mc.fillna(0.0)).fillna(0.0).to_numpy()


def liker_sums(weighted: pd.DataFrame, z: pd.DataFrame):
    """(Σ w z, Σ |w|) per image and trait, ignoring raters whose trait is unknown: the two parts of a liker
    profile, kept apart so one rater's share can be subtracted (the trait-oracle reference leaves its person out)."""
    zz = z.reindex(weighted["user"].to_numpy())
    w = weighted["weight"].to_numpy()[:, None]
    known = zz.notna().to_numpy()
    num = np.where(known, w * np.nan_to_num(zz.to_numpy()), 0.0)
    den = np.where(known, np.abs(w), 0.0)
    img = weighted["image"].to_numpy()
    return (pd.DataFrame(num, columns=z.columns).groupby(img).sum(),
            pd.DataFrame(den, columns=z.columns).groupby(img).sum())


def _liker_profile(weighted: pd.DataFrame, z: pd.DataFrame) -> pd.DataFrame:
    """Σ w z / Σ |w| per image and trait, ignoring raters whose trait is unknown."""
    num_df, den_df = liker_sums(weighted, z)
    return num_df / den_df.where(den_df > 0)


@dataclass
class TraitTargets:
    """Per-image targets in (−1, 1) for the trait head, with what is needed to read them back."""

    traits: List[str]
    targets: pd.DataFrame              # index image, columns traits, values in (−1, 1)
    scale: np.ndarray                  # targets * scale = liker profile in trait z-units
    n_raters: pd.Series = field(default=None)  # raters per image

    def to_meta(self) -> dict:
        return {"traits": list(self.traits), "scale": [float(s) for s in self.scale]}


def trait_targets(ratings: pd.DataFrame, users: pd.DataFrame, traits: Sequence[str],
                  images: Optional[Sequence[str]] = None, margin: float = TARGET_MARGIN,
                  weighting: str = DEFAULT_WEIGHTING) -> TraitTargets:
    """Trait targets of every image in ``ratings`` (or only ``images``) from the raters' traits.

    ``ratings`` (columns user, image, score) must hold only training ratings; traits are standardized over the
    raters present in it. Images whose raters all lack a trait get 0 (the average rater) for that trait.
    """
    traits = [TRAIT_ALIASES.get(t, t) for t in traits]
    r = centered_ratings(ratings, weighting)
    enc = encode_traits(users, traits)
    raters = sorted(set(r["user"]) & set(enc.index))
    if not raters:
        raise InputError("none of the raters has an entry in the users table")
    z = standardize(enc, raters)
    r = r[r["user"].isin(raters)]
    prof = _liker_profile(r, z).fillna(0.0)
    if images is not None:
        prof = prof.reindex(list(images)).fillna(0.0)
    peak = prof.abs().max().to_numpy()
    scale = margin * np.where(peak > 0, peak, 1.0)
    targets = prof / scale
    targets.index.name = "image"
    return TraitTargets(traits=traits, targets=targets, scale=scale, n_raters=r.groupby("image").size())


def dataset_trait_targets(dataset, traits: Sequence[str], images: Optional[Sequence[str]] = None,
                          users: Optional[pd.DataFrame] = None) -> TraitTargets:
    """``trait_targets`` over any ``RatingsDataset`` with a users table (OASIS-beauty, PsychoFlickr, PARA...)."""
    users = dataset.users if users is None else users
    if users is None:
        raise InputError(f"{dataset.name} has no users table: trait targets need per-person traits")
    return trait_targets(dataset.ratings, users, traits, images=images)


def candidate_traits(users: pd.DataFrame, candidates: Optional[Sequence[str]] = DEFAULT_CANDIDATES,
                     min_known: int = 10) -> List[str]:
    """Usable trait columns: ``candidates`` present in ``users`` (OASIS-beauty's documented list by default); when
    none of them is there (PsychoFlickr/PARA Big-Five, anyone's own traits CSV) every numeric or coded column.
    Columns known for fewer than ``min_known`` people or constant are dropped."""
    names = [TRAIT_ALIASES.get(c, c) for c in (candidates or [])]
    names = [c for c in names if c in users.columns]
    enc = encode_traits(users, names) if names else encode_traits(users)
    keep = [c for c in enc.columns if enc[c].notna().sum() >= min_known and enc[c].nunique(dropna=True) > 1]
    if not keep:
        raise InputError(f"no usable trait column among {list(users.columns)} (need numeric or coded text columns "
                         f"known for at least {min_known} people)")
    return keep


def rank_traits(ratings: pd.DataFrame, users: pd.DataFrame, candidates: Sequence[str] = DEFAULT_CANDIDATES,
                n_splits: int = 20, seed: int = 0, weighting: str = DEFAULT_WEIGHTING) -> pd.DataFrame:
    """Split-half reliability of each candidate's image targets, plus how complete the trait is.

    For each of ``n_splits`` random halvings of the raters, the liker profiles of both halves are correlated
    across images (Pearson); ``reliability`` is the mean. Noise traits give ≈ 0. Each half's traits are
    standardized over that half, as ``trait_targets`` does for a whole rater set: with one common standardization
    a half whose mean trait is +δ gets a profile ``+δ × popularity`` and the other half ``−δ × popularity``, a
    spurious *negative* correlation that buried real traits under chance differences between the halves.
    """
    cands = candidate_traits(users, candidates)
    r = centered_ratings(ratings, weighting)
    enc = encode_traits(users, cands)
    raters = np.array(sorted(set(r["user"]) & set(enc.index)))
    rng = np.random.default_rng(seed)
    rel = {c: [] for c in cands}
    for _ in range(n_splits):
        perm = rng.permutation(raters)
        half_a, half_b = perm[: len(raters) // 2], perm[len(raters) // 2:]
        in_a = r["user"].isin(set(half_a))
        pa = _liker_profile(r[in_a], standardize_known(enc, half_a))
        pb = _liker_profile(r[~in_a], standardize_known(enc, half_b))
        common = pa.index.intersection(pb.index)
        for c in cands:
            a, b = pa.loc[common, c], pb.loc[common, c]
            ok = a.notna() & b.notna()
            rel[c].append(float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 2 else np.nan)
    out = pd.DataFrame({
        "reliability": {c: float(np.nanmean(v)) for c, v in rel.items()},
        "reliability_sd": {c: float(np.nanstd(v)) for c, v in rel.items()},
        "known_fraction": {c: float(enc.loc[raters, c].notna().mean()) for c in cands},
    })
    out.index.name = "trait"
    return out.sort_values("reliability", ascending=False)


def select_traits(ratings: pd.DataFrame, users: pd.DataFrame, candidates: Sequence[str] = DEFAULT_CANDIDATES,
                  n: int = 5, max_corr: float = 0.7, seed: int = 0, weighting: str = DEFAULT_WEIGHTING) -> List[str]:
    """Greedy choice of ``n`` traits: most reliable first, skipping a trait whose image targets correlate above
    ``max_corr`` (absolute) with one already chosen (it would repeat the same signal)."""
    ranking = rank_traits(ratings, users, candidates, seed=seed, weighting=weighting)
    tt = trait_targets(ratings, users, list(ranking.index), weighting=weighting)
    corr = tt.targets.corr().abs()
    chosen: List[str] = []
    for c in ranking.index:
        if all(corr.loc[c, d] <= max_corr for d in chosen):
            chosen.append(c)
        if len(chosen) == n:
            break
    if len(chosen) < n:  # fewer non-redundant candidates than asked: fill with the next most reliable
        chosen += [c for c in ranking.index if c not in chosen][: n - len(chosen)]
    return chosen  # fewer than n only when fewer usable traits exist
