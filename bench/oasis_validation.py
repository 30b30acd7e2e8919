"""The validation fold both validation benches use: OASIS training subsets -> features, generic head, taste data.

Settings are chosen on the people who rated the validation subset, with everything fitted on the training
subsets only (never on a test fold), so the benches share this one setup.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np


@dataclass
class ValidationFold:
    ds: object            # the OASIS-beauty RatingsDataset
    train_imgs: list
    val_imgs: list
    Xtr: np.ndarray       # multilevel Lite0 features of the training images
    Xva: np.ndarray       # ... of the validation images
    gen: np.ndarray       # generic score of each validation image (head fitted on the training images)
    train_ratings: object  # training raters' ratings with images as row indices of Xtr (TastePrior.fit input)
    users: list           # up to `people` validation people, in a seeded random order


def validation_fold(data_root: Path, val: str, train, people: int, seed: int = 0,
                    progress: bool = False) -> ValidationFold:
    from piaa.data import load_dataset
    from piaa.features import FeatureExtractor
    from piaa.models.giaa import GenericHead, distributions_from_ratings

    ds = load_dataset("oasis-beauty", Path(data_root) / "oasis-beauty")
    train_imgs = [i for s in train for i in ds.splits[s]]
    val_imgs = list(ds.splits[val])
    fx = FeatureExtractor("efficientnet_lite0", "multilevel", progress=progress)
    root = Path(ds.images_root)
    Xtr = np.asarray(fx.extract([root / i for i in train_imgs]).features, dtype=np.float64)
    Xva = np.asarray(fx.extract([root / i for i in val_imgs]).features, dtype=np.float64)
    tr = replace(ds, ratings=ds.ratings[ds.ratings["image"].isin(set(train_imgs))].reset_index(drop=True))
    head = GenericHead(ds.scale, seed=seed).fit(Xtr, distributions_from_ratings(tr, train_imgs))
    gen = np.asarray(head.predict(Xva), dtype=float)
    if gen.ndim == 2:  # a distribution per image -> its mean score
        gen = gen @ np.asarray(ds.scale.values, dtype=float)
    row = {im: i for i, im in enumerate(train_imgs)}
    train_ratings = tr.ratings.assign(image=lambda d: d["image"].map(row))
    pos = set(val_imgs)
    rng = np.random.default_rng(seed)
    users = list(rng.permutation(sorted(set(ds.ratings[ds.ratings["image"].isin(pos)]["user"])))[:people])
    return ValidationFold(ds, train_imgs, val_imgs, Xtr, Xva, gen, train_ratings, users)
