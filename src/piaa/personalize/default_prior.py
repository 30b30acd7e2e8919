"""The shipped taste prior (OASIS-beauty raters) and how a personalizer's ``prior=`` reference resolves.

Rebuild it with ``piaa train taste-prior --output src/piaa/assets/taste_prior_oasis_lite0.npz``
(:mod:`piaa.training.taste_prior`): all 605 OASIS-beauty raters' ratings of the 900 images, EfficientNet-Lite0
multilevel features, the settings of ``piaa.personalize.prior_probe`` (chosen on validation people,
docs/benchmarks/prior_probe.md).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from piaa.catalogue import asset_path, default_asset
from piaa.personalize.prior_probe import TastePrior
from piaa.errors import FileMissingError

DEFAULT_PRIOR = default_asset("taste-prior").name


@lru_cache(maxsize=4)
def load_default_prior(name: str = DEFAULT_PRIOR) -> TastePrior:
    return TastePrior.load(asset_path(name, kind="taste-prior"))


def resolve_prior(prior):
    """(TastePrior, reference) from what a PriorProbePersonalizer was given: None (the shipped prior),
    ``"default:NAME"``, ``"file:PATH"``, a path, or a TastePrior (reference None: it lives only in memory)."""
    if isinstance(prior, TastePrior):
        return prior, None
    if prior is None:
        return load_default_prior(), f"default:{DEFAULT_PRIOR}"
    ref = str(prior)
    kind, sep, value = ref.partition(":")
    if sep and kind == "default":
        return load_default_prior(value or DEFAULT_PRIOR), ref
    if sep and kind == "file":
        return TastePrior.load(value), ref
    path = Path(ref)
    if not path.is_file():
        raise FileMissingError(f"taste prior {ref!r} not found (give a TastePrior, 'default:NAME', 'file:PATH' or "
                                f"an existing .npz)")
    return TastePrior.load(path), f"file:{path.resolve()}"
