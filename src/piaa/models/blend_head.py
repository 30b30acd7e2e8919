"""A weighted blend of scoring heads, each reading its own columns of one feature row.

Why: on quality, the distribution MLP (:class:`~piaa.models.giaa.GenericHead`) on every feature and a ridge
(:class:`~piaa.models.linear_head.RidgeHead`) on the native-resolution evidence alone err differently -- the MLP
ranks photos best, the ridge carries the native evidence to unseen kinds of image -- and their average beats
either on the validation parts (docs/benchmarks/quality.md). The blend's distribution is the weighted mean of
the heads' distributions, so its score (the expectation) is the weighted mean of their scores.

State: one ``piaa.state`` dict; each part's arrays are stored under ``h<i>.<name>`` and its own metadata inside
the blend's, so no pickle is involved.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from piaa.errors import InputError

STATE_KIND = "piaa.BlendHead"
STATE_VERSION = 1


class BlendHead:
    """``sum_i weights[i] * heads[i].predict_distribution(X[:, columns[i][0]:columns[i][1]])``.

    ``heads`` are fitted heads over the same buckets; ``columns`` a ``(start, stop)`` per head (``stop`` None =
    to the end); ``weights`` are normalised to sum to 1.
    """

    def __init__(self, heads: Sequence, columns: Sequence[tuple[int, int | None]], weights: Sequence[float]):
        if not heads or len(heads) != len(columns) or len(heads) != len(weights):
            raise InputError("BlendHead needs one column range and one weight per head")
        w = np.asarray(weights, dtype=np.float64)
        if (w < 0).any() or w.sum() <= 0:
            raise InputError(f"BlendHead weights must be >= 0 and not all 0, got {list(weights)}")
        values = [np.asarray(h.bucket_values, dtype=np.float64) for h in heads]
        if any(v.shape != values[0].shape or not np.allclose(v, values[0]) for v in values):
            raise InputError("BlendHead: every head must predict over the same buckets")
        self.heads = list(heads)
        self.columns = [(int(a), None if b is None else int(b)) for a, b in columns]
        self.weights = w / w.sum()

    @property
    def bucket_values(self) -> np.ndarray:
        return self.heads[0].bucket_values

    def predict_distribution(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise InputError(f"features must be a 2-d array [n_images, n_features], got shape {X.shape}")
        out = None
        for h, (a, b), w in zip(self.heads, self.columns, self.weights):
            d = w * np.asarray(h.predict_distribution(X[:, a:b]), dtype=np.float64)
            out = d if out is None else out + d
        return out

    def predict(self, X) -> np.ndarray:
        return self.predict_distribution(X) @ self.bucket_values

    def state_dict(self, dtype: str = "float32") -> dict:
        parts: list[dict] = []
        arrays: dict = {}
        for i, (h, cols, w) in enumerate(zip(self.heads, self.columns, self.weights)):
            st = h.state_dict(dtype=dtype)
            parts.append({"columns": list(cols), "weight": float(w), "meta": st["meta"]})
            arrays.update({f"h{i}.{k}": v for k, v in st["arrays"].items()})
        return {"meta": {"kind": STATE_KIND, "version": STATE_VERSION, "parts": parts}, "arrays": arrays}

    @classmethod
    def from_state_dict(cls, state) -> BlendHead:
        from piaa.models.linear_head import head_from_state

        meta, arrays = state.get("meta", {}), state.get("arrays", {})
        if meta.get("kind") != STATE_KIND:
            raise InputError(f"not a BlendHead state (kind={meta.get('kind')!r})")
        if int(meta.get("version", 0)) > STATE_VERSION:
            raise InputError(f"BlendHead state version {meta.get('version')} is newer than this piaa supports "
                             f"({STATE_VERSION}); upgrade piaa")
        heads, columns, weights = [], [], []
        for i, part in enumerate(meta.get("parts") or []):
            prefix = f"h{i}."
            sub = {"meta": part["meta"], "arrays": {k[len(prefix):]: v for k, v in arrays.items()
                                                    if k.startswith(prefix)}}
            heads.append(head_from_state(sub))
            columns.append(tuple(part["columns"]))
            weights.append(float(part["weight"]))
        if not heads:
            raise InputError("BlendHead state has no parts")
        return cls(heads, columns, weights)
