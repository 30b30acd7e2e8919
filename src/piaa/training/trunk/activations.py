"""Frozen lower blocks' activations, computed once per photo and view, stored as float16 ``.npy`` files.

Why: training the top of a trunk on a CPU is affordable only if the frozen part below the split runs once per
photo, not once per epoch. Each photo gets ``views`` activations: the plain squash to the input size and its
horizontal mirror (flip augmentation; the mirror of the input, not of the activation, so padding effects are
real). A file is keyed by the base backbone, its preprocessing fingerprint, the split, the views and the content
hashes of the photos, so a changed photo or network never returns stale activations; it is memory-mapped when
read, so 7,000 photos x 2 views x 112x14x14 (600 MB) never has to fit in memory twice.
"""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

ACTIVATION_VERSION = "1"
VIEWS = ("plain", "flip")


def activation_dir() -> Path:
    from piaa.paths import user_data_dir

    return user_data_dir() / "trunk-activations"


def activation_key(backbone: str, split: int, hashes: Sequence[str], views: int) -> str:
    from piaa.backbones import get_pretrained_cfg

    h = hashlib.sha256()
    h.update(f"{backbone}|{get_pretrained_cfg(backbone).fingerprint()}|{split}|{views}|v{ACTIVATION_VERSION}".encode())
    for x in hashes:
        h.update(x.encode())
    return h.hexdigest()[:20]


def image_hashes(paths: Sequence[Path]) -> List[str]:
    from piaa.io.hashing import image_file_hash

    return [image_file_hash(p) for p in paths]


def lower_activations(paths: Sequence[Path], backbone: str, split: int, *, views: int = 2, label: str = "",
                      cache_dir: Optional[Path] = None, hashes: Optional[Sequence[str]] = None,
                      batch_size: int = 32, log=None) -> np.ndarray:
    """``[n, views, C, H, W]`` float16 (memory-mapped) output of ``layers[:split]`` for every photo.

    Computed in torch (eager, all cores) on first use and saved; later calls only map the file.
    """
    hashes = list(hashes) if hashes is not None else image_hashes(paths)
    key = activation_key(backbone, split, hashes, views)
    out_dir = Path(cache_dir) if cache_dir else activation_dir()
    path = out_dir / f"{label or 'images'}-{backbone}-s{split}-{key}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    sub = _from_superset(out_dir, _header(backbone, split, views), hashes)
    if sub is not None:  # e.g. a GIAA fold's OASIS photos: rows of the whole database's file
        return sub
    log = log or sys.stderr
    import torch

    from piaa.backbones import create_backbone
    from piaa.backbones.preprocess import decode_size, preprocess
    from piaa.features.engines import set_torch_threads
    from piaa.io.images import load_image

    set_torch_threads()
    model = create_backbone(backbone)
    cfg = model.cfg
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    arr = None
    t0 = time.perf_counter()
    n = len(paths)
    for s in range(0, n, batch_size):
        xs = [preprocess(load_image(p, target_size=decode_size(cfg)), cfg) for p in paths[s:s + batch_size]]
        x = np.stack(xs)
        if views == 2:
            x = np.concatenate([x, np.ascontiguousarray(x[..., ::-1])])
        with torch.inference_mode():
            a = model.forward_range(torch.from_numpy(x), 0, split).numpy().astype(np.float16)
        b = len(xs)
        a = a.reshape(views, b, *a.shape[1:]).swapaxes(0, 1)
        if arr is None:
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(n, views, *a.shape[2:]))
        arr[s:s + b] = a
        done = s + b
        if done == n or (done // batch_size) % 10 == 0:
            el = time.perf_counter() - t0
            print(f"activations {label}: {done}/{n} photos, {el:.0f} s", file=log, flush=True)
    arr.flush()
    del arr
    tmp.replace(path)
    write_hash_index(path, hashes, _header(backbone, split, views))
    return np.load(path, mmap_mode="r")


def _header(backbone: str, split: int, views: int) -> str:
    from piaa.backbones import get_pretrained_cfg

    return f"# {backbone}|{get_pretrained_cfg(backbone).fingerprint()}|{split}|{views}|v{ACTIVATION_VERSION}"


def hash_index_path(path: Path) -> Path:
    return Path(path).with_suffix(".hashes.txt")


def write_hash_index(path: Path, hashes: Sequence[str], header: str) -> None:
    """The photo hash of every row of an activation file, beside it (lets subsets reuse its rows); the first
    line names the network, preprocessing, split and views that made the rows."""
    from piaa.state import atomic_write_bytes

    atomic_write_bytes(hash_index_path(path), (header + "\n" + "\n".join(hashes) + "\n").encode())


def _from_superset(out_dir: Path, header: str, hashes: Sequence[str]):
    """Rows of an existing activation file made the same way (``header``) that holds every photo."""
    if not out_dir.is_dir():
        return None
    for idx in sorted(out_dir.glob("*.hashes.txt")):
        lines = idx.read_text().splitlines()
        if not lines or lines[0] != header:
            continue
        rows = {h: i for i, h in enumerate(lines[1:])}
        if all(h in rows for h in hashes):
            arr = np.load(idx.with_name(idx.name[:-len(".hashes.txt")] + ".npy"), mmap_mode="r")
            if arr.shape[0] != len(rows):
                continue
            return np.ascontiguousarray(arr[np.array([rows[h] for h in hashes], dtype=int)])
    return None
