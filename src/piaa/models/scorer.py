"""Scoring models: a registry of generic aesthetics models and one uniform inference wrapper (pyiqa-style).

A scoring model file is a pickle-free ``.npz`` (``piaa.personalize.state``) holding a fitted
:class:`~piaa.models.giaa.GenericHead` plus a ``model`` record in its metadata: the backbone and feature variant
it was trained on, ``score_range``, ``lower_better``, the training data and the measured metrics. Every
``*.npz`` under ``piaa/assets/models`` is a built-in model; ``load_scorer(path)`` also loads a file of one's
own (made with ``piaa train default --output FILE``).

    >>> import piaa
    >>> scorer = piaa.load_scorer()             # the default model
    >>> scorer.score(["a.jpg", "b.png"])         # [{"path", "score", "distribution"} | {"path", "error"}]
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.models.giaa import GenericHead

MODEL_KIND = "piaa.ScoringModel"
DEFAULT_MODEL = "oasis-beauty-lite0"
ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "models"


def _builtin_files() -> Dict[str, Path]:
    if not ASSET_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(ASSET_DIR.glob("*.npz"))}


def list_models() -> List[str]:
    """Names of the built-in scoring models (the default first)."""
    names = list(_builtin_files())
    return sorted(names, key=lambda n: (n != DEFAULT_MODEL, n))


def model_path(name: Optional[str] = None) -> Path:
    """File of a built-in model name (None or "default" = the default model) or an existing ``.npz`` path."""
    name = DEFAULT_MODEL if name in (None, "", "default") else str(name)
    files = _builtin_files()
    if name in files:
        return files[name]
    p = Path(name).expanduser()
    if p.suffix == ".npz" or os.sep in name or (os.altsep and os.altsep in name):
        if not p.is_file():
            raise FileNotFoundError(f"scoring model file not found: {name}")
        return p
    known = ", ".join(list_models()) or "(none installed)"
    raise KeyError(f"unknown scoring model {name!r}; available: {known} (or pass a model .npz file)")


def read_model_file(path) -> dict:
    """The state dict of a scoring-model file, after checking it is one."""
    from piaa.personalize.state import load_state

    try:
        state = load_state(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable piaa model file ({exc})") from None
    info = state.get("meta", {}).get("model")
    if not isinstance(info, dict) or info.get("kind") != MODEL_KIND:
        raise ValueError(f"{path}: not a piaa scoring model (no model record in its metadata)")
    return state


def model_info(name: Optional[str] = None) -> dict:
    """The ``model`` record of a model (name, backbone, variant, score_range, lower_better, training_data...)."""
    path = model_path(name)
    info = dict(read_model_file(path)["meta"]["model"])
    info["file"] = str(path)
    return info


def make_model_state(head: GenericHead, name: str, backbone: str, variant: str, training_data: str,
                     description: str = "", metrics: Optional[dict] = None, dtype: str = "float32",
                     extra: Optional[dict] = None) -> dict:
    """Wrap a fitted head into a scoring-model state (save it with ``piaa.personalize.state.save_state``)."""
    sc = head.bucket_values
    state = head.state_dict(dtype=dtype)
    state["meta"]["model"] = {
        "kind": MODEL_KIND, "name": name, "backbone": backbone, "variant": variant,
        "score_range": [float(sc.min()), float(sc.max())], "lower_better": False,
        "training_data": training_data, "description": description, "metrics": metrics or {},
        **(extra or {}),
    }
    return state


class Scorer:
    """Score photos with a generic aesthetics model: features (cached) -> head -> distribution and score.

    Attributes: ``name``, ``score_range`` (lo, hi), ``lower_better`` (False: higher = more beautiful),
    ``backbone``, ``variant``, ``bucket_values``, ``info`` (the model record).
    """

    def __init__(self, head: GenericHead, info: dict, engine: str = "auto", cache="default",
                 batch_size: int = 32, workers: Optional[int] = None):
        self.head = head
        self.info = dict(info)
        self.name = str(info.get("name", "model"))
        lo, hi = info.get("score_range", (head.bucket_values.min(), head.bucket_values.max()))
        self.score_range = (float(lo), float(hi))
        self.lower_better = bool(info.get("lower_better", False))
        self.backbone = str(info["backbone"])
        self.variant = str(info["variant"])
        self.engine = engine
        self.cache = cache
        self.batch_size = batch_size
        self.workers = workers
        self._extractor = None

    def __repr__(self) -> str:
        return (f"Scorer(name={self.name!r}, backbone={self.backbone!r}, variant={self.variant!r}, "
                f"score_range={self.score_range}, lower_better={self.lower_better})")

    @property
    def bucket_values(self) -> np.ndarray:
        return self.head.bucket_values

    @property
    def extractor(self):
        if self._extractor is None:
            from piaa.features import FeatureExtractor

            kw = {} if self.workers is None else {"workers": self.workers}
            self._extractor = FeatureExtractor(self.backbone, self.variant, cache=self.cache,
                                               batch_size=self.batch_size, engine=self.engine, **kw)
        return self._extractor

    # ---- on features -----------------------------------------------------------------------------------------
    def score_features(self, X) -> np.ndarray:
        """Scores of precomputed ``[n, d]`` features of this model's backbone/variant."""
        return self.head.predict(X)

    def distribution_features(self, X) -> np.ndarray:
        return self.head.predict_distribution(X)

    # ---- on photos -------------------------------------------------------------------------------------------
    def score(self, images: Sequence, progress: bool = False) -> List[dict]:
        """One record per input, in order: ``{"path", "score", "distribution"}`` or ``{"path", "error"}``.

        Inputs are paths (str/PathLike), raw bytes or PIL images; a PIL image or bytes get the path
        ``"<image i>"``. A photo that cannot be read or decoded becomes an error record, never an exception.
        """
        if isinstance(images, (str, os.PathLike)):
            images = [images]
        items = list(images)
        if not items:
            return []
        fx = self.extractor
        fx.progress = progress
        res = fx.extract(items)
        ok = res.ok
        records: List[dict] = []
        dist = np.zeros((len(items), len(self.bucket_values)))
        if ok.any():
            dist[ok] = self.head.predict_distribution(res.features[ok])
        scores = dist @ self.bucket_values
        for i, src in enumerate(items):
            label = os.fspath(src) if isinstance(src, (str, os.PathLike)) else f"<image {i}>"
            if not ok[i]:
                records.append({"path": label, "error": res.errors.get(i, "could not be scored")})
            else:
                records.append({"path": label, "score": float(scores[i]),
                                "distribution": [float(p) for p in dist[i]]})
        return records


def load_scorer(name: Optional[str] = None, engine: str = "auto", cache="default", batch_size: int = 32,
                workers: Optional[int] = None) -> Scorer:
    """A :class:`Scorer` for a built-in model name (None = the default model) or a model ``.npz`` file.

    engine: feature engine ("auto" = ONNX Runtime when it reproduces eager torch, else torch).
    cache:  "default" (the user feature cache), a path, or None for no cache.
    """
    path = model_path(name)
    state = read_model_file(path)
    head = GenericHead.from_state_dict(state)
    info = dict(state["meta"]["model"])
    info.setdefault("file", str(path))
    return Scorer(head, info, engine=engine, cache=cache, batch_size=batch_size, workers=workers)
