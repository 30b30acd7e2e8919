"""The shipped PA_IAA network (trained on all OASIS-beauty data) and the command that builds it.

    from piaa.models.pa_iaa import load_default_pa_iaa
    net = load_default_pa_iaa()          # PAIAANet, eval mode, cached per process

Rebuild the asset (needs ../shared/data; a few minutes on 2 cores with cached features):

    piaa train pa-iaa --output src/piaa/assets/pa_iaa_oasis_lite0.npz     (piaa.training.pa_iaa_network)
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from piaa.catalogue import asset_path, default_asset
from piaa.models.pa_iaa.network import PAIAANet, load_network
from piaa.errors import InputError

DEFAULT_NAME = default_asset("pa-iaa-network").name
# the five traits select_traits picks on all OASIS-beauty ratings with the default ("residual") rater weighting
# (docs/pa_iaa.md, "which five traits")
DEFAULT_TRAITS = ("gender", "age", "politic", "PHQ", "TEPS_ant")


@lru_cache(maxsize=4)
def load_default_pa_iaa(name: str = DEFAULT_NAME) -> PAIAANet:
    """The shipped network ``name`` (read once per process). Raises FileNotFoundError naming the rebuild command."""
    net = load_network(asset_path(name, kind="pa-iaa-network"))
    net.source = f"default:{name}"
    return net


def resolve_network(ref: Optional[str]) -> PAIAANet:
    """A network from a reference string: ``default:NAME`` or ``file:PATH`` (what personalizer states record)."""
    if not ref:
        return load_default_pa_iaa()
    kind, _, value = ref.partition(":")
    if kind == "default":
        return load_default_pa_iaa(value or DEFAULT_NAME)
    if kind == "file":
        net = load_network(value)
        net.source = ref
        return net
    raise InputError(f"unknown network reference {ref!r}; expected 'default:NAME' or 'file:PATH'")
