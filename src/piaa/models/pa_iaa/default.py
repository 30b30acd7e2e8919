"""The shipped PA_IAA network (trained on all OASIS-beauty data) and the command that builds it.

    from piaa.models.pa_iaa import load_default_pa_iaa
    net = load_default_pa_iaa()          # PAIAANet, eval mode, cached per process

Rebuild the asset (needs ../shared/data; a few minutes on 2 cores with cached features):

    python -m piaa.models.pa_iaa.default --output src/piaa/assets/pa_iaa_oasis_lite0.npz
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Optional

from piaa.models.pa_iaa.network import PAIAANet, load_network
from piaa.catalogue import asset_info, asset_path, default_asset

DEFAULT_NAME = default_asset("pa-iaa-network").name
# the five traits select_traits picks on all OASIS-beauty ratings with the default ("residual") rater weighting
# (docs/pa_iaa.md, "which five traits")
DEFAULT_TRAITS = ("gender", "age", "politic", "PHQ", "TEPS_ant")


def default_network_path(name: str = DEFAULT_NAME) -> Path:
    return asset_info(name).path


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
    raise ValueError(f"unknown network reference {ref!r}; expected 'default:NAME' or 'file:PATH'")


def build_default(data_root: Path, output: Path, variant: str = "multilevel", hidden=(1024, 512),
                  dtype: str = "int8", traits=DEFAULT_TRAITS, progress: bool = True) -> dict:
    """Train on every OASIS-beauty image and rating with the cached-heads settings and write the asset."""
    from piaa.data import load_dataset
    from piaa.models.pa_iaa.build import build_network, extractor_inputs, traits_task
    from piaa.models.pa_iaa.network import save_network
    from piaa.models.pa_iaa.train import CACHED_HEADS_CONFIG

    t0 = time.time()
    ds = load_dataset("oasis-beauty", Path(data_root) / "oasis-beauty")
    root = Path(ds.images_root)
    second = traits_task(ds, root, traits=list(traits))
    net = build_network(ds, root, second, extractor_inputs(variant=variant, progress=progress), variant=variant,
                        hidden=hidden, config=CACHED_HEADS_CONFIG, progress=progress,
                        info={"name": output.stem, "data": "oasis-beauty (all 900 images, 605 people)",
                              "built_by": "python -m piaa.models.pa_iaa.default"})
    save_network(net, output, dtype=dtype)
    return {"output": str(output), "bytes": output.stat().st_size, "seconds": round(time.time() - t0, 1),
            "traits": list(second.names), "final_losses": net.info.get("final_losses")}


def main(argv=None) -> int:
    from piaa.models.pa_iaa.build import default_shared_data

    ap = argparse.ArgumentParser(description="Train the shipped PA_IAA network on all OASIS-beauty data.")
    ap.add_argument("--data", type=Path, default=default_shared_data(), help="folder holding oasis-beauty/")
    ap.add_argument("--output", type=Path, default=default_network_path())
    ap.add_argument("--variant", default="multilevel", choices=["pooled", "multilevel"])
    ap.add_argument("--hidden", default="1024,512", help="hidden sizes of both heads (paper: 1024,512)")
    ap.add_argument("--dtype", default="int8", choices=["int8", "float16", "float32"],
                    help="weight storage: int8 (per-row scales; default, ~7 MB), float16 (~14 MB) or float32")
    a = ap.parse_args(argv)
    info = build_default(a.data, a.output, a.variant, [int(h) for h in a.hidden.split(",") if h], a.dtype)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
