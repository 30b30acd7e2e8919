"""How well `piaa cull` groups bursts, and where its two similarity thresholds come from (prints JSON).

    .venv/bin/python bench/cull_grouping.py [--images ../shared/data/oasis/images] [--bases 150] [--seed 0]

Synthetic shoots from OASIS photos: every base photo becomes a burst of 3 frames (the original plus two
re-framed copies: rotated up to 3 degrees, a random 65-95 % crop, exposure x0.75-1.3, half of them
defocused by a 0.5-2 px blur, re-encoded as
JPEG), frames 0.3 s apart; consecutive bursts 1-30 s apart (so some
different photos fall inside the 3 s burst window, as at a busy event). Base photos are taken in name order, so OASIS'
numbered series ("Acorns 1", "Acorns 2", ...: different photos of the same subject) follow each other — the
hard negatives a culling tool must not merge.

Settings are chosen on bases from OASIS subsets 1-2 ("choose") and reported on subsets 3-4 ("check"):
``burst_similarity`` maximizing pairwise F1 with capture times, then ``duplicate_similarity`` maximizing F1
when no capture time is known. Metrics: pairwise precision / recall / F1 of "same group", and the share of
bursts recovered exactly.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from piaa.paths import shared_data_dir
from piaa.profiles.cull import CullSettings, group_indices


def make_shoot(bases, out_dir: Path, rng):
    paths, truth, times = [], [], []
    t = datetime(2026, 6, 1, 10, 0, 0)
    for b, src in enumerate(bases):
        im = Image.open(src).convert("RGB")
        w, h = im.size
        frames = [im]
        for _ in range(2):
            s = np.sqrt(rng.uniform(0.65, 0.95))
            f = im.rotate(float(rng.uniform(-3, 3)), resample=Image.BILINEAR, expand=False)
            cw, ch = int(w * s), int(h * s)
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            f = f.crop((x, y, x + cw, y + ch)).resize((w, h), Image.BILINEAR)
            f = ImageEnhance.Brightness(f).enhance(float(rng.uniform(0.75, 1.3)))
            if rng.random() < 0.5:
                f = f.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
            frames.append(f)
        for k, f in enumerate(frames):
            p = out_dir / f"b{b:04d}_{k}.jpg"
            f.save(p, quality=85)
            paths.append(str(p))
            truth.append(b)
            times.append(t + timedelta(seconds=0.3 * k))
        t += timedelta(seconds=float(rng.uniform(1, 30)))
    return paths, np.array(truth), times


def pair_scores(groups, truth):
    n = len(truth)
    pred = np.empty(n, int)
    for gi, g in enumerate(groups):
        pred[g] = gi
    same_t = truth[:, None] == truth[None, :]
    same_p = pred[:, None] == pred[None, :]
    iu = np.triu_indices(n, 1)
    tp = int((same_t & same_p)[iu].sum())
    fp = int((~same_t & same_p)[iu].sum())
    fn = int((same_t & ~same_p)[iu].sum())
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    true_sets = {frozenset(np.flatnonzero(truth == b)) for b in np.unique(truth)}
    exact = sum(frozenset(g) in true_sets for g in groups) / len(true_sets)
    return {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4), "bursts_exact": round(exact, 4)}


def features_of(paths):
    from piaa import load_scorer
    from piaa.features import FeatureExtractor

    sc = load_scorer()
    return FeatureExtractor(sc.backbone, sc.variant).extract(paths).features


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=None)
    ap.add_argument("--bases", type=int, default=150, help="base photos per split")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    root = Path(args.images) if args.images else shared_data_dir() / "oasis" / "images"
    subsets = {}
    with open(root.parent / "subsets.csv", newline="") as f:
        for r in csv.DictReader(f):
            subsets[r["image"]] = r["subset"]
    rng = np.random.default_rng(args.seed)
    split = {"choose": ("subset1", "subset2"), "check": ("subset3", "subset4")}
    data = {}
    with tempfile.TemporaryDirectory(prefix="piaa-cull-bench-") as tmp:
        for name, subs in split.items():
            names = sorted(n for n, s in subsets.items() if s in subs)
            pick = sorted(rng.choice(len(names), size=min(args.bases, len(names)), replace=False))
            d = Path(tmp) / name
            d.mkdir()
            paths, truth, times = make_shoot([root / names[i] for i in pick], d, rng)
            print(f"{name}: {len(paths)} frames, extracting features ...", file=sys.stderr)
            data[name] = (features_of(paths), truth, times)

    def run(name, dup, burst, with_times=True, sqrt=True):
        X, truth, times = data[name]
        if not sqrt:  # the plain cosine, for comparison: square the features so embed()'s root undoes it
            X = np.square(np.clip(X, 0, None))
        s = CullSettings(duplicate_similarity=dup, burst_similarity=burst)
        return pair_scores(group_indices(X, times if with_times else [None] * len(times), s), truth)

    grid = [round(v, 2) for v in np.arange(0.60, 0.995, 0.01)]

    def middle_of_best(f1s):
        """The middle of the thresholds within 0.002 of the best F1: far from both edges of the plateau."""
        top = max(f1s.values())
        good = [t for t, v in f1s.items() if v >= top - 0.002]
        return good[len(good) // 2]

    # 1. burst threshold with capture times (duplicate threshold out of the way)
    burst_f1 = {b: run("choose", 1.0, b)["f1"] for b in grid}
    best_burst = middle_of_best(burst_f1)
    # 2. duplicate threshold without times
    dup_f1 = {d: run("choose", d, 1.0, with_times=False)["f1"] for d in grid}
    best_dup = middle_of_best(dup_f1)
    final = (max(best_dup, best_burst), best_burst)

    def sims(name):
        from piaa.profiles.cull import embed

        X, truth, _ = data[name]
        E = embed(X)
        S = E @ E.T
        iu = np.triu_indices(len(truth), 1)
        same = (truth[:, None] == truth[None, :])[iu]
        v = S[iu]
        return {"same_burst_min": round(float(v[same].min()), 4),
                "same_burst_p05": round(float(np.quantile(v[same], 0.05)), 4),
                "different_max": round(float(v[~same].max()), 4),
                "different_p999": round(float(np.quantile(v[~same], 0.999)), 4)}
    out = {
        "chosen_on": "OASIS subsets 1-2", "bases_per_split": args.bases, "seed": args.seed,
        "burst_similarity": best_burst, "duplicate_similarity": final[0], "burst_seconds": CullSettings().burst_seconds,
        "choose": {"with_times": run("choose", *final), "without_times": run("choose", *final, with_times=False)},
        "check": {"with_times": run("check", *final), "without_times": run("check", *final, with_times=False),
                  "plain_cosine_with_times": run("check", *final, sqrt=False)},
        "similarities": {"choose": sims("choose"), "check": sims("check")},
        "burst_f1_choose": {b: burst_f1[b] for b in grid[::4]},
        "duplicate_f1_choose_without_times": {d: dup_f1[d] for d in grid[::4]},
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
