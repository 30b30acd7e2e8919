"""From rating tables to a trained PA_IAA / MT_IAA network: targets, inputs, training in one call.

``build_network`` is what the evaluation methods, the default-asset command and the tests share. Inputs come from
an ``inputs_fn(paths) -> rows`` callable, so the caller decides where features come from (the evaluation fold's
feature provider, the FeatureExtractor, a synthetic array).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import numpy as np
import pandas as pd

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.models.pa_iaa.network import PAPER_HIDDEN, PAIAANet
from piaa.models.pa_iaa.traits import DEFAULT_WEIGHTING, select_traits, trait_targets
from piaa.models.pa_iaa.train import CACHED_HEADS_CONFIG, TrainConfig, train_network
from piaa.errors import InputError

InputsFn = Callable[[Sequence[Path]], np.ndarray]


def distribution_targets(dataset, images: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Per-image score distribution over the dataset's buckets (rows sum to 1).

    Per-person ratings -> the empirical distribution. Per-image scores only (published means: a single user per
    image) -> the mean is split between its two neighbouring buckets so the distribution's mean equals it exactly
    (a one-hot at the rounded mean would throw the decimals away).
    """
    counts = dataset.ratings.groupby("image").size()
    if len(counts) and int(counts.max()) == 1:
        m = dataset.image_means()
        sc = dataset.scale
        d = sc.soft_onehot(m.to_numpy())
        out = pd.DataFrame(d, index=m.index, columns=[f"dist_{i}" for i in range(sc.buckets)])
    else:
        out = dataset.image_distributions()
    if images is not None:
        out = out.reindex(list(images))
    return out


@dataclass
class SecondTask:
    """What the second head learns: per-image targets for listed images."""

    kind: str                       # "traits" | "aesthetics"
    images: List[str]
    images_root: Path
    targets: pd.DataFrame           # index image
    names: List[str]
    bucket_values: Optional[List[float]] = None
    meta: Optional[dict] = None


def traits_task(dataset, images_root, users: Optional[pd.DataFrame] = None, traits="auto",
                images: Optional[Sequence[str]] = None, seed: int = 0, weighting: str = DEFAULT_WEIGHTING) -> SecondTask:
    """Trait targets from a ratings dataset with per-person traits; ``traits="auto"`` picks five by
    split-half reliability on these (training) ratings (see ``traits.select_traits``)."""
    users = dataset.users if users is None else users
    if users is None:
        raise InputError(f"{dataset.name}: trait task needs a users table")
    if traits == "auto":
        traits = select_traits(dataset.ratings, users, seed=seed, weighting=weighting)
    tt = trait_targets(dataset.ratings, users, list(traits), images=images, weighting=weighting)
    return SecondTask("traits", list(tt.targets.index), Path(images_root), tt.targets, list(tt.traits),
                      meta={**tt.to_meta(), "weighting": weighting})


def aesthetics_task(dataset, images_root, images: Optional[Sequence[str]] = None, name: str = "") -> SecondTask:
    """A second aesthetics task (MT_IAA): the dataset's per-image distributions."""
    d = distribution_targets(dataset, images).dropna()
    return SecondTask("aesthetics", list(d.index), Path(images_root), d,
                      [f"{name or dataset.name}:{v:g}" for v in dataset.scale.values],
                      bucket_values=[float(v) for v in dataset.scale.values], meta={"task": name or dataset.name})


def build_network(aes_dataset, aes_root, second: SecondTask, inputs_fn: InputsFn,
                  backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT, split: Optional[int] = None,
                  hidden: Sequence[int] = PAPER_HIDDEN, config: TrainConfig = CACHED_HEADS_CONFIG,
                  aes_images: Optional[Sequence[str]] = None, progress: bool = False, info: Optional[dict] = None,
                  return_history: bool = False):
    """Train a PA_IAA (second.kind == "traits") or MT_IAA network on the given data.

    aes_dataset: RatingsDataset of the aesthetics task (images relative to ``aes_root``); only ``aes_images``
    (default: all) are used.
    """
    dist = distribution_targets(aes_dataset, aes_images).dropna()
    a_paths = [Path(aes_root) / i for i in dist.index]
    X_a = np.asarray(inputs_fn(a_paths), dtype=np.float32)
    same = list(dist.index) == list(second.images) and Path(aes_root) == second.images_root
    X_p = X_a if same else np.asarray(inputs_fn([second.images_root / i for i in second.images]), dtype=np.float32)
    X_a, X_p = X_a.reshape(len(X_a), -1), X_p.reshape(len(X_p), -1)
    import torch

    torch.manual_seed(config.seed)  # the heads' initial weights, so a fold's network is reproducible
    net = PAIAANet(in_dim=X_a.shape[1] if split is None else 0, bucket_values=aes_dataset.scale.values,
                   second_dim=second.targets.shape[1], second_kind=second.kind, second_names=second.names,
                   hidden=hidden, backbone=backbone, variant=variant, split=split,
                   second_bucket_values=second.bucket_values,
                   info={**(info or {}), "second": second.meta, "train_config": config.to_dict(),
                         "n_aesthetics_images": len(dist), "n_second_images": len(second.images)})
    if X_a.shape[1] != net.input_dim:
        raise InputError(f"inputs have width {X_a.shape[1]} but the network expects {net.input_dim}")
    hist = train_network(net, X_a, dist.to_numpy(np.float32), X_p, second.targets.to_numpy(np.float32),
                         config, progress=progress)
    net.info["final_losses"] = {k: float(v) for k, v in hist[-1].items()} if hist else {}
    return (net, hist) if return_history else net


def extractor_inputs(backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT, split: Optional[int] = None,
                     cache="default", progress: bool = False) -> InputsFn:
    """``inputs_fn`` reading features through the FeatureExtractor and its cache; unreadable images -> NaN rows."""
    from piaa.features import FeatureExtractor

    def fn(paths):
        if split is None:
            return FeatureExtractor(backbone, variant, cache=cache, progress=progress).extract(list(paths)).features
        return split_inputs(paths, lambda p, v: FeatureExtractor(backbone, v, cache=cache,
                                                                 progress=progress).extract(list(p)).features,
                            backbone, variant, split)

    return fn


def split_inputs(paths, get: Callable, backbone: str, variant: str, split: int) -> np.ndarray:
    """Flat finetune-top input rows ``[multilevel pools below split | trunk activations]`` via ``get(paths,
    variant)``."""
    from piaa.backbones import create_backbone

    n = len(paths)
    trunk = np.asarray(get(paths, f"trunk{split}"), dtype=np.float32).reshape(n, -1)
    if variant != "multilevel":
        return trunk
    low = sum(create_backbone(backbone).layer_channels[:split])
    ml = np.asarray(get(paths, "multilevel"), dtype=np.float32)
    return np.concatenate([ml[:, :low], trunk], axis=1)


def default_shared_data() -> Path:
    """``$PIAA_SHARED_DATA`` or the ``shared/data`` folder next to the repository checkout."""
    from piaa.paths import shared_data_dir

    return shared_data_dir()
