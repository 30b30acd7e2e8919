"""Which photos of a folder a person should rate next, and the rating loop that asks them.

``suggest(name, folder, n)`` ranks the folder's photos with the active selector (``piaa.personalize.active``):
the person's ratings so far are their profile's ratings (when the profile exists) plus their *pending* ratings
(given in ``piaa profile rate`` but not yet learned into the profile); the taste prior is the profile's own
(probe-prior with ``--prior``) or the shipped one. A person without a profile gets the cold start.

Pending ratings live next to the profile store (``pending/NAME.csv``, columns ``image,rating``), one line appended
and flushed per answer, so an interrupted session loses nothing. :func:`learn_pending` refits the profile from its
ratings plus the pending ones (or creates it once there are enough) and then clears the pending file.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from piaa.profiles.ratings_import import ProfileInputError
from piaa.profiles.store import ProfileStore, check_name

RATE_SCALE = (1.0, 5.0)


def pending_path(store: ProfileStore, name: str) -> Path:
    return Path(store.path).parent / "pending" / f"{check_name(name)}.csv"


def read_pending(store: ProfileStore, name: str) -> Dict[str, float]:
    """``{absolute image path: rating}`` of the person's ratings not yet learned (the last answer wins)."""
    p = pending_path(store, name)
    out: Dict[str, float] = {}
    if not p.is_file():
        return out
    with open(p, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                out[str(row["image"])] = float(row["rating"])
            except (KeyError, TypeError, ValueError):
                continue   # a line cut by a crash mid-write
    return out


def append_pending(store: ProfileStore, name: str, image: str, rating: float) -> None:
    """Append one rating and flush it to disk at once."""
    p = pending_path(store, name)
    p.parent.mkdir(parents=True, exist_ok=True)
    new = not p.exists()
    with open(p, "a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["image", "rating"])
        w.writerow([str(image), f"{float(rating):g}"])
        f.flush()
        os.fsync(f.fileno())


def _profile_record(store: ProfileStore, name: str):
    return store.load(name) if store.exists(name) else None


def known_ratings(store: ProfileStore, name: str) -> Tuple[Dict[str, float], Optional[dict]]:
    """The person's ratings so far (profile + pending, on the profile's scale as stored) and the profile record."""
    rec = _profile_record(store, name)
    rated = {str(img): float(s) for img, s, _ in rec["ratings"]} if rec else {}
    rated.update(read_pending(store, name))
    return rated, rec


def _prior_of(rec) -> Optional[str]:
    """The taste prior a profile was fitted with (probe-prior), else None (the shipped prior)."""
    if rec is None:
        return None
    params = (rec["meta"] or {}).get("params") or {}
    prior = params.get("prior")
    return str(prior) if prior else None


def library_features(paths: Sequence[str], backbone: str = "efficientnet_lite0", variant: str = "multilevel",
                     errors: Optional[Dict[int, str]] = None) -> np.ndarray:
    """Cached backbone features of the photos (NaN rows for photos that cannot be read; their reasons go
    into ``errors`` when given)."""
    from piaa.features import FeatureExtractor

    fx = FeatureExtractor(backbone, variant, progress=False)
    res = fx.extract([Path(p) for p in paths])
    if errors is not None:
        errors.update(res.errors)
    return np.asarray(res.features, dtype=np.float64)


def _unreadable_message(folder, paths: Sequence[str], errors: Dict[int, str]) -> str:
    i = min(errors)
    return (f"none of the {len(paths)} photo(s) in {folder} could be read "
            f"(first: {Path(paths[i]).name}: {errors[i]}); nothing to suggest")


def suggest(name: str, folder, n: int = 10, store=None, strategy: Optional[str] = None, scorer=None,
            exclude: Sequence[str] = ()) -> List[dict]:
    """Up to ``n`` records ``{"rank", "path", "generic"}`` in asking order (see the module doc)."""
    from piaa.personalize.active import DEFAULT_STRATEGY, ActiveSelector
    from piaa.profiles import generic as gen
    from piaa.profiles.profile import _expand

    st = store if isinstance(store, ProfileStore) else ProfileStore(store)
    check_name(name)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ProfileInputError(f"not a folder: {folder}")
    paths = [str(Path(p).resolve()) for p in _expand(str(folder))]
    if not paths:
        raise ProfileInputError(f"no photos found in {folder}")
    rated, rec = known_ratings(st, name)
    unreadable: Dict[int, str] = {}
    X = library_features(paths, errors=unreadable)
    if unreadable and len(unreadable) == len(paths):
        raise ProfileInputError(_unreadable_message(folder, paths, unreadable))
    scorer = scorer if scorer is not None else gen.load_generic()
    g = gen.generic_scores(scorer, paths).scores
    index = {p: i for i, p in enumerate(paths)}
    rated_idx = [index[p] for p in rated if p in index]
    scores = [rated[paths[i]] for i in rated_idx]
    ex = [index[str(Path(p).resolve())] for p in exclude if str(Path(p).resolve()) in index]
    sel = ActiveSelector(X, _prior_of(rec), g, strategy=strategy or DEFAULT_STRATEGY)
    picks = sel.select(rated_idx, scores if rated_idx else None, n, exclude=ex)
    return [{"rank": r + 1, "path": paths[i], "generic": None if not np.isfinite(g[i]) else round(float(g[i]), 3)}
            for r, i in enumerate(picks)]


def learn_pending(store: ProfileStore, name: str, scorer=None, progress: bool = False):
    """Refit (or create) the profile from its ratings plus the pending ones; clear the pending file.
    Returns the profile, or raises ``ProfileInputError`` (too few / all-equal ratings: pending ratings kept)."""
    from piaa.profiles.profile import Profile, default_candidates
    from piaa.profiles.ratings_import import RatedImages, check_usable

    pend = read_pending(store, name)
    rec = _profile_record(store, name)
    if rec is not None:
        meta = rec["meta"]
        scale = tuple(meta["scale"])
        ratings = {str(img): (float(s), o) for img, s, o in rec["ratings"]}
        methods, params = [rec["method"]], (meta.get("params") or None)
    else:
        scale, ratings, methods, params = RATE_SCALE, {}, default_candidates(), None
    for img, s in pend.items():
        ratings[img] = (float(s), "piaa profile rate")
    paths = [Path(p) for p in ratings]
    scores = np.array([v[0] for v in ratings.values()], dtype=float)
    check_usable(paths, scores, f"profile {name!r}")
    rated = RatedImages(paths, scores, scale, "piaa profile rate", [], [v[1] or "" for v in ratings.values()])
    prof = Profile.fit_first_usable(name, rated, methods, store=store, params=params, scorer=scorer,
                                    overwrite=True, progress=progress)
    pending_path(store, name).unlink(missing_ok=True)
    return prof


# ---- the interactive loop ---------------------------------------------------------------------------------------
HELP = "rate 1-5, x = reject (counts as 1), s = skip, o = open in the viewer, q = quit"


def open_in_viewer(path: str) -> None:
    import subprocess
    import sys

    if sys.platform.startswith("win"):
        os.startfile(path)  # type: ignore[attr-defined]  # pragma: no cover
        return
    cmd = "open" if sys.platform == "darwin" else "xdg-open"
    try:
        subprocess.Popen([cmd, path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        print(f"(could not start {cmd}; open the path yourself)")


def rate_loop(name: str, folder, store=None, batch: int = 5, limit: Optional[int] = None, auto_open: bool = False,
              scorer=None, inp=input, out=print) -> dict:
    """Ask suggested photos batch by batch until ``q``, end of input, ``limit`` answers or no photo is left.
    Every rating is appended to the pending file at once. Returns counts ``{"rated", "skipped"}``."""
    st = store if isinstance(store, ProfileStore) else ProfileStore(store)
    rec = _profile_record(st, name)
    lo, hi = tuple(rec["meta"]["scale"]) if rec else RATE_SCALE
    if (lo, hi) != RATE_SCALE:
        out(f"note: profile {name!r} uses the scale {lo:g}..{hi:g}; answers 1-5 are mapped onto it")
    skipped: List[str] = []
    rated = 0
    out(HELP)
    while limit is None or rated < limit:
        picks = suggest(name, folder, n=batch, store=st, scorer=scorer, exclude=skipped)
        if not picks:
            out("no photo left to rate in this folder")
            break
        for rec_ in picks:
            path = rec_["path"]
            if auto_open:
                open_in_viewer(path)
            while True:
                out(f"[{rated + 1}] {path}")
                try:
                    ans = inp("rating> ").strip().lower()
                except EOFError:
                    ans = "q"
                if ans == "o":
                    open_in_viewer(path)
                    continue
                if ans in ("q", "quit"):
                    return {"rated": rated, "skipped": len(skipped)}
                if ans in ("s", "skip", ""):
                    skipped.append(path)
                    break
                if ans == "x":
                    ans = "1"
                if ans in ("1", "2", "3", "4", "5"):
                    stars = float(ans)
                    value = lo + (stars - 1.0) * (hi - lo) / 4.0
                    append_pending(st, name, path, value)
                    rated += 1
                    break
                out(f"? {HELP}")
            if limit is not None and rated >= limit:
                break
    return {"rated": rated, "skipped": len(skipped)}
