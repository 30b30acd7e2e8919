"""The PA_IAA multi-task network: shared features ``d`` -> aesthetics-distribution head + trait head.

Heads follow the paper: FC 1024 -> BN -> FC 512 -> BN -> FC N, with ReLU after each BN (the paper lists the
layers only; without a non-linearity the two hidden layers would collapse into one linear map). The aesthetics
head ends in softmax over the N score buckets (generic score = Σ bucket value x probability); the second head
ends in tanh over 5 traits (PA_IAA) or in softmax over a second aesthetics task's buckets (MT_IAA ablation).

Two input modes, so training never re-decodes a photo:

* ``split=None`` ("heads"): input = cached backbone features (``pooled`` or ``multilevel``), ``d`` = those
  features, standardized with the training mean/std stored in the network.
* ``split=K`` ("finetune top"): the backbone's layers ``K..end`` are part of the network and trainable; input =
  one flat row ``[multilevel pools of layers < K | trunkK activations (C·H·W)]``. ``d`` = the multilevel vector
  (lower pools are fixed, upper pools are recomputed) or the final pooled vector for ``variant="pooled"``. With
  the top frozen this equals the heads mode on the same variant.
"""
from __future__ import annotations

import copy
import hashlib
import json
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from piaa.backbones.backbone import pool_output

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.errors import InputError

PAPER_HIDDEN = (1024, 512)


def make_head(in_dim: int, out_dim: int, hidden: Sequence[int] = PAPER_HIDDEN, dropout: float = 0.0) -> nn.Sequential:
    """FC -> BN -> ReLU (-> dropout) for every hidden size, then FC ``out_dim`` (activation applied by caller)."""
    layers = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class PAIAANet(nn.Module):
    """Shared features -> (aesthetics distribution, second-task output). See module docstring."""

    def __init__(self, in_dim: int, bucket_values: Sequence[float], second_dim: int = 5, second_kind: str = "traits",
                 second_names: Optional[Sequence[str]] = None, hidden: Sequence[int] = PAPER_HIDDEN,
                 backbone: str = DEFAULT_BACKBONE, variant: str = DEFAULT_VARIANT, split: Optional[int] = None,
                 dropout: float = 0.0, second_bucket_values: Optional[Sequence[float]] = None,
                 info: Optional[dict] = None, _top: Optional[nn.ModuleList] = None):
        super().__init__()
        if second_kind not in ("traits", "aesthetics"):
            raise InputError(f"second_kind must be 'traits' or 'aesthetics', got {second_kind!r}")
        self.config = {
            "in_dim": int(in_dim), "bucket_values": [float(v) for v in bucket_values], "second_dim": int(second_dim),
            "second_kind": second_kind, "second_names": list(second_names or [f"out{i}" for i in range(second_dim)]),
            "hidden": [int(h) for h in hidden], "backbone": backbone, "variant": variant,
            "split": None if split is None else int(split), "dropout": float(dropout),
            "second_bucket_values": None if second_bucket_values is None else [float(v) for v in second_bucket_values],
        }
        self.info = dict(info or {})  # free-form provenance (training data, traits, settings)
        self.source: Optional[str] = None  # "default:NAME" / "file:PATH" when loaded, for personalizer states
        self.top: Optional[nn.ModuleList] = None
        self.low_dim = 0
        self.trunk_shape: Optional[Tuple[int, int, int]] = None
        if split is not None:
            self.top = _top if _top is not None else _backbone_top(backbone, split)
            self._setup_split_dims(backbone, split)
        feat_dim = self._feature_dim(in_dim)
        self.register_buffer("feat_mean", torch.zeros(feat_dim))
        self.register_buffer("feat_std", torch.ones(feat_dim))
        self.register_buffer("values", torch.tensor(self.config["bucket_values"], dtype=torch.float32))
        self.aesthetics = make_head(feat_dim, len(bucket_values), hidden, dropout)
        self.second = make_head(feat_dim, second_dim, hidden, dropout)

    # ---- input handling ---------------------------------------------------------------------------------------
    def _setup_split_dims(self, backbone: str, split: int) -> None:
        from piaa.backbones import create_backbone, get_pretrained_cfg

        bb = create_backbone(backbone)
        self.layer_channels = list(bb.layer_channels)
        with torch.no_grad():
            size = get_pretrained_cfg(backbone).input_size
            x = bb.forward_range(torch.zeros(1, 3, size, size), 0, split)
        self.trunk_shape = tuple(int(s) for s in x.shape[1:])
        self.low_dim = int(sum(self.layer_channels[:split])) if self.config["variant"] == "multilevel" else 0

    def _feature_dim(self, in_dim: int) -> int:
        if self.top is None:
            return int(in_dim)
        if self.config["variant"] == "multilevel":
            return int(sum(self.layer_channels))
        return int(self.layer_channels[-1])

    @property
    def input_dim(self) -> int:
        """Width of the flat input rows ``forward`` expects."""
        if self.top is None:
            return self.config["in_dim"]
        return self.low_dim + int(np.prod(self.trunk_shape))

    @property
    def n_buckets(self) -> int:
        return len(self.config["bucket_values"])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Shared vector ``d`` (standardized) from an input row batch."""
        if self.top is not None:
            low, trunk = x[:, : self.low_dim], x[:, self.low_dim:].reshape(-1, *self.trunk_shape)
            pools = [low] if self.low_dim else []
            h = trunk
            for layer in self.top:
                h = layer(h)
                if self.config["variant"] == "multilevel":
                    pools.append(pool_output(layer, h))
            x = torch.cat(pools, dim=1) if self.config["variant"] == "multilevel" else pool_output(self.top[-1], h)
        return (x - self.feat_mean) / self.feat_std

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(aesthetics probabilities [n, N], second output [n, M]) — tanh traits or softmax distribution."""
        d = self.encode(x)
        a = torch.softmax(self.aesthetics(d), dim=1)
        s = self.second(d)
        s = torch.tanh(s) if self.config["second_kind"] == "traits" else torch.softmax(s, dim=1)
        return a, s

    def forward_head(self, which: str, x: torch.Tensor) -> torch.Tensor:
        """Only one head: "aesthetics" (probabilities) or "second" (traits / distribution)."""
        d = self.encode(x)
        if which == "aesthetics":
            return torch.softmax(self.aesthetics(d), dim=1)
        s = self.second(d)
        return torch.tanh(s) if self.config["second_kind"] == "traits" else torch.softmax(s, dim=1)

    def generic_score(self, probs: torch.Tensor) -> torch.Tensor:
        return probs @ self.values

    # ---- inference on arrays ----------------------------------------------------------------------------------
    @torch.no_grad()
    def predict_arrays(self, X: np.ndarray, batch_size: int = 256) -> Dict[str, np.ndarray]:
        """``{"probs", "score", "second", "hidden"}`` for input rows ``X``; NaN rows give NaN outputs.

        ``hidden`` is the aesthetics head's last hidden layer (512-d in the paper), the per-image descriptor the
        MLP fusion variant reads.
        """
        self.eval()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise InputError(f"expected input rows of width {self.input_dim}, got shape {X.shape}")
        ok = np.isfinite(X).all(axis=1)
        n = len(X)
        out = {"probs": np.full((n, self.n_buckets), np.nan, np.float32),
               "second": np.full((n, self.config["second_dim"]), np.nan, np.float32),
               "hidden": np.full((n, self.config["hidden"][-1] if self.config["hidden"] else self.feat_mean.shape[0]),
                                 np.nan, np.float32)}
        idx = np.flatnonzero(ok)
        for s in range(0, len(idx), batch_size):
            b = idx[s:s + batch_size]
            d = self.encode(torch.from_numpy(X[b]))
            hid = self.aesthetics[:-1](d)
            logits = self.aesthetics[-1](hid)
            out["probs"][b] = torch.softmax(logits, dim=1).numpy()
            sec = self.second(d)
            sec = torch.tanh(sec) if self.config["second_kind"] == "traits" else torch.softmax(sec, dim=1)
            out["second"][b] = sec.numpy()
            out["hidden"][b] = hid.numpy()
        out["score"] = out["probs"] @ np.asarray(self.config["bucket_values"], dtype=np.float32)
        return out

    def fusion_inputs(self, outputs: Dict[str, np.ndarray]) -> np.ndarray:
        """The vector ``p`` the per-person fusion weighs: traits, or the second task's distribution."""
        return outputs["second"]

    # ---- feature extraction -----------------------------------------------------------------------------------
    def extract_inputs(self, paths: Sequence, cache="default", progress: bool = False) -> Tuple[np.ndarray, dict]:
        """Input rows for image paths (or PIL images) via the cached FeatureExtractor; errors by index."""
        from piaa.features import FeatureExtractor

        cfg = self.config
        if self.top is None:
            res = FeatureExtractor(cfg["backbone"], cfg["variant"], cache=cache, progress=progress).extract(paths)
            return res.features, res.errors
        parts, errors = [], {}
        if self.low_dim:
            res = FeatureExtractor(cfg["backbone"], "multilevel", cache=cache, progress=progress).extract(paths)
            parts.append(res.features[:, : self.low_dim])
            errors.update(res.errors)
        res = FeatureExtractor(cfg["backbone"], f"trunk{cfg['split']}", cache=cache, progress=progress).extract(paths)
        trunk = res.features.reshape(len(paths), -1)
        if trunk.shape[1] == 0:  # every image failed: shape unknown
            trunk = np.full((len(paths), int(np.prod(self.trunk_shape))), np.nan, np.float32)
        parts.append(trunk)
        errors.update(res.errors)
        return np.concatenate(parts, axis=1).astype(np.float32), dict(sorted(errors.items()))

    # ---- state ------------------------------------------------------------------------------------------------
    def state_dict_arrays(self, dtype: str = "float32") -> Dict[str, np.ndarray]:
        """Weights as numpy arrays. ``dtype="int8"``: every weight matrix stored as int8 with one float32 scale
        per output row (``NAME@scale``; symmetric, max-abs), the rest float16 — half the size of float16."""
        arrays = {}
        for k, v in self.state_dict().items():
            a = v.detach().cpu().numpy()
            exact = k.startswith(("feat_mean", "feat_std", "values")) or a.dtype.kind != "f"
            if exact:
                arrays[k] = a
            elif dtype == "int8" and a.ndim == 2:
                scale = np.abs(a).max(axis=1, keepdims=True) / 127.0
                scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
                arrays[k] = np.clip(np.rint(a / scale), -127, 127).astype(np.int8)
                arrays[f"{k}@scale"] = scale
            else:
                arrays[k] = a.astype("float16" if dtype == "int8" else dtype)
        return arrays

    def to_state(self, dtype: str = "float32") -> dict:
        """``{"meta", "arrays"}`` for ``piaa.state.save_state`` (no pickle)."""
        meta = {"kind": "pa-iaa-network", "version": 1, "config": self.config, "info": self.info}
        return {"meta": meta, "arrays": self.state_dict_arrays(dtype)}

    @classmethod
    def from_state(cls, state: dict) -> "PAIAANet":
        meta = state["meta"]
        if meta.get("kind") != "pa-iaa-network":
            raise InputError(f"not a PA_IAA network state (kind={meta.get('kind')!r})")
        cfg = dict(meta["config"])
        net = cls(info=meta.get("info"), **cfg)
        arrays = dict(state["arrays"])
        for k in [k for k in arrays if k.endswith("@scale")]:  # int8 rows back to float
            name = k[: -len("@scale")]
            arrays[name] = np.asarray(arrays.pop(name), np.float32) * np.asarray(arrays.pop(k), np.float32)
        sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float32) if np.asarray(v).dtype.kind == "f"
                                  else np.asarray(v)) for k, v in arrays.items()}
        missing, unexpected = net.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise InputError(f"network state does not match its config: missing {missing}, unexpected {unexpected}")
        net.eval()
        return net

    def fingerprint(self) -> str:
        """Content hash of config + weights: a fitted personalizer records it to detect a swapped network."""
        h = hashlib.sha256(json.dumps(self.config, sort_keys=True).encode())
        for k, v in sorted(self.state_dict().items()):
            h.update(k.encode())
            h.update(np.ascontiguousarray(v.detach().cpu().numpy().astype(np.float32)).tobytes())
        return h.hexdigest()[:16]


def _backbone_top(backbone: str, split: int) -> nn.ModuleList:
    from piaa.backbones import create_backbone

    bb = create_backbone(backbone)
    if not 0 < split < bb.num_layers:
        raise InputError(f"split must be in 1..{bb.num_layers - 1} for {backbone}, got {split}")
    return nn.ModuleList([copy.deepcopy(layer) for layer in bb.layers[split:]])


def save_network(net: PAIAANet, path, dtype: str = "float32") -> None:
    from piaa.state import save_state

    save_state(path, net.to_state(dtype))


def load_network(path) -> PAIAANet:
    from piaa.state import load_state

    return PAIAANet.from_state(load_state(path))
