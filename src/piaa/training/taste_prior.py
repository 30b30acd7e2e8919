"""``piaa train taste-prior``: build the shipped taste prior of the probe-prior personalizer from all 605
OASIS-beauty raters' ratings of the 900 images and EfficientNet-Lite0 multilevel features, with the settings of
``piaa.personalize.prior_probe`` (chosen on validation people, docs/benchmarks/prior_probe.md)."""
from __future__ import annotations

import time
from pathlib import Path

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.personalize.prior_probe import DEFAULT_RATER_ALPHA, TastePrior


def build_taste_prior(data_root: Path, output: Path, alpha: float = DEFAULT_RATER_ALPHA) -> dict:
    import numpy as np

    from piaa.data import load_dataset
    from piaa.features import FeatureExtractor

    t0 = time.time()
    ds = load_dataset("oasis-beauty", Path(data_root) / "oasis-beauty")
    images = list(ds.image_ids)
    X = FeatureExtractor(DEFAULT_BACKBONE, DEFAULT_VARIANT, progress=True).extract(
        [Path(ds.images_root) / i for i in images]).features
    ok = np.isfinite(X).all(axis=1)
    row = {im: i for i, im in enumerate(im for im, k in zip(images, ok) if k)}
    r = ds.ratings[ds.ratings["image"].isin(row)].assign(image=lambda d: d["image"].map(row))
    prior = TastePrior.fit(X[ok], r, alpha=alpha, meta={"data": "oasis-beauty (all 900 images, 605 raters)",
                                                         "backbone": DEFAULT_BACKBONE, "variant": DEFAULT_VARIANT,
                                                         "built_by": "piaa train taste-prior"})
    prior.save(output)
    return {"output": str(output), "bytes": output.stat().st_size, "seconds": round(time.time() - t0, 1),
            **prior.meta}
