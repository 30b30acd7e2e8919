"""Synthetic experiments for the evaluation tests: no photos, a fake feature provider, OASIS-like folds."""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from piaa.evaluation.methods.base import FeatureProvider

N_IMAGES = 40
N_FOLDS = 4
DIM = 6


def latent(path) -> np.ndarray:
    """A fixed pseudo-random feature vector per image name."""
    rng = np.random.default_rng(zlib.crc32(Path(path).name.encode()))
    return rng.normal(size=DIM)


class FakeFeatures(FeatureProvider):
    """Features computed from the file name; records every request so tests can check what methods saw."""

    def __init__(self):
        self.requests = []

    def get(self, paths, backbone="efficientnet_lite0", variant="multilevel"):
        self.requests.append([str(p) for p in paths])
        return np.stack([latent(p) for p in paths]) if len(paths) else np.zeros((0, DIM))


def write_synthetic(root: Path, n_users: int = 24, seed: int = 0) -> Path:
    """Write images (empty files), ratings, traits and folds; return the folder.

    Each user rates every image of one fold (like OASIS-beauty); taste = shared direction + a personal one.
    """
    rng = np.random.default_rng(seed)
    img_dir = root / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    images = [f"img{i:02d}.jpg" for i in range(N_IMAGES)]
    for name in images:
        (img_dir / name).write_bytes(b"")
    folds = {name: f"f{i % N_FOLDS + 1}" for i, name in enumerate(images)}
    (root / "folds.csv").write_text("image,subset\n" + "".join(f"{k},{v}\n" for k, v in folds.items()))
    shared = rng.normal(size=DIM)
    rows, traits = [], []
    for u in range(1, n_users + 1):
        fold = f"f{(u - 1) % N_FOLDS + 1}"
        w = shared + 0.7 * rng.normal(size=DIM)
        gender = "female" if u % 2 else "male"
        age = 20 + (u * 7) % 40
        traits.append(f"{u},{gender},{age}\n")
        for name in images:
            if folds[name] != fold:
                continue
            s = float(np.clip(np.rint(4 + latent(name) @ w / 2 + rng.normal(scale=0.5)), 1, 7))
            rows.append(f"{u},{name},{int(s)}\n")
    (root / "ratings.csv").write_text("user,image,rating\n" + "".join(rows))
    (root / "users.csv").write_text("user,gender,age\n" + "".join(traits))
    norms = "".join(f"{name},{3 + latent(name)[0]:.3f}\n" for name in images)
    (root / "norms.csv").write_text("image,Valence_mean\n" + norms)
    return root


EXPERIMENT = """
name = "synthetic"
generic = "all"

[[tasks]]
name = "all"
ratings = "data/ratings.csv"
images = "data/images"
users = "data/users.csv"
scale = [1, 7]

[[tasks]]
name = "women"
ratings = "data/ratings.csv"
images = "data/images"
users = "data/users.csv"
where = "gender == 'female'"
scale = [1, 7]

[[tasks]]
name = "valence"
ratings = "data/norms.csv"
images = "data/images"
rating_column = "Valence_mean"
single_user = "norms"
scale = [1, 7]

[test]
ratings = "data/ratings.csv"
images = "data/images"
scale = [1, 7]
folds = "data/folds.csv"
fold_column = "subset"
shots = [3, 5]
trials = 3
seed = 7
min_ratings = 5
methods = {methods}
"""


def write_experiment(tmp_path: Path, methods=("crowd-oracle",), extra: str = "") -> Path:
    if not (tmp_path / "data").is_dir():  # rewriting would change the files' mtimes (checkpoint fingerprints)
        write_synthetic(tmp_path / "data")
    p = tmp_path / "exp.toml"
    p.write_text(EXPERIMENT.replace("{methods}", "[" + ", ".join(f'"{m}"' for m in methods) + "]") + extra)
    return p
