"""A person's own ratings, from a CSV file or from the stars their photo manager stored in XMP.

Both readers return :class:`RatedImages` (absolute image paths, scores, the scale, human-readable notes) and
raise :class:`ProfileInputError` with a message that says what to do when the ratings cannot teach a profile:
fewer than ``MIN_RATINGS`` usable ratings, every rating equal, or images that cannot be found.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from piaa.errors import InputError


MIN_RATINGS = 10
_LIST_MAX = 20


class ProfileInputError(InputError):
    """The ratings given cannot make a profile; the message says why and what to do."""


@dataclass
class RatedImages:
    paths: List[Path]
    scores: np.ndarray
    scale: Tuple[float, float]
    source: str
    notes: List[str] = field(default_factory=list)
    origins: List[str] = field(default_factory=list)  # where each rating was read (CSV line, sidecar, embedded)

    def __len__(self) -> int:
        return len(self.paths)


def _listing(items: Sequence, limit: int = _LIST_MAX) -> str:
    items = [str(i) for i in items]
    shown = "\n  ".join(items[:limit])
    more = f"\n  ... and {len(items) - limit} more" if len(items) > limit else ""
    return f"\n  {shown}{more}"


def check_usable(paths: Sequence[Path], scores: np.ndarray, what: str) -> None:
    """Raise :class:`ProfileInputError` when the ratings cannot teach anything."""
    n = len(paths)
    if n < MIN_RATINGS:
        raise ProfileInputError(
            f"{what}: only {n} usable rating(s); a profile needs at least {MIN_RATINGS} rated images "
            f"(more is better: about 50 give a usable profile, 100 a good one)")
    s = np.asarray(scores, dtype=float)
    if np.nanmax(s) == np.nanmin(s):
        raise ProfileInputError(
            f"{what}: all {n} ratings are equal ({s[0]:g}), so there is no preference to learn; "
            "rate some photos higher and some lower")


def split_missing(paths: Sequence[Path]) -> Tuple[List[int], List[Path]]:
    keep, missing = [], []
    for i, p in enumerate(paths):
        if Path(p).is_file():
            keep.append(i)
        else:
            missing.append(Path(p))
    return keep, missing


def _finish(paths, scores, scale, source, notes, origins, what, images_hint="") -> RatedImages:
    keep, missing = split_missing(paths)
    if missing and not keep:
        raise ProfileInputError(
            f"{what}: none of the {len(paths)} rated images exist{images_hint}; missing:{_listing(missing)}")
    if missing:
        notes.append(f"{len(missing)} rated image(s) not found and left out:{_listing(missing)}")
    paths = [Path(paths[i]) for i in keep]
    scores = np.asarray(scores, dtype=float)[keep]
    origins = [origins[i] for i in keep]
    check_usable(paths, scores, what)
    return RatedImages(paths, scores, scale, source, notes, origins)


# ------------------------------------------------------------------------------------------------ CSV / dict
#: how ``piaa profile create`` names the CSV options in messages
CLI_OPTIONS = ("give --image-column and --rating-column with your column names",
               "give --duplicates mean, first or last to combine them")


def ratings_from_csv(csv_path, images_root=None, scale=None, user: Optional[str] = None,
                     image_col: str = "image", score_col: str = "rating", duplicates: str = "error",
                     option_names: Optional[Sequence[str]] = None) -> RatedImages:
    """Read ``image,rating`` rows (names matched ignoring case; ``Filename``, ``score`` and the other synonyms of
    :data:`piaa.data.csv_reader.COLUMN_SYNONYMS` are accepted; ``,``, ``;`` or tab separated; an optional
    ``user`` column with one person, or pick one with ``user=``). Image paths are relative to ``images_root``
    (default: the CSV's folder) unless absolute. ``scale=(min, max)`` states the rating scale; otherwise it is
    the integer range of the data. ``duplicates``: ``error``, ``mean``, ``first`` or ``last`` for a photo rated
    twice. ``option_names``: (columns, duplicates) hints for messages, e.g. :data:`CLI_OPTIONS`."""
    from piaa.data.csv_reader import OptionNames, read_ratings_csv
    from piaa.data.errors import RatingsFormatError

    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ProfileInputError(f"ratings file not found: {csv_path}")
    if images_root is not None and not Path(images_root).expanduser().is_dir():
        raise ProfileInputError(f"images folder {images_root} does not exist (or is not a folder)")
    names = OptionNames(*option_names) if option_names else OptionNames()
    try:  # a ``user`` column, when present, is read; without one every row is the same person
        ds = read_ratings_csv(csv_path, image_col=image_col, score_col=score_col, scale=scale, single_user="me",
                              duplicates=duplicates, options=names)
    except RatingsFormatError as exc:
        raise ProfileInputError(str(exc)) from None
    r = ds.ratings
    people = sorted(set(r["user"]))
    if user is not None:
        r = r[r["user"] == str(user)]
        if not len(r):
            raise ProfileInputError(f"{csv_path}: no ratings of user {user!r} (users: {_short(people)})")
    elif len(people) > 1:
        raise ProfileInputError(
            f"{csv_path}: holds ratings of {len(people)} people ({_short(people)}); a profile is one person's "
            "taste: pick one with --user ID")
    root = Path(images_root).expanduser() if images_root is not None else csv_path.parent
    paths = [Path(i) if os.path.isabs(i) else root / i for i in r["image"]]
    notes = [n for n in ds.notes]
    sc = ds.scale
    hint = "" if images_root is not None else f" relative to the CSV's folder {root} (pass --images ROOT)"
    origins = [f"{csv_path.name}" for _ in paths]
    return _finish(paths, r["score"].to_numpy(dtype=float), (float(sc.min), float(sc.max)), f"csv:{csv_path}",
                   notes, origins, str(csv_path), hint)


def ratings_from_mapping(ratings: Mapping, scale=None) -> RatedImages:
    """``{path: score}`` from the library API; the scale is stated or the integer range of the scores."""
    from piaa.data.csv_reader import infer_scale

    paths = [Path(p) for p in ratings]
    scores = np.asarray([float(v) for v in ratings.values()], dtype=float)
    if not np.isfinite(scores).all():
        bad = [str(p) for p, s in zip(paths, scores) if not np.isfinite(s)]
        raise ProfileInputError(f"ratings must be numbers; not for:{_listing(bad)}")
    if scale is None and len(scores):
        sc = infer_scale(scores)
        scale = (sc.min, sc.max)
    elif scale is None:
        scale = (0.0, 1.0)
    lo, hi = float(scale[0]), float(scale[1])
    out = [str(p) for p, s in zip(paths, scores) if not lo <= s <= hi]
    if out:
        raise ProfileInputError(f"ratings outside the scale {lo:g}..{hi:g} for:{_listing(out)}")
    return _finish(paths, scores, (lo, hi), "api", [], ["api"] * len(paths), "ratings")


def _short(items, n=8):
    items = list(items)
    return ", ".join(map(str, items[:n])) + (f", ... ({len(items)} in all)" if len(items) > n else "")


# ------------------------------------------------------------------------------------------------ XMP
REJECTED_SCORE = 0.0  # a rejected photo (xmp:Rating -1) scores one step below one star


def ratings_from_xmp(folder, recursive: bool = True) -> RatedImages:
    """Stars set in Lightroom, darktable or digiKam (sidecars in both naming styles, or XMP embedded in JPEG/
    TIFF/PNG/WebP). Rating 1..5 = stars, -1 (rejected) scores 0, 0/absent = unrated (skipped).

    A raw file's rating is used for the JPEG/TIFF/PNG of the same name beside it (camera RAW+JPEG pairs, or an
    export; a photo's own rating wins over its raw sibling's); a raw file alone is scored from the JPEG preview
    embedded in it.
    """
    from piaa.io.discovery import IMAGE_EXTENSIONS
    from piaa.profiles.xmp_files import RAW_EXTENSIONS, read_rating

    folder = Path(folder)
    if not folder.is_dir():
        raise ProfileInputError(f"not a folder: {folder}")
    dirs = []
    errors: List[str] = []
    if recursive:
        def unlistable(exc: OSError) -> None:
            errors.append(f"{exc.filename}: cannot list folder: {exc.strerror or exc}")

        for root, dnames, _files in os.walk(folder, onerror=unlistable):
            dnames[:] = sorted(d for d in dnames if not d.startswith("."))
            dirs.append(Path(root))
    else:
        dirs = [folder]

    chosen: Dict[Path, Tuple[float, str]] = {}   # decodable image -> (rating, origin)
    raw_ratings: Dict[Path, Tuple[float, str]] = {}
    raw_without_sibling: List[Path] = []
    unrated = 0
    rejected = 0
    kinds = {"sidecar": 0, "embedded": 0}
    orphan_sidecars: List[Path] = []
    predicted: List[Path] = []
    for d in dirs:
        try:
            names = sorted(n for n in os.listdir(d) if not n.startswith("."))
        except OSError as exc:
            errors.append(f"{d}: cannot list folder: {exc.strerror or exc}")
            continue
        present = set(names)
        images = [d / n for n in names if Path(n).suffix.lower() in IMAGE_EXTENSIONS
                  and Path(n).suffix.lower() not in RAW_EXTENSIONS and (d / n).is_file()]
        raws = [d / n for n in names if Path(n).suffix.lower() in RAW_EXTENSIONS and (d / n).is_file()]
        by_stem: Dict[str, List[Path]] = {}
        for p in images:
            by_stem.setdefault(p.stem, []).append(p)
        used_sidecars = set()
        for p in raws + images:
            side = _sidecar_in(p, present, by_stem)
            if side is not None:
                used_sidecars.add(side)
            found = read_rating(p, sidecar=d / side if side else None,
                                embedded=p.suffix.lower() in IMAGE_EXTENSIONS)
            if found.error:
                errors.append(found.error)
            v = found.value
            if found.predicted and v not in (None, 0):  # our own guess: never learn from it
                predicted.append(found.path or p)
                continue
            if v is None or v == 0:
                if p.suffix.lower() in IMAGE_EXTENSIONS:
                    unrated += 1
                continue
            origin = str(found.path) if found.source == "sidecar" else f"{p} (embedded XMP)"
            score = REJECTED_SCORE if v < 0 else float(v)
            if p.suffix.lower() in RAW_EXTENSIONS:
                raw_ratings[p] = (score, origin)
            else:
                chosen[p] = (score, origin)
                kinds[found.source] = kinds.get(found.source, 0) + 1
                rejected += v < 0
        for raw, (score, origin) in raw_ratings.items():
            if raw.parent != d:
                continue
            sib = _decodable_sibling(raw, by_stem)
            if sib is None:  # scored from its embedded preview (piaa.io.raw)
                raw_without_sibling.append(raw)
                chosen[raw] = (score, origin)
                kinds["sidecar"] += 1
                rejected += score == REJECTED_SCORE
            elif sib not in chosen:
                chosen[sib] = (score, origin)
                kinds["sidecar"] += 1
                rejected += score == REJECTED_SCORE
        for n in names:
            if n.lower().endswith(".xmp") and n not in used_sidecars:
                orphan_sidecars.append(d / n)

    notes = [f"{len(chosen)} rated photo(s): {kinds['sidecar']} from sidecars, {kinds['embedded']} from XMP embedded "
             f"in the image; {unrated} unrated photo(s) skipped"]
    if predicted:
        notes.append(f"{len(predicted)} photo(s) carry stars piaa predicted (piaa:PredictedRating, from `piaa rank "
                     "--write-xmp`), not yours: ignored (change a star in your photo manager to make it yours)")
    if rejected:
        notes.append(f"{rejected} rejected photo(s) (xmp:Rating -1) count as the lowest score ({REJECTED_SCORE:g})")
    if raw_without_sibling:
        notes.append(f"{len(raw_without_sibling)} rated raw file(s) without a JPEG/TIFF of the same name beside them "
                     f"are read from their embedded preview:{_listing(raw_without_sibling)}")
    if orphan_sidecars:
        notes.append(f"{len(orphan_sidecars)} sidecar(s) without their photo:{_listing(orphan_sidecars)}")
    if errors:
        notes.append(f"{len(errors)} XMP packet(s) or folder(s) could not be read:{_listing(errors)}")
    paths = sorted(chosen)
    scores = np.asarray([chosen[p][0] for p in paths], dtype=float)
    origins = [chosen[p][1] for p in paths]
    if len(paths) < MIN_RATINGS:
        raise ProfileInputError(
            f"{folder}: found {len(paths)} photo(s) with stars (1-5 or rejected) but a profile needs at least "
            f"{MIN_RATINGS}; rate more photos in your photo manager (make sure it writes XMP sidecars or "
            "embeds XMP) and try again.\n" + "\n".join(notes))
    lo = REJECTED_SCORE if rejected else 1.0
    return _finish(paths, scores, (lo, 5.0), f"xmp:{folder}", notes, origins, str(folder))


def _sidecar_in(p: Path, present: set, by_stem: Dict[str, List[Path]]) -> Optional[str]:
    """The sidecar file name of ``p`` among the folder's names: ``name.ext.xmp`` first, then ``name.xmp``."""
    for cand in (p.name + ".xmp", p.name + ".XMP", p.stem + ".xmp", p.stem + ".XMP"):
        if cand in present:
            return cand
    return None


_SIBLING_ORDER = (".jpg", ".jpeg", ".tif", ".tiff", ".png", ".webp", ".heic", ".heif")


def _decodable_sibling(raw: Path, by_stem: Dict[str, List[Path]]) -> Optional[Path]:
    cands = by_stem.get(raw.stem, [])
    for ext in _SIBLING_ORDER:
        for c in cands:
            if c.suffix.lower() == ext:
                return c
    return cands[0] if cands else None
