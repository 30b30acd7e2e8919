"""Flat model inputs ``[prefix | trunk]`` for images, from the feature cache (docs/design.md §1C).

Below the split nothing is trainable, so its outputs are features computed once per image and cached:
``trunk{split}`` activations (stored fp16 by the extractor) and, for multilevel pooling, the pooled outputs of
the layers below the split (a prefix of the cached ``multilevel`` vector).
"""
from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

from piaa.models.task_vectors.spec import TaskModelSpec, input_layout
from piaa.errors import InputError


def variants_for(spec: TaskModelSpec) -> List[str]:
    """Cached feature variants the spec's inputs are built from."""
    lay = input_layout(spec)
    if spec.split == -1:
        return ["multilevel"]  # pool = "last" takes the last layer's slice: one cached variant for every bank
    if lay.trunk_shape is None:
        return ["multilevel" if spec.pool == "multilevel" else "pooled"]
    out = [f"trunk{spec.split}"]
    if lay.prefix_dim:
        out.insert(0, "multilevel")
    return out


def assemble(spec: TaskModelSpec, get: Callable[[str, str], np.ndarray]) -> np.ndarray:
    """Build flat inputs with ``get(backbone, variant) -> [n, ...]`` feature arrays (NaN rows stay NaN); a
    concatenation of backbones gives their features side by side."""
    lay = input_layout(spec)
    if spec.split == -1:
        v = variants_for(spec)[0]
        parts = []
        for b, d in zip(spec.backbones, lay.layer_channels):
            a = np.asarray(get(b, v), dtype=np.float32)
            a = a.reshape(len(a), -1)
            parts.append(a[:, a.shape[1] - d:])  # pool = "last": the head layer's pooled output ends the vector
        X = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        if X.shape[1] != lay.input_dim:
            raise InputError(f"features have {X.shape[1]} values per image, the task model expects {lay.input_dim}")
        return X
    parts = []
    for v in variants_for(spec):
        a = np.asarray(get(spec.backbone, v), dtype=np.float32)
        a = a.reshape(len(a), -1)
        if v == "multilevel" and lay.trunk_shape is not None:
            a = a[:, : lay.prefix_dim]
        parts.append(a)
    X = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    if X.shape[1] != lay.input_dim:
        raise InputError(f"features have {X.shape[1]} values per image, the task model expects {lay.input_dim}")
    return X


def inputs_for_paths(spec: TaskModelSpec, paths: Sequence, cache="default", progress: bool = False) -> np.ndarray:
    """Inputs for image paths via FeatureExtractor (cached); unreadable images give NaN rows."""
    from piaa.features import FeatureExtractor

    def get(backbone, variant):
        return FeatureExtractor(backbone, variant, cache=cache, progress=progress).extract(list(paths)).features

    return assemble(spec, get)


def inputs_from_provider(spec: TaskModelSpec, provider, paths: Sequence) -> np.ndarray:
    """Inputs through an evaluation ``FeatureProvider`` (the runner's shared cache)."""
    return assemble(spec, lambda b, v: provider.get(list(paths), backbone=b, variant=v))


def as_inputs(spec: TaskModelSpec, X, cache="default") -> np.ndarray:
    """Accept image paths or a precomputed array ([n, input_dim] flat, or trunk activations: [n, C, H, W] maps,
    [n, tokens, width] ViT tokens)."""
    lay = input_layout(spec)
    if isinstance(X, np.ndarray) or hasattr(X, "__array__") and not isinstance(X, (list, tuple)):
        a = np.asarray(X, dtype=np.float32)
        if lay.trunk_shape is not None and a.ndim == len(lay.trunk_shape) + 1:
            if lay.prefix_dim:
                raise InputError("trunk activations alone are not enough for multilevel pooling: pass flat "
                                 "[prefix | trunk] inputs or image paths")
            a = a.reshape(len(a), -1)
        if a.ndim != 2 or a.shape[1] != lay.input_dim:
            raise InputError(f"expected inputs of shape [n, {lay.input_dim}] for {spec}, got {a.shape}")
        return a
    return inputs_for_paths(spec, list(X), cache=cache)
