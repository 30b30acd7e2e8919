"""A group's own beauty model from several people's ratings (``piaa train beauty``).

A photo club, a family or a design team that rated the same photos has taught a better generic model for its
own kind of photos than OASIS did: on AVT-AI (AI-generated and real images, 18 raters) a head trained on the
others' ratings reaches SROCC 0.575 per held-back person, the OASIS-trained one 0.125 (BENCHMARKS.md
"Learning from everyone"). This module trains that model from a ``user,image,rating`` CSV:

* targets: each photo's distribution of the group's ratings over the scale's buckets (as the default model is
  trained on OASIS's distributions);
* head: :class:`~piaa.models.giaa.GenericHead` with its options chosen by k-fold cross-validation over the
  photos (SROCC of the expected score against the group's mean, :func:`piaa.models.giaa.select_params`);
* the group's taste prior (:class:`~piaa.personalize.prior_probe.TastePrior`, which feature directions the
  members' tastes differ along) when at least two members rated 10 photos, stored in the same file (arrays
  ``taste_prior.*``), so ``piaa profile create --base MODEL`` fits a member's profile on the group's model with
  the group's prior.

The file is a scoring model like the shipped one: ``piaa score --model MODEL.npz`` scores photos with it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.errors import InputError

PRIOR_PREFIX = "taste_prior."
MIN_IMAGES = 20
GRID = ({"components": 64, "epochs": 30}, {"components": 128, "epochs": 30}, {"components": 128, "epochs": 60,
                                                                                "dropout": 0.6})


def train_group_model(ratings_csv: Path, images_root: Optional[Path], output: Path, name: Optional[str] = None,
                      scale: Optional[Sequence[float]] = None, backbone: str = DEFAULT_BACKBONE,
                      variant: str = DEFAULT_VARIANT, select: bool = True, seed: int = 0,
                      progress: bool = False) -> dict:
    """Train and write the group's model; returns a summary (people, photos, options, CV SROCC, prior)."""
    from piaa.data.csv_reader import read_ratings_csv
    from piaa.features import FeatureExtractor
    from piaa.models.giaa import GenericHead, distributions_from_ratings, select_params
    from piaa.models.scorer import make_model_state
    from piaa.state import save_state

    csv = Path(ratings_csv).expanduser()
    if not csv.is_file():
        raise InputError(f"ratings file not found: {csv}")
    root = Path(images_root).expanduser() if images_root else csv.parent
    if not root.is_dir():
        raise InputError(f"images folder {root} does not exist (or is not a folder)")
    kw = {} if scale is None else {"scale": tuple(float(s) for s in scale)}
    ds = read_ratings_csv(csv, images_root=root, **kw)
    images = list(ds.image_ids)
    res = FeatureExtractor(backbone, variant, progress=progress).extract([root / i for i in images])
    X = np.asarray(res.features, dtype=np.float64)
    ok = np.isfinite(X).all(axis=1)
    skipped = [images[i] for i in np.flatnonzero(~ok)]
    images = [im for im, k in zip(images, ok) if k]
    X = X[ok]
    if len(images) < MIN_IMAGES:
        raise InputError(f"a group model needs at least {MIN_IMAGES} rated photos that can be read; "
                         f"{len(images)} of {csv} can")
    D = distributions_from_ratings(ds, images)
    base = {"n_models": 1, "seed": seed}
    table = None
    opts = dict(base, **GRID[1])
    if select:
        opts, table = select_params(X, D, ds.scale, grid=GRID, base=base, n_splits=3, seed=seed)
    head = GenericHead(ds.scale, **opts).fit(X, D)
    r = ds.ratings[ds.ratings["image"].isin(set(images))]
    people = int(r["user"].nunique())
    name = name or Path(output).stem
    desc = (f"GenericHead on {backbone} {variant} features, trained on the ratings of {people} people of "
            f"{csv.name} ({len(images)} photos)")
    extra = {"head_options": {k: v for k, v in opts.items() if k != "scale"}, "selection_cv": table,
             "n_train_images": len(images), "people": people, "scale": f"{ds.scale.min:g}-{ds.scale.max:g}",
             "limitations": "learned from this group's ratings of these photos only"}
    state = make_model_state(head, name, backbone, variant, f"{csv.name}: {len(r)} ratings by {people} people",
                             desc, extra=extra)
    prior = _group_prior(X, r, images, backbone, variant, csv)
    if prior is not None:
        state["arrays"].update({PRIOR_PREFIX + k: v for k, v in prior.to_arrays().items()})
        state["meta"]["model"]["taste_prior"] = {"raters": prior.meta["raters"], "images": prior.meta["images"]}
    save_state(output, state)
    best = max(table, key=lambda t: t["cv_srocc"])["cv_srocc"] if table else None
    return {"output": str(output), "name": name, "people": people, "photos": len(images), "ratings": int(len(r)),
            "skipped": skipped, "options": {k: v for k, v in opts.items() if k != "scale"}, "cv_srocc": best,
            "taste_prior": prior is not None, "scale": [ds.scale.min, ds.scale.max]}


def _group_prior(X, r, images, backbone, variant, csv):
    """The members' taste prior, or None when fewer than two of them rated 10 photos with other raters."""
    from piaa.personalize.prior_probe import TastePrior

    row = {im: j for j, im in enumerate(images)}
    rr = r.assign(image=r["image"].map(row))
    try:
        return TastePrior.fit(X, rr, meta={"data": csv.name, "backbone": backbone, "variant": variant,
                                          "built_by": "piaa train beauty"})
    except InputError:
        return None
