"""Scoring models: a registry of generic aesthetics models and one uniform inference wrapper (pyiqa-style).

A scoring model file is a pickle-free ``.npz`` (``piaa.state``) holding a fitted
:class:`~piaa.models.giaa.GenericHead` (or :class:`~piaa.models.linear_head.RidgeHead`) plus a ``model`` record in its metadata: the backbone and feature variant
it was trained on, ``score_range``, ``lower_better``, the training data and the measured metrics. Every
``*.npz`` under ``piaa/assets/models`` is a built-in model; ``load_scorer(path)`` also loads a file of one's
own (made with ``piaa train default --output FILE``). Held-out metrics come from ``<model>.bench.json`` beside
the file (the ``piaa bench giaa --output`` report of the same recipe).

    >>> import piaa
    >>> scorer = piaa.load_scorer()             # the default model
    >>> scorer.score(["a.jpg", "b.png"])         # [{"path", "score", "distribution"} | {"path", "error"}]
    >>> piaa.load_scorer("quality")              # technical photo quality, 0-1 (BIQ2021); "beauty" = default
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

from piaa.catalogue import Asset, asset_path, default_asset, list_assets
from piaa.paths import assets_dir
from piaa.registry import Registry
from piaa.errors import FileMissingError, InputError

if TYPE_CHECKING:  # imported where used: listing models must not load pandas (piaa models <= 0.5 s)
    from piaa.models.giaa import GenericHead

MODEL_KIND = "piaa.ScoringModel"
ASSET_DIR = assets_dir() / "models"


def _is_asset(entry) -> bool:
    return isinstance(entry, Asset)


SCORING_MODELS: Registry = Registry("scoring model")
for _a in list_assets("scorer"):
    SCORING_MODELS.register(_a.name, _a, aliases=_a.aliases)
DEFAULT_MODEL = default_asset("scorer").name
#: the shipped quality model (perceptual quality 0-1 of photos and generated images: BIQ2021 + AGIQA-3K, whole
#: image plus native-resolution crops and BRISQUE statistics); ``load_scorer("quality")``. The joint model on
#: whole-image features only stays available as "piaa-quality-lite0", the photos-only one as
#: "biq2021-quality-lite0".
QUALITY_MODEL = "piaa-quality-v3-lite0"
#: quality v2 (same evidence, MOS targets as published), kept loadable by name
NATIVE_QUALITY_MODEL = "piaa-quality-native-lite0"
JOINT_QUALITY_MODEL = "piaa-quality-lite0"
# what a photographer asks for: "beauty" (the default aesthetics model) and "quality" (technical quality)
SCORING_MODELS.alias("beauty", DEFAULT_MODEL)
if QUALITY_MODEL in SCORING_MODELS:
    SCORING_MODELS.alias("quality", QUALITY_MODEL)


def register_scoring_model(name: str, path, *, aliases=(), override: bool = False) -> None:
    """Make a model file of one's own loadable by name (``load_scorer(name)``, ``piaa score --model name``)."""
    SCORING_MODELS.register(name, Path(path).expanduser(), aliases=aliases, override=override)


def _entry_path(entry) -> Path:
    return entry.path if _is_asset(entry) else Path(entry)


def list_models() -> List[str]:
    """Names of the scoring models whose files are present (the default first)."""
    names = [n for n in SCORING_MODELS.names() if _entry_path(SCORING_MODELS.get(n)).is_file()]
    return sorted(names, key=lambda n: (n != DEFAULT_MODEL, n))


def model_path(name: Optional[str] = None) -> Path:
    """File of a scoring model name (None or "default" = the default model) or an existing ``.npz`` path."""
    name = DEFAULT_MODEL if name in (None, "", "default") else str(name)
    if name in SCORING_MODELS:
        entry = SCORING_MODELS.get(name)
        if _is_asset(entry):
            return asset_path(entry.name)
        if not Path(entry).is_file():
            raise FileMissingError(f"scoring model {name!r}: file not found: {entry}")
        return Path(entry)
    p = Path(name).expanduser()
    if p.suffix == ".npz" or os.sep in name or (os.altsep and os.altsep in name):
        if not p.is_file():
            raise FileMissingError(f"scoring model file not found: {name}")
        return p
    return _entry_path(SCORING_MODELS.get(name))  # raises UnknownNameError with "did you mean"


def read_model_file(path) -> dict:
    """The state dict of a scoring-model file, after checking it is one."""
    from piaa.state import load_state

    try:
        state = load_state(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable piaa model file ({exc})") from None
    info = state.get("meta", {}).get("model")
    if not isinstance(info, dict) or info.get("kind") != MODEL_KIND:
        raise InputError(f"{path}: not a piaa scoring model (no model record in its metadata)")
    return state


def model_info(name: Optional[str] = None) -> dict:
    """A model's published record as JSON (:class:`piaa.models.model_cfg.ScorerCfg`: name, what it measures,
    score_range, lower_better, backbone, variant, training data, licence, metrics, and the file's own record)."""
    from piaa.models.model_cfg import scorer_cfg

    return scorer_cfg(name).to_json()


def bench_report_path(model_file) -> Path:
    """Where a model's held-out benchmark report lives: ``<model>.bench.json`` beside the model file."""
    p = Path(model_file)
    return p.with_name(p.stem + ".bench.json")


def summarize_benchmark(rep: dict) -> dict:
    """The held-out metrics of a ``piaa bench giaa --output`` report that a model record shows."""
    s = rep["summary"]
    return {
        "protocol": "4-fold GIAA on OASIS beauty (train on 3 image subsets, test on the 4th; head options by "
                    "CV on the training subsets only)",
        "backbones": rep.get("backbones"), "variant": rep.get("variant"),
        "srocc": round(s["srocc"]["mean"], 4), "srocc_std": round(s["srocc"]["std"], 4),
        "plcc": round(s["plcc"]["mean"], 4), "acc": round(s["acc"]["mean"], 4), "emd": round(s["emd"]["mean"], 4),
        "srocc_folds": [round(f["srocc"], 4) for f in rep["folds"]],
        "head_options": rep.get("head_options"), "date": rep.get("date"),
    }


def _attach_metrics(info: dict, model_file: Path) -> dict:
    rp = bench_report_path(model_file)
    if not info.get("metrics") and rp.is_file():
        import json

        try:
            info["metrics"] = summarize_benchmark(json.loads(rp.read_text()))
        except (ValueError, KeyError, TypeError):
            info["metrics"] = {}
    return info


def make_model_state(head: "GenericHead", name: str, backbone: str, variant: str, training_data: str,
                     description: str = "", metrics: Optional[dict] = None, dtype: str = "float32",
                     extra: Optional[dict] = None) -> dict:
    """Wrap a fitted head into a scoring-model state (save it with ``piaa.state.save_state``)."""
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

    def __init__(self, head: "GenericHead", info: dict, engine: str = "auto", cache="default",
                 batch_size: int = 32, workers: Optional[int] = None):
        self.head = head
        self.info = dict(info)
        self.name = str(info.get("name", "model"))
        lo, hi = info.get("score_range", (head.bucket_values.min(), head.bucket_values.max()))
        self.score_range = (float(lo), float(hi))
        self.lower_better = bool(info.get("lower_better", False))
        self.backbone = str(info["backbone"])
        # a model may concatenate the features of several backbones ("a+b"), in that order
        self.backbones = self.backbone.split("+")
        self.variant = str(info["variant"])
        # native-resolution evidence (piaa.detail.crops) appended after the whole-photo features, or None
        self.native = info.get("native") or None
        # what the score measures: "beauty" (OASIS aesthetics models), "quality" (technical photo quality)
        self.criterion = str(info.get("criterion", "beauty"))
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
    def extractors(self) -> list:
        if self._extractor is None:
            from piaa.features import FeatureExtractor

            kw = {} if self.workers is None else {"workers": self.workers}
            self._extractor = [FeatureExtractor(bb, self.variant, cache=self.cache, batch_size=self.batch_size,
                                                engine=self.engine, **kw) for bb in self.backbones]
            if self.native:
                from piaa.detail.crops import NativeEvidence

                self._extractor.append(NativeEvidence(self.backbones[0], self.variant, cache=self.cache,
                                                      engine=self.engine, **self.native, **kw))
        return self._extractor

    def features(self, items: Sequence, progress: bool = False, memo: Optional[dict] = None):
        """(features [n, d] with NaN rows for failures, {index: error}) of this model's backbone(s), then its
        native-resolution evidence when it has some. ``memo`` (a dict) shares blocks between models."""
        blocks, errors = [], {}
        for fx in self.extractors:
            fx.progress = progress
            key = fx.model_key
            if memo is not None and key in memo:
                res = memo[key]
            else:
                res = fx.extract(items)
                if memo is not None:
                    memo[key] = res
            blocks.append(res.features)
            for i, msg in res.errors.items():
                errors.setdefault(i, msg)
        return (blocks[0] if len(blocks) == 1 else np.hstack(blocks)), errors

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
        X, errors = self.features(items, progress=progress)
        ok = np.ones(len(items), dtype=bool)
        ok[list(errors)] = False
        records: List[dict] = []
        dist = np.zeros((len(items), len(self.bucket_values)))
        if ok.any():
            dist[ok] = self.head.predict_distribution(X[ok])
        scores = dist @ self.bucket_values
        for i, src in enumerate(items):
            label = os.fspath(src) if isinstance(src, (str, os.PathLike)) else f"<image {i}>"
            if not ok[i]:
                records.append({"path": label, "error": errors.get(i, "could not be scored")})
            else:
                records.append({"path": label, "score": float(scores[i]),
                                "distribution": [float(p) for p in dist[i]]})
        return records


def score_many(scorers: Sequence[Scorer], images: Sequence, progress: bool = False) -> List[dict]:
    """Score photos with several models at once: ``{"path", "scores": {label: score}, "distributions": {label:
    [p...]}}`` (each model's predicted distribution over its buckets, as :meth:`Scorer.score` gives one model's)
    or ``{"path", "error"}``.

    Models share every feature block they have in common (the beauty and quality models both read Lite0
    multi-level features of the whole photo: one network pass per photo for both; the quality model adds its
    native-resolution evidence). ``label`` is the
    model's criterion ("beauty", "quality") when no other model given has it, else the model's name.
    """
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    items = list(images)
    crits = [s.criterion for s in scorers]
    labels = [c if crits.count(c) == 1 else s.name for s, c in zip(scorers, crits)]
    if len(set(labels)) != len(labels):
        raise InputError(f"the same model is listed twice: {[s.name for s in scorers]}")
    feats: list = []
    errors: dict = {}
    memo: dict = {}
    for s in scorers:
        X, errs = s.features(items, progress=progress, memo=memo)
        feats.append(X)
        for i, msg in errs.items():
            errors.setdefault(i, msg)
    ok = np.ones(len(items), dtype=bool)
    ok[list(errors)] = False
    scores, dists = {}, {}
    for s, label, X in zip(scorers, labels, feats):
        col = np.full(len(items), np.nan)
        dist = np.full((len(items), len(s.bucket_values)), np.nan)
        if ok.any():
            dist[ok] = s.head.predict_distribution(X[ok])
            col[ok] = dist[ok] @ s.bucket_values
        scores[label], dists[label] = col, dist
    out = []
    for i, src in enumerate(items):
        path = os.fspath(src) if isinstance(src, (str, os.PathLike)) else f"<image {i}>"
        if not ok[i]:
            out.append({"path": path, "error": errors.get(i, "could not be scored")})
        else:
            out.append({"path": path, "scores": {label: float(scores[label][i]) for label in labels},
                        "distributions": {label: [float(p) for p in dists[label][i]] for label in labels}})
    return out


def load_scorer(name: Optional[str] = None, engine: str = "auto", cache="default", batch_size: int = 32,
                workers: Optional[int] = None) -> Scorer:
    """A :class:`Scorer` for a built-in model name (None = the default model) or a model ``.npz`` file.

    engine: feature engine ("auto" = ONNX Runtime when it reproduces eager torch, else torch).
    cache:  "default" (the user feature cache), a path, or None for no cache.
    """
    path = model_path(name)
    state = read_model_file(path)
    from piaa.models.linear_head import head_from_state

    head = head_from_state(state)  # a GenericHead (distribution MLP) or a RidgeHead (quality)
    info = _attach_metrics(dict(state["meta"]["model"]), path)
    info.setdefault("file", str(path))
    return Scorer(head, info, engine=engine, cache=cache, batch_size=batch_size, workers=workers)
