"""Test-only stand-ins for the profile tests: a tiny personalizer on colour statistics and a fake generic model.

They let the profile workflow be tested in milliseconds without a backbone; the real personalizers are
exercised by tests/integration/test_profile_oasis.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from piaa.personalize.base import Personalizer
from piaa.personalize.registry import register_personalizer

STANDIN = "test-standin"


_MEMO = {}


def colour_features(paths):
    """Mean R, G, B of each image in [0, 1]; NaN row for a file that cannot be decoded (memoized per file)."""
    from piaa.io.images import ImageLoadError, load_image

    out = np.full((len(paths), 3), np.nan)
    for i, p in enumerate(paths):
        try:
            st = Path(p).stat()
            key = (str(p), st.st_size, st.st_mtime_ns)
            if key not in _MEMO:
                _MEMO[key] = np.asarray(load_image(p, target_size=16), dtype=float).reshape(-1, 3).mean(0) / 255.0
            out[i] = _MEMO[key]
        except (ImageLoadError, OSError):
            pass
    return out


@register_personalizer(STANDIN)
class StandInPersonalizer(Personalizer):
    """Least squares on mean colour, fitted to the residual of the generic score (``offset``)."""

    def __init__(self, ridge: float = 1e-3):
        self.ridge = ridge

    def fit(self, X, y, *, offset=None):
        F = colour_features(list(X))
        y = np.asarray(y, float) - (0.0 if offset is None else np.asarray(offset, float))
        A = np.c_[F, np.ones(len(F))]
        self.coef_ = np.linalg.solve(A.T @ A + self.ridge * np.eye(4), A.T @ y)
        return self

    def predict(self, X, *, offset=None):
        self.check_fitted()
        F = colour_features(list(X))
        return np.c_[F, np.ones(len(F))] @ self.coef_ + (0.0 if offset is None else np.asarray(offset, float))

    def _get_state(self):
        return {"ridge": self.ridge}, {"coef_": self.coef_}

    @classmethod
    def _from_state(cls, meta, arrays):
        est = cls(meta["ridge"])
        est.coef_ = np.asarray(arrays["coef_"], float)
        return est

    def explain(self):
        return {"colour weights": {"red": float(self.coef_[0]), "green": float(self.coef_[1]),
                                   "blue": float(self.coef_[2])}}


class FakeScorer:
    """A "generic model" that likes green photos (while the test person likes red ones)."""

    name = "fake-generic"
    score_range = (1.0, 7.0)
    lower_better = False

    def __init__(self):
        self.calls = 0

    def score(self, paths):
        self.calls += 1
        F = colour_features(list(paths))
        recs = []
        for p, f in zip(paths, F):
            if np.isnan(f).any():
                recs.append({"path": str(p), "error": "not an image"})
            else:
                recs.append({"path": str(p), "score": float(1 + 6 * f[1])})
        return recs


def make_photos(folder: Path, n: int = 24, seed: int = 0, ext: str = ".jpg"):
    """``n`` small photos of random colours and the test person's rating of each (1..7: likes red)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths, ratings = [], []
    for i in range(n):
        rgb = rng.integers(0, 256, size=3)
        p = folder / f"photo_{i:03d}{ext}"
        Image.new("RGB", (24, 20), tuple(int(v) for v in rgb)).save(p, quality=95)
        paths.append(p)
        ratings.append(float(np.clip(np.rint(1 + 6 * rgb[0] / 255 + rng.normal(0, 0.3)), 1, 7)))
    return paths, ratings


def test_support_photos_are_rated_by_redness(tmp_path):
    paths, ratings = make_photos(tmp_path, 12)
    F = colour_features(paths)
    assert np.corrcoef(F[:, 0], ratings)[0, 1] > 0.9


@register_personalizer("test-missing-asset")
class MissingAssetPersonalizer(Personalizer):
    """Registered, but its shipped model file is absent (like a task bank not built in this installation)."""

    uses_offset = False

    def fit(self, X, y, *, offset=None):
        raise FileNotFoundError("/nowhere/bank: the default task bank is missing")
