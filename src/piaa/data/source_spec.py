"""Where a table of ratings comes from, as written in a TOML file: the ``[[tasks]]`` / ``[test]`` source keys.

Shared by experiment files (:mod:`piaa.evaluation.experiment`) and task-bank configs
(:mod:`piaa.models.task_vectors.config`), so it lives in the data layer; :mod:`piaa.data.sources` loads what a
:class:`SourceSpec` describes. Parsing is strict: an unknown key is almost always a typo. Every error names the
file and the table. Relative paths resolve against the file's folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from piaa.errors import InputError


class ExperimentError(InputError):
    """An experiment file (or a task config's source table) is wrong; the message names the file, the table and
    the problem. Re-exported by :mod:`piaa.evaluation.experiment`, where it was first defined."""


# keys shared by [[tasks]] and [test]: where ratings come from and how to read them
SOURCE_KEYS = {
    "ratings", "images", "scale", "buckets", "users", "criterion", "criterion_column", "user_column",
    "image_column", "rating_column", "score_column", "single_user", "duplicates", "where", "max_images",
}
TASK_KEYS = SOURCE_KEYS | {"name", "per_image"}


@dataclass
class SourceSpec:
    """Where one table of ratings comes from (a ``[[tasks]]`` entry or ``[test]``)."""

    ratings: Path
    images: Path
    scale: Optional[list] = None          # [min, max] or [min, max, buckets]
    users: Optional[Path] = None
    criterion: Optional[str] = None
    criterion_column: Optional[str] = None
    user_column: str = "user"
    image_column: str = "image"
    rating_column: str = "rating"
    single_user: Optional[str] = None     # the file holds one score per image (no user column or one user);
    #                                       ``single_user = true`` in the file names the pseudo-rater after the task
    duplicates: str = "error"
    where: Optional[str] = None           # filter over the users' traits (pandas query syntax)
    max_images: Optional[int] = None      # keep a seeded random subset of images (smoke runs)


@dataclass
class TaskSpec(SourceSpec):
    name: str = ""
    per_image: Optional[bool] = None      # None: detected (True when the file has a single user)


def source_fields(t: Dict[str, Any], base_dir: Path, where: str, label: str) -> Dict[str, Any]:
    for key in ("ratings", "images"):
        if key not in t:
            raise ExperimentError(f"{where}: {label} needs {key} = \"...\"")
    if "rating_column" in t and "score_column" in t:
        raise ExperimentError(f"{where}: {label}: give rating_column or score_column (the same thing), not both")
    out: Dict[str, Any] = {
        "ratings": path_value(t["ratings"], base_dir, where, f"{label} ratings"),
        "images": path_value(t["images"], base_dir, where, f"{label} images"),
    }
    if "scale" in t:
        sc = t["scale"]
        if not (isinstance(sc, list) and len(sc) in (2, 3) and all(isinstance(v, (int, float)) for v in sc)
                and sc[1] > sc[0]):
            raise ExperimentError(f"{where}: {label} scale must be [min, max] with max > min, got {sc!r}")
        sc = list(sc)
        if "buckets" in t:
            if len(sc) == 3:
                raise ExperimentError(f"{where}: {label}: buckets given twice (scale and buckets)")
            sc.append(int_value(t, "buckets", None, where, label, lo=2))
        out["scale"] = sc
    elif "buckets" in t:
        raise ExperimentError(f"{where}: {label}: buckets needs scale = [min, max]")
    if "users" in t:
        out["users"] = path_value(t["users"], base_dir, where, f"{label} users")
    if t.get("single_user") is True:  # `single_user = true`: the source's label names the one pseudo-rater
        t = {**t, "single_user": str(t.get("name", "test"))}
    for key in ("criterion", "criterion_column", "user_column", "image_column", "single_user", "where"):
        if key in t:
            if not isinstance(t[key], str) or not t[key].strip():
                raise ExperimentError(f"{where}: {label} {key} must be a non-empty string")
            out[key] = t[key].strip()
    col = t.get("rating_column", t.get("score_column"))
    if col is not None:
        out["rating_column"] = str(col)
    if "duplicates" in t:
        if t["duplicates"] not in ("error", "mean", "first", "last"):
            raise ExperimentError(f"{where}: {label} duplicates must be error, mean, first or last")
        out["duplicates"] = t["duplicates"]
    if "where" in out and "users" not in out:
        raise ExperimentError(f"{where}: {label}: where = {out['where']!r} filters people by traits, "
                              f"so it needs users = \"<traits CSV>\"")
    if "max_images" in t:
        out["max_images"] = int_value(t, "max_images", None, where, label, lo=1)
    return out


def check_keys(d: Dict[str, Any], allowed, where: str, label: str) -> None:
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        raise ExperimentError(f"{where}: unknown key(s) {unknown} in {label}; allowed: {sorted(allowed)}")


def path_value(v, base_dir: Path, where: str, label: str) -> Path:
    if not isinstance(v, str) or not v:
        raise ExperimentError(f"{where}: {label} must be a path string")
    p = Path(v).expanduser()
    return p if p.is_absolute() else (base_dir / p).resolve()


def list_value(v, where: str, label: str) -> list:
    if not isinstance(v, list):
        raise ExperimentError(f"{where}: {label} must be a list, got {v!r}")
    return v


def int_value(d, key, default, where, label, lo=None):
    v = d.get(key, default)
    if v is None:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or (lo is not None and v < lo):
        raise ExperimentError(f"{where}: {label} {key} must be a whole number"
                              f"{f' >= {lo}' if lo is not None else ''}, got {v!r}")
    return v


def opt_bool(d, key, where, label) -> Optional[bool]:
    if key not in d:
        return None
    if not isinstance(d[key], bool):
        raise ExperimentError(f"{where}: {label} {key} must be true or false")
    return d[key]
