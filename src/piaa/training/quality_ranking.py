"""RankIQA-style evidence for the quality model: synthetic degradations of the best training images.

Why: the v2 quality model misses what AVT-AI's blurry or upscaled generators (craiyon, glide) look like at 100 %:
its training images are 256-px copies, clean at the network's scale. Here the best-rated *train-part* images of
BIQ2021 and AGIQA-3K are degraded (Gaussian blur, motion blur, noise, JPEG, down-then-up scaling, and enlargement
to 2x / 4x their side, which is what an upscaled generator output is) at several levels; every degraded copy must
rate lower than its source. They join the training set as extra rows whose target is the source's score minus a
step per level (:func:`synthetic_targets`); the step and whether to use them are chosen on the val parts.

Degradation happens at the resolution the training copies have (256 px); ``enlarge`` writes larger files
(512 / 1,024 px). Everything is seeded: the same sources give byte-identical files.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from piaa.errors import InputError

#: (kind, level) per degraded copy; levels of one kind are listed mildest first (their severity is 1, 2, 3)
DEGRADATIONS: tuple[tuple[str, float], ...] = (
    ("gauss_blur", 1.0), ("gauss_blur", 2.0), ("gauss_blur", 3.5),
    ("motion_blur", 7), ("motion_blur", 15),
    ("noise", 8.0), ("noise", 20.0),
    ("jpeg", 20), ("jpeg", 8),
    ("down_up", 2.0), ("down_up", 4.0),
    ("enlarge", 2.0), ("enlarge", 4.0),
)
KINDS = ("gauss_blur", "motion_blur", "noise", "jpeg", "down_up", "enlarge")
#: JPEG quality the degraded copies are stored at (the shared copies are JPEG q85-q90)
STORE_QUALITY = 90


def severity(kind: str, level: float) -> int:
    """1 for the mildest listed level of ``kind``, 2 for the next, ..."""
    levels = [lv for k, lv in DEGRADATIONS if k == kind]
    if level not in levels:
        raise InputError(f"unknown degradation {kind} {level:g}; known: "
                         f"{', '.join(f'{k} {lv:g}' for k, lv in DEGRADATIONS)}")
    return levels.index(level) + 1


def _seed(name: str, kind: str, level: float) -> int:
    return zlib.crc32(f"{name}|{kind}|{level:g}".encode("utf-8"))


def motion_kernel(length: int, angle_deg: float) -> np.ndarray:
    """A normalized line kernel of ``length`` px at ``angle_deg`` (camera shake along one direction)."""
    n = int(length) | 1
    k = np.zeros((n, n), dtype=np.float64)
    c = n // 2
    t = np.deg2rad(angle_deg)
    for s in np.linspace(-c, c, 4 * n):
        k[int(round(c + s * np.sin(t))), int(round(c + s * np.cos(t)))] = 1.0
    return k / k.sum()


def degrade(img, kind: str, level: float, seed: int = 0):
    """The RGB PIL image ``img`` degraded by ``kind`` at ``level`` (a new PIL image)."""
    from PIL import Image, ImageFilter

    severity(kind, level)  # validates
    img = img.convert("RGB")
    w, h = img.size
    if kind == "gauss_blur":
        return img.filter(ImageFilter.GaussianBlur(radius=float(level)))
    if kind == "motion_blur":
        from scipy.ndimage import convolve

        angle = float(np.random.default_rng(seed).choice([0.0, 45.0, 90.0, 135.0]))
        k = motion_kernel(int(level), angle)
        a = np.asarray(img, dtype=np.float64)
        out = np.stack([convolve(a[..., i], k, mode="reflect") for i in range(3)], axis=-1)
        return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))
    if kind == "noise":
        a = np.asarray(img, dtype=np.float64)
        a = a + np.random.default_rng(seed).normal(0.0, float(level), a.shape)
        return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if kind == "jpeg":
        import io

        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(level))
        buf.seek(0)
        return Image.open(buf).convert("RGB")
    if kind == "down_up":
        small = img.resize((max(1, round(w / level)), max(1, round(h / level))), Image.BICUBIC)
        return small.resize((w, h), Image.BICUBIC)
    # enlarge: the image as an upscaler would deliver it, ``level`` times its side
    return img.resize((round(w * level), round(h * level)), Image.BICUBIC)


@dataclass
class Degraded:
    """The degraded copies written for a set of sources: one row per copy."""

    paths: list[Path]
    source: np.ndarray      # index into the sources
    kind: np.ndarray
    severity: np.ndarray


def write_degraded(sources: Sequence[Path], out_dir: Path, names: Sequence[str] | None = None,
                   degradations: Sequence[tuple[str, float]] = DEGRADATIONS) -> Degraded:
    """Write every degradation of every source under ``out_dir`` (skipping files already there)."""
    from piaa.io.images import load_image

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(names) if names is not None else [Path(s).stem for s in sources]
    paths, src, kinds, sev = [], [], [], []
    for i, (s, name) in enumerate(zip(sources, names)):
        img = None
        for kind, level in degradations:
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
            p = out_dir / f"{safe}__{kind}{level:g}.{'png' if kind == 'jpeg' else 'jpg'}"
            if not p.is_file():
                if img is None:
                    img = load_image(Path(s)).convert("RGB")
                d = degrade(img, kind, level, seed=_seed(name, kind, level))
                tmp = p.with_suffix(".part" + p.suffix)
                if kind == "jpeg":  # the artefacts are the degradation: stored losslessly
                    d.save(tmp, format="PNG")
                else:
                    d.save(tmp, format="JPEG", quality=STORE_QUALITY)
                tmp.replace(p)
            paths.append(p)
            src.append(i)
            kinds.append(kind)
            sev.append(severity(kind, level))
    return Degraded(paths, np.array(src, dtype=int), np.array(kinds, dtype=object), np.array(sev, dtype=int))


def pick_sources(y: np.ndarray, part: np.ndarray, which: str, n: int) -> np.ndarray:
    """Indices of the ``n`` best-rated images of part ``which`` (ties by index: deterministic)."""
    idx = np.flatnonzero(np.asarray(part) == which)
    order = np.lexsort((idx, -np.asarray(y, dtype=np.float64)[idx]))
    return idx[order[:n]]


def synthetic_targets(y_source: np.ndarray, sev: np.ndarray, step: float) -> np.ndarray:
    """The target of a degraded copy: its source's score less ``step`` per severity level, floored at 0."""
    return np.maximum(np.asarray(y_source, dtype=np.float64) - step * np.asarray(sev, dtype=np.float64), 0.0)


def pair_accuracy(pred_source: np.ndarray, pred_degraded: np.ndarray) -> float:
    """Share of (source, degraded copy) pairs the model orders right (degraded strictly lower)."""
    pred_source, pred_degraded = np.asarray(pred_source, float), np.asarray(pred_degraded, float)
    if len(pred_source) == 0:
        raise InputError("pair_accuracy needs at least one pair")
    return float(np.mean(pred_degraded < pred_source))
