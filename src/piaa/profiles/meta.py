"""A profile's description (its ``meta``): one typed record, built in one place, read by the CLI and the service.

A fitted profile is stored as its estimator's state plus this description: how it was fitted, on how many
ratings and comparisons, on which scales, against which generic model, how well it did. The CLI's profile store
(:mod:`piaa.profiles.store`) and the service's database both keep it as JSON; both build it with
:func:`profile_meta` from the :class:`piaa.profiles.core.Fitted` result, so the keys are the same wherever a
profile was made, and both read it back with :meth:`ProfileMeta.from_json`, which accepts what older versions
wrote (missing keys take their defaults; keys this version does not know are kept in ``extra``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from piaa.errors import StateError

META_VERSION = 1


@dataclass(frozen=True)
class ProfileMeta:
    """How a profile was fitted and what it knows (see the module doc)."""

    method: str
    scale: Tuple[float, float]              # the person's rating scale (stars 1-5, or a CSV's own)
    model_scale: Tuple[float, float]        # the generic model's score range the profile predicts on
    n_ratings: int                          # ratings the profile was fitted on
    n_comparisons: int = 0                  # "this photo is better than that one" judgements fitted on
    fit: str = ""                           # how it was fitted, in words ("probe + Bradley-Terry comparisons")
    uses_offset: bool = False               # a correction on top of the generic score (the probes)
    assessment: Optional[Dict[str, Any]] = None   # the cross-validated self-assessment (profiles.assess)
    generic_model: Optional[str] = None     # the scoring model under the profile
    source: Optional[str] = None            # where the ratings came from ("csv:FILE", "xmp:FOLDER", "api")
    notes: Tuple[str, ...] = ()             # what the person should know (photos left out, methods skipped)
    params: Dict[str, Any] = field(default_factory=dict)   # the method's parameters, when not its defaults
    base: Optional[str] = None              # "library": fitted on top of a library's taste (piaa serve)
    library_people: Optional[int] = None    # how many people taught that library taste
    piaa_version: Optional[str] = None
    version: int = META_VERSION
    extra: Dict[str, Any] = field(default_factory=dict)    # keys written by other versions, kept as they were

    def to_json(self) -> Dict[str, Any]:
        """JSON-able dict (``None`` fields left out; ``extra`` keys kept; NaN/inf become ``None``)."""
        out: Dict[str, Any] = dict(self.extra)
        for f in fields(self):
            if f.name == "extra":
                continue
            v = getattr(self, f.name)
            if v is None:
                continue
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return jsonable(out)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], method: Optional[str] = None) -> "ProfileMeta":
        """Read a stored description (``method``: the stored method, when the record itself lacks it)."""
        d = dict(data)
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: v for k, v in d.items() if k not in known}
        try:
            return cls(
                method=str(d.get("method") or method or ""),
                scale=_pair(d["scale"]), model_scale=_pair(d.get("model_scale", d["scale"])),
                n_ratings=int(d.get("n_ratings", 0)), n_comparisons=int(d.get("n_comparisons", 0)),
                fit=str(d.get("fit") or d.get("method") or method or ""), uses_offset=bool(d.get("uses_offset", False)),
                assessment=d.get("assessment"), generic_model=d.get("generic_model"), source=d.get("source"),
                notes=tuple(str(n) for n in d.get("notes") or ()), params=dict(d.get("params") or {}),
                base=d.get("base"), library_people=d.get("library_people"), piaa_version=d.get("piaa_version"),
                version=int(d.get("version", META_VERSION)), extra=extra)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"a profile description that cannot be read ({type(exc).__name__}: {exc})") from None


def profile_meta(fitted: Any, *, scale: Sequence[float], model_scale: Sequence[float],
                 generic_model: Optional[str], source: Optional[str] = None, notes: Sequence[str] = (),
                 params: Optional[Mapping[str, Any]] = None, base: Optional[str] = None,
                 library_people: Optional[int] = None) -> ProfileMeta:
    """The description of a just-fitted profile (``fitted``: :class:`piaa.profiles.core.Fitted`); the one place
    a profile's ``meta`` is made, for the CLI's profiles and the service's alike."""
    from piaa import __version__

    return ProfileMeta(method=fitted.method, scale=_pair(scale), model_scale=_pair(model_scale),
                       n_ratings=int(fitted.n_ratings), n_comparisons=int(fitted.n_comparisons), fit=fitted.fit,
                       uses_offset=bool(fitted.uses_offset), assessment=fitted.assessment,
                       generic_model=generic_model, source=source, notes=tuple(notes), params=dict(params or {}),
                       base=base, library_people=library_people, piaa_version=__version__)


def _pair(v: Sequence[float]) -> Tuple[float, float]:
    lo, hi = v
    return (float(lo), float(hi))


def jsonable(obj: Any) -> Any:
    """numpy scalars/arrays, tuples and paths made JSON-safe (NaN/inf become None)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


__all__ = ["ProfileMeta", "profile_meta", "jsonable", "META_VERSION"]
