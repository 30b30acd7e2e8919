"""The shipped taste prior (OASIS-beauty raters) and the command that builds it.

    python -m piaa.personalize.default_prior --output src/piaa/assets/taste_prior_oasis_lite0.npz

Built from all 605 OASIS-beauty raters' ratings of the 900 images and EfficientNet-Lite0 multilevel features,
with the settings of ``piaa.personalize.prior_probe`` (chosen on validation people, docs/benchmarks/prior_probe.md).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache
from pathlib import Path

from piaa.catalogue import asset_info, asset_path, default_asset
from piaa.personalize.prior_probe import DEFAULT_RATER_ALPHA, TastePrior

DEFAULT_PRIOR = default_asset("taste-prior").name


def default_prior_path(name: str = DEFAULT_PRIOR) -> Path:
    return asset_info(name).path


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
        raise FileNotFoundError(f"taste prior {ref!r} not found (give a TastePrior, 'default:NAME', 'file:PATH' or "
                                f"an existing .npz)")
    return TastePrior.load(path), f"file:{path.resolve()}"


def build_default(data_root: Path, output: Path, alpha: float = DEFAULT_RATER_ALPHA) -> dict:
    import numpy as np

    from piaa.data import load_dataset
    from piaa.features import FeatureExtractor

    t0 = time.time()
    ds = load_dataset("oasis-beauty", Path(data_root) / "oasis-beauty")
    images = list(ds.image_ids)
    X = FeatureExtractor("efficientnet_lite0", "multilevel", progress=True).extract(
        [Path(ds.images_root) / i for i in images]).features
    ok = np.isfinite(X).all(axis=1)
    row = {im: i for i, im in enumerate(im for im, k in zip(images, ok) if k)}
    r = ds.ratings[ds.ratings["image"].isin(row)].assign(image=lambda d: d["image"].map(row))
    prior = TastePrior.fit(X[ok], r, alpha=alpha, meta={"data": "oasis-beauty (all 900 images, 605 raters)",
                                                         "backbone": "efficientnet_lite0", "variant": "multilevel",
                                                         "built_by": "python -m piaa.personalize.default_prior"})
    prior.save(output)
    return {"output": str(output), "bytes": output.stat().st_size, "seconds": round(time.time() - t0, 1),
            **prior.meta}


def main(argv=None) -> int:
    from piaa.models.pa_iaa.build import default_shared_data

    ap = argparse.ArgumentParser(description="Build the shipped taste prior from all OASIS-beauty raters.")
    ap.add_argument("--data", type=Path, default=default_shared_data(), help="folder holding oasis-beauty/")
    ap.add_argument("--output", type=Path, default=default_prior_path())
    ap.add_argument("--alpha", type=float, default=DEFAULT_RATER_ALPHA,
                    help="each rater's ridge strength relative to the mean squared feature norm")
    a = ap.parse_args(argv)
    print(json.dumps(build_default(a.data, a.output, a.alpha), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
