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
from typing import Any, Sequence

import numpy as np
from PIL import Image

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


def degrade(img: Image.Image, kind: str, level: float, seed: int = 0) -> Image.Image:
    """The RGB PIL image ``img`` degraded by ``kind`` at ``level`` (a new PIL image)."""
    from PIL import ImageFilter

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
        small = img.resize((max(1, round(w / level)), max(1, round(h / level))), Image.Resampling.BICUBIC)
        return small.resize((w, h), Image.Resampling.BICUBIC)
    # enlarge: the image as an upscaler would deliver it, ``level`` times its side
    return img.resize((round(w * level), round(h * level)), Image.Resampling.BICUBIC)


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


# --- the quality model with ranking evidence (v3) -------------------------------------------------------------

#: best-rated images degraded per database: train-part sources (training rows) and val-part sources (val pairs)
SOURCES = {"biq2021": 200, "agiqa3k": 100}
VAL_SOURCES = {"biq2021": 40, "agiqa3k": 20}
#: score lost per severity level by a degraded copy; None = no synthetic rows (the v2 recipe)
STEPS: tuple[float | None, ...] = (None, 0.05, 0.1, 0.2)


def default_work_dir() -> Path:
    """Where the degraded copies are written (user data, never the repository or the shared data)."""
    from piaa.paths import user_data_dir

    return user_data_dir() / "degraded"


def degraded_rows(dbs: list, ys: list, Xs: list, part: str, counts: dict, work_dir: Path,
                  backbones: Sequence[str], variant: str, native: dict,
                  engine: str = "auto", progress: bool = False) -> dict[str, np.ndarray]:
    """Features of the degraded copies of each database's best ``part`` images, with their sources' rows."""
    from piaa.training.quality_native import native_features

    out: dict[str, list] = {k: [] for k in ("X", "src_X", "src_y", "kind", "sev", "db")}
    for d, y, X in zip(dbs, ys, Xs):
        idx = pick_sources(y, d.part, part, counts.get(d.database, 0))
        if not len(idx):
            continue
        r = write_degraded([d.paths[i] for i in idx], Path(work_dir) / d.database, [d.names[i] for i in idx])
        copies = type("Copies", (), {"paths": r.paths, "database": f"{d.database} degraded"})()
        (Xd,), _ = native_features([copies], backbones, variant, native, engine, progress)
        for k, v in (("X", Xd), ("src_X", X[idx[r.source]]), ("src_y", y[idx[r.source]]), ("kind", r.kind),
                     ("sev", r.severity), ("db", np.full(len(r.kind), d.database, dtype=object))):
            out[k].append(v)
    return {k: np.concatenate(v) for k, v in out.items()}


def _with_synthetic(X: np.ndarray, y: np.ndarray, rows: dict,
                    step: float | None) -> tuple[np.ndarray, np.ndarray]:
    if step is None:
        return X, y
    return np.vstack([X, rows["X"]]), np.concatenate([y, synthetic_targets(rows["src_y"], rows["sev"], step)])


def select_ranked(Xs: list, ys: list, dbs: list, start: int, train_rows: dict, val_rows: dict,
                  seed: int = 0) -> dict:
    """Step, ridge strength and MLP weight by the mean val-part SROCC of both databases (heads fitted on the
    train parts plus, for a step, the degraded copies of train-part images); the val pairs' accuracy is
    reported beside it."""
    from piaa.metrics import srocc
    from piaa.training.quality_native import BLEND_WEIGHTS, RIDGE_ALPHAS, _rows, fit_blend

    from piaa.models.blend_head import BlendHead

    Xtr, ytr = _rows(Xs, ys, dbs, ["train"])
    table: dict[str, dict] = {}
    for step in STEPS:
        Xa, ya = _with_synthetic(Xtr, ytr, train_rows, step)
        mlp = None
        for a in RIDGE_ALPHAS:
            fitted = fit_blend(Xa, ya, start, a, 0.5, seed, mlp=mlp)  # one MLP per step, one ridge per strength
            mlp, ridge = fitted.heads
            for w in BLEND_WEIGHTS:
                head = BlendHead([mlp, ridge], fitted.columns, [w, 1.0 - w])
                s = [srocc(head.predict(X[d.part == "val"]), y[d.part == "val"]) for X, y, d in zip(Xs, ys, dbs)]
                acc = pair_accuracy(head.predict(val_rows["src_X"]), head.predict(val_rows["X"]))
                table[f"step={step or 0:g} alpha={a:g} weight={w:g}"] = {
                    "val_mean_srocc": round(float(np.mean(s)), 4), "val_srocc": [round(float(v), 4) for v in s],
                    "val_pair_accuracy": round(acc, 4)}
    best = max(table, key=lambda k: (table[k]["val_mean_srocc"], table[k]["val_pair_accuracy"]))
    step, alpha, weight = (float(kv.split("=")[1]) for kv in best.split())
    return {"step": step or None, "alpha": alpha, "weight": weight, "table": table}


def validate_ranked_quality(backbones: Sequence[str] = ("efficientnet_lite0",), variant: str = "multilevel",
                            data_dir: Path | None = None, work_dir: Path | None = None, engine: str = "auto",
                            progress: bool = False, seed: int = 0, prepared: Any = None) -> dict:
    """Choose on the val parts (:func:`select_ranked`), then fit on train+val (+ the degraded copies for a
    chosen step) and measure once on both databases' test parts and on the val pairs."""
    from piaa.training.quality_native import NATIVE, _rows, fit_blend, test_report

    dbs, ys, Xs, start, tr, va = prepared or prepare(backbones, variant, data_dir, work_dir, engine, progress)
    choice = select_ranked(Xs, ys, dbs, start, tr, va, seed)
    Xtv, ytv = _rows(Xs, ys, dbs, ["train", "val"])
    Xf, yf = _with_synthetic(Xtv, ytv, tr, choice["step"])
    head = fit_blend(Xf, yf, start, choice["alpha"], choice["weight"], seed)
    res = test_report(head, Xs, ys, dbs)
    return {"backbones": list(backbones), "variant": variant, "native": dict(NATIVE),
            "sources": {"train": SOURCES, "val": VAL_SOURCES}, "degradations": [list(d) for d in DEGRADATIONS],
            "n_synthetic_train": int(len(tr["X"])), "n_val_pairs": int(len(va["X"])), "selection": choice,
            "test": res, "head": head}


def prepare(backbones: Sequence[str] = ("efficientnet_lite0",), variant: str = "multilevel",
            data_dir: Path | None = None, work_dir: Path | None = None, engine: str = "auto",
            progress: bool = False) -> tuple:
    """(databases, targets, features, native start column, train-part degraded rows, val-part degraded rows)."""
    from piaa.training.quality_joint import DATABASES, _split_settings, check_unseen, load_joint
    from piaa.training.quality_native import NATIVE, native_features

    work_dir = Path(work_dir) if work_dir else default_work_dir()
    dbs, ys = load_joint(DATABASES, data_dir, _split_settings(backbones))
    check_unseen(backbones, dbs)
    Xs, start = native_features(dbs, backbones, variant, NATIVE, engine, progress)
    va = degraded_rows(dbs, ys, Xs, "val", VAL_SOURCES, work_dir, backbones, variant, NATIVE, engine, progress)
    tr = degraded_rows(dbs, ys, Xs, "train", SOURCES, work_dir, backbones, variant, NATIVE, engine, progress)
    return dbs, ys, Xs, start, tr, va


#: the model this builder writes
RANKED_QUALITY_MODEL = "piaa-quality-ranked-lite0"


def train_ranked_quality_model(output: Path, backbones: Sequence[str] = ("efficientnet_lite0",),
                               variant: str = "multilevel", seed: int = 0, name: str | None = None,
                               data_dir: Path | None = None, work_dir: Path | None = None, engine: str = "auto",
                               progress: bool = False) -> dict:
    """Validate (:func:`validate_ranked_quality`), fit the chosen recipe on every image of both databases (plus
    the degraded copies when a step was chosen) and write the model file."""
    from piaa.training.quality_joint import save_quality_model
    from piaa.training.quality_model import LICENCE_NOTE, MLP_OPTIONS, _stamp
    from piaa.training.quality_native import NATIVE, fit_blend

    name = name or RANKED_QUALITY_MODEL
    prepared = prepare(backbones, variant, data_dir, work_dir, engine, progress)
    val = validate_ranked_quality(backbones, variant, data_dir, work_dir, engine, progress, seed, prepared)
    val.pop("head")
    dbs, ys, Xs, start, tr, _ = prepared
    sel = val["selection"]
    X, y = _with_synthetic(np.concatenate(Xs), np.concatenate(ys), tr, sel["step"])
    head = fit_blend(X, y, start, sel["alpha"], sel["weight"], seed)
    backbone = "+".join(backbones)
    metrics = {"protocol": "BlendHead (MLP on whole-image + native evidence, ridge on the native evidence) with "
                           "degraded copies of the best train-part images as extra rows (source score minus a step "
                           "per severity level); step, ridge strength and blend weight chosen on the val parts; "
                           "trained on the train+val parts of BIQ2021 and AGIQA-3K train.csv, measured on their "
                           "seeded test parts",
               "test": val["test"], "srocc": val["test"]["biq2021"]["srocc"],
               "srocc_agiqa3k": val["test"]["agiqa3k"]["srocc"],
               "selection": {k: sel[k] for k in ("step", "alpha", "weight")}, **_stamp()}
    extra = {"criterion": "quality", "head": "blend", "native": dict(NATIVE),
             "head_options": {"mlp": {**MLP_OPTIONS, "seed": seed}, "ridge_alpha": sel["alpha"],
                              "mlp_weight": sel["weight"], "ridge_columns_from": start},
             "synthetic": {"step": sel["step"], "sources": SOURCES, "degradations": [list(d) for d in DEGRADATIONS],
                           "n_rows": int(len(tr["X"])) if sel["step"] else 0},
             "n_train_images": int(len(X)), "scale": "0-1 (BIQ2021 MOS; AGIQA-3K MOS / 5)",
             "licence_note": LICENCE_NOTE + " AGIQA-3K: MIT.",
             "limitations": "Learned from 256 px copies of BIQ2021 photos and AGIQA-3K generated images and from "
                            "blurred, noisy, recompressed and upscaled copies of the best of them. Sees the whole "
                            "image squashed to 224 px plus five 224-px crops at the image's own scale (long side "
                            "capped at 1,600 px) and BRISQUE statistics. Technical/perceptual quality, not beauty."}
    desc = (f"perceptual quality 0-1 of photographs and AI-generated images (higher = better) from {backbone} "
            f"{variant} features of the whole image and of five native-resolution crops plus BRISQUE statistics; "
            "trained on BIQ2021 + AGIQA-3K MOS and ranked synthetic degradations")
    return save_quality_model(Path(output), head, X, name, backbone, variant, desc, metrics, extra, val)
